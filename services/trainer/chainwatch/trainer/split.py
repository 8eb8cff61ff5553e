"""The time-ordered split: fit on the past, set the threshold on what follows, judge on the latest.

Rows must already be in time order (block time, then position in the block). Three
consecutive windows, never shuffled::

    [ train ............ | validation ... | held-out ................ ]
      fit the model        choose threshold  evaluation and promotion gate

The held-out window is the last ``held_out_fraction`` of the rows, *extended back in time*
until it holds ``min_held_out_positives`` positives, as long as the earlier windows keep
at least ``min_train_positives``: with rare positives a fixed fraction can leave nothing to
judge on. The validation window is the last ``validation_fraction`` of the rows before
it, extended back in the same way to hold ``min_validation_positives``, or *shortened*
when it would take more than ``validation_fraction`` of those rows' positives (rare
positives come in bursts, and a burst must not leave the train window empty). The split
records where the boundaries fell and why they moved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class SplitParams:
    held_out_fraction: float = 0.2
    validation_fraction: float = 0.2
    """Of the rows before the held-out window."""
    min_held_out_positives: int = 5
    min_validation_positives: int = 1
    min_train_positives: int = 3


DEFAULT_SPLIT = SplitParams()


@dataclass(frozen=True)
class TimeSplit:
    """Row ranges ``[0, validation_start)``, ``[validation_start, held_out_start)``, the rest."""

    n_rows: int
    validation_start: int
    held_out_start: int
    notes: tuple[str, ...]

    @property
    def train(self) -> slice:
        return slice(0, self.validation_start)

    @property
    def validation(self) -> slice:
        return slice(self.validation_start, self.held_out_start)

    @property
    def held_out(self) -> slice:
        return slice(self.held_out_start, self.n_rows)


def time_split(labels: npt.NDArray[np.int64], params: SplitParams = DEFAULT_SPLIT) -> TimeSplit:
    """Split time-ordered rows with ``labels`` (1 positive) into the three windows."""
    n = len(labels)
    notes: list[str] = []
    held_out_start = _cut(
        labels,
        end=n,
        fraction=params.held_out_fraction,
        min_positives=params.min_held_out_positives,
        max_positives=None,
        keep_before=params.min_train_positives,
        window="held-out",
        notes=notes,
    )
    before = int(labels[:held_out_start].sum())
    validation_start = _cut(
        labels,
        end=held_out_start,
        fraction=params.validation_fraction,
        min_positives=params.min_validation_positives,
        max_positives=max(
            params.min_validation_positives, math.ceil(params.validation_fraction * before)
        ),
        keep_before=params.min_train_positives,
        window="validation",
        notes=notes,
    )
    return TimeSplit(n, validation_start, held_out_start, tuple(notes))


def _cut(
    labels: npt.NDArray[np.int64],
    *,
    end: int,
    fraction: float,
    min_positives: int,
    max_positives: int | None,
    keep_before: int,
    window: str,
    notes: list[str],
) -> int:
    """Start of a window ending at ``end``: ``fraction`` of the rows, moved for positives.

    Moved back when the window would hold fewer than ``min_positives`` (if ``keep_before``
    positives stay before it), forward when it would hold more than ``max_positives``.
    """
    start = end - math.ceil(fraction * end)
    positive_rows = np.flatnonzero(labels[:end])
    inside = int(np.sum(positive_rows >= start))

    if max_positives is not None and inside > max_positives:
        moved = int(positive_rows[-max_positives])
        notes.append(
            f"{window} window starts at row {moved} instead of {start}: "
            f"{max_positives} of its {inside} positives, the rest left to train on"
        )
        return moved
    if inside >= min_positives:
        return start
    if len(positive_rows) >= min_positives + keep_before:
        moved = int(positive_rows[-min_positives])
        notes.append(
            f"{window} window starts at row {moved} instead of {start} "
            f"to hold {min_positives} positives"
        )
        return moved
    notes.append(
        f"{window} window holds {inside} positives (wanted {min_positives}); "
        f"only {len(positive_rows)} positives before row {end}"
    )
    return start
