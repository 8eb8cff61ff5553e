"""The recorded series as a supervised problem: features, targets, and a split in time.

Row ``i`` is observation ``i`` (taken just after block ``h``); its target for ``k`` blocks is
``log(Y_k)``, the lowest median fee rate among blocks ``h+1 … h+k``. Missing blocks are
tolerated for long targets: ``Y_k`` needs block ``h+1`` and at least 80 % of the ``k``
blocks, else the target is NaN and the row is left out of that target's training.

The split is by time, never shuffled: the first 60 % of rows train, the next 15 % validate
(early stopping), the last 25 % are the held-out test on which every method is judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chainwatch.fees.features import feature_matrix
from chainwatch.fees.state import Observation

MIN_COVERAGE = 0.8
TRAIN_SHARE = 0.60
VALID_SHARE = 0.15

FloatArray = npt.NDArray[np.float64]


def targets(observations: Sequence[Observation], blocks: Sequence[int]) -> dict[int, FloatArray]:
    """``log(Y_k)`` per observation for each ``k`` in ``blocks`` (NaN where unknown)."""
    median_at = {
        o.block.height: o.block.median_fee_rate_sat_vb
        for o in observations
        if o.block.median_fee_rate_sat_vb is not None
    }
    out = {}
    for k in blocks:
        values = np.full(len(observations), np.nan)
        for i, o in enumerate(observations):
            h = o.block.height
            if h + 1 not in median_at:
                continue
            found = [median_at[j] for j in range(h + 1, h + k + 1) if j in median_at]
            if len(found) >= math.ceil(MIN_COVERAGE * k):
                values[i] = math.log(min(found))
        out[k] = values
    return out


@dataclass(frozen=True)
class Split:
    """Row ranges of the time split: train, validation, test (``[test_start, n)``)."""

    valid_start: int
    test_start: int
    n: int

    @classmethod
    def of(cls, n: int) -> Split:
        return cls(int(n * TRAIN_SHARE), int(n * (TRAIN_SHARE + VALID_SHARE)), n)

    @property
    def train(self) -> slice:
        return slice(0, self.valid_start)

    @property
    def valid(self) -> slice:
        return slice(self.valid_start, self.test_start)

    @property
    def test(self) -> slice:
        return slice(self.test_start, self.n)


@dataclass(frozen=True)
class Dataset:
    """Features and targets of every observation, and the split."""

    observations: Sequence[Observation]
    features: FloatArray
    targets: dict[int, FloatArray]
    split: Split

    @classmethod
    def build(cls, observations: Sequence[Observation], blocks: Sequence[int]) -> Dataset:
        return cls(
            observations,
            feature_matrix(observations),
            targets(observations, blocks),
            Split.of(len(observations)),
        )

    def part(self, rows: slice) -> tuple[FloatArray, dict[int, FloatArray]]:
        return self.features[rows], {k: y[rows] for k, y in self.targets.items()}
