"""Drift in a stream's mean, by ADWIN: the anomaly rate, and each tier's error on verdicts.

ADWIN (Bifet & Gavaldà 2007, "Learning from Time-Changing Data with Adaptive Windowing";
River's ``drift.ADWIN``) keeps a window of recent values and drops its older part whenever
the means of an older and a newer sub-window differ by more than chance allows at
confidence ``delta``. It needs no reference: the stream's own past is the reference, and
the window adapts to how long the stream has been stable.

``RisingMean`` reports only a rise of at least ``min_increase``: more unusual traffic or a
larger error is what needs attention, while a falling anomaly rate is mostly the anomaly
detector getting used to the traffic (its reference mass moves every 250 transactions).

- Anomaly rate: 1 when a decision's anomaly score is at least ``anomaly_threshold``, else
  0; decisions without a score (the detector still warming up) are skipped.
- Tier error: ``|label - score|`` of a tier on a decision an analyst judged, in [0, 1]: 0
  when the tier was certain and right, 1 when certain and wrong.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from river import drift

from chainwatch.shared.drift import DriftWindow

_ADWIN: Callable[..., Any] = drift.ADWIN  # River ships no type information

MIN_NEWER = 30
"""Values the newer sub-window must hold before its mean is trusted against the baseline."""
MAX_POINTS = 200_000
"""Positions remembered for the evidence; an older sub-window longer than this is cut short."""


@dataclass(frozen=True)
class Rise:
    """ADWIN cut its window: the older part's mean, the newer part's, and both spans."""

    before: float
    after: float
    older: DriftWindow
    newer: DriftWindow

    @property
    def increase(self) -> float:
        return self.after - self.before


class RisingMean:
    """ADWIN over values in [0, 1], remembering where each value came from.

    When ADWIN detects a change, the mean of the older part it drops is the level before the
    change (``baseline``). River then empties the window and ADWIN starts over on the new
    values; their mean is compared with the baseline after every value: the rise is
    reported once it reaches ``min_increase`` with at least ``MIN_NEWER`` new values, at
    most once per detected change.
    """

    def __init__(self, delta: float, min_increase: float) -> None:
        self.delta = delta
        self.min_increase = min_increase
        self._adwin = _ADWIN(delta=delta)
        self._points: deque[tuple[int, datetime]] = deque(maxlen=MAX_POINTS)
        self._baseline: tuple[float, DriftWindow] | None = None
        self.last_change: Rise | None = None

    @property
    def mean(self) -> float:
        """The mean of the values ADWIN holds now."""
        return float(self._adwin.estimation)

    @property
    def width(self) -> int:
        return int(self._adwin.width)

    def reset(self) -> None:
        self._adwin = _ADWIN(delta=self.delta)
        self._points.clear()
        self._baseline = None
        self.last_change = None

    def update(self, value: float, seq: int, at: datetime) -> Rise | None:
        """Add one value; return a rise of at least ``min_increase`` since the last cut.

        Every change ADWIN detects, rise or fall, is kept in ``last_change``.
        """
        if self._adwin.drift_detected:
            # River empties ADWIN's window on the update after a detection: start afresh.
            self._points.clear()
            width_before, mean_before = 0, 0.0
        else:
            width_before, mean_before = self.width, self.mean
        self._adwin.update(value)
        self._points.append((seq, at))
        if self._adwin.drift_detected:
            self._cut(width_before, mean_before, value)
        if self._baseline is None or self.width < MIN_NEWER:
            return None

        before, older = self._baseline
        if self.mean - before < self.min_increase:
            return None
        self._baseline = None
        return Rise(before, self.mean, older, _window(list(self._points)))

    def _cut(self, width_before: int, mean_before: float, value: float) -> None:
        """ADWIN dropped its older values: remember their mean and span as the baseline."""
        kept = self.width
        dropped = width_before + 1 - kept
        older = [self._points.popleft() for _ in range(min(dropped, len(self._points) - kept))]
        if dropped <= 0 or not older or kept == 0:
            return
        before = (mean_before * width_before + value - self.mean * kept) / dropped
        self._baseline = (before, _window(older))
        self.last_change = Rise(before, self.mean, _window(older), _window(list(self._points)))


def _window(points: list[tuple[int, datetime]]) -> DriftWindow:
    return DriftWindow(
        first_seq=points[0][0],
        last_seq=points[-1][0],
        first_at=points[0][1],
        last_at=points[-1][1],
        size=len(points),
    )
