"""A Bitcoin Core style fee estimator (``estimatesmartfee``), from its published description.

Core learns only from what it saw confirm, never from the mempool's current state:

- **Buckets.** Fee rates from 1 sat/vB to 10,000 sat/vB in steps of ×1.05 (about 190), plus
  one for anything higher. A transaction belongs to the first bucket whose upper edge is at
  least its fee rate.
- **Three horizons**, each counting in periods of a few blocks and forgetting with a decay
  per block: short (12 periods of 1 block, decay 0.962, half-life ~18 blocks), medium (24 of
  2, 0.9952, ~144 blocks), long (42 of 24, 0.99931, ~1,008 blocks). Per bucket a horizon keeps
  the decayed count of transactions seen to confirm, of those confirmed within ``p`` periods
  for each ``p``, of those that left unconfirmed after ``p`` periods (failures), and the sum
  of their fee rates.
- **A target's estimate** scans buckets from the highest fee rate down, joining buckets
  until a range holds enough data (0.5 transactions per block on the short horizon, 0.1 on
  the others, divided by one minus the decay); a range passes when confirmed-within-target
  over (all + failed + still waiting longer than the target) reaches the success threshold.
  The answer is the mean fee rate of the bucket holding the median transaction of the
  lowest passing range.
- **estimatesmartfee(target)** (target 1 is treated as 2) is the largest of: half the
  target at 60 %, the target at 85 %, twice the target at 95 % (each also tried on shorter
  horizons, where those answer lower); in conservative mode also twice the target at 95 %
  on the longer horizons. It is never below the mempool's minimum fee.

The unconfirmed counts ("still waiting") are given by the caller, who tracks the mempool.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_BUCKET_SAT_VB = 1.0
MAX_BUCKET_SAT_VB = 10_000.0
BUCKET_SPACING = 1.05
HALF_SUCCESS = 0.60
SUCCESS = 0.85
DOUBLE_SUCCESS = 0.95
SUFFICIENT_TXS = 0.1
SUFFICIENT_TXS_SHORT = 0.5


def bucket_edges_sat_vb() -> FloatArray:
    """Upper edge of each bucket, the last one infinite."""
    edges = []
    rate = MIN_BUCKET_SAT_VB
    while rate <= MAX_BUCKET_SAT_VB:
        edges.append(rate)
        rate *= BUCKET_SPACING
    edges.append(math.inf)
    return np.asarray(edges)


@dataclass(frozen=True)
class Horizon:
    name: str
    periods: int
    blocks_per_period: int
    decay: float
    sufficient_txs: float

    @property
    def max_confirms(self) -> int:
        return self.periods * self.blocks_per_period


SHORT = Horizon("short", 12, 1, 0.962, SUFFICIENT_TXS_SHORT)
MEDIUM = Horizon("medium", 24, 2, 0.9952, SUFFICIENT_TXS)
LONG = Horizon("long", 42, 24, 0.99931, SUFFICIENT_TXS)

WaitingAtLeast = Callable[[int], FloatArray]
"""Unconfirmed transactions per bucket that have waited at least ``n`` blocks."""


class HorizonStats:
    """The decayed confirmation statistics of one horizon, per bucket."""

    def __init__(self, horizon: Horizon, n_buckets: int) -> None:
        self.horizon = horizon
        self.confirmed_within = np.zeros((horizon.periods, n_buckets))
        self.failed_after = np.zeros((horizon.periods, n_buckets))
        self.tx_count = np.zeros(n_buckets)
        self.fee_rate_sum = np.zeros(n_buckets)

    def decay(self) -> None:
        d = self.horizon.decay
        self.confirmed_within *= d
        self.failed_after *= d
        self.tx_count *= d
        self.fee_rate_sum *= d

    def record_confirmed(
        self, blocks_to_confirm: npt.NDArray[np.int64], counts: FloatArray, rates: FloatArray
    ) -> None:
        """Add confirmations: ``counts[age, bucket]`` confirmed after ``blocks_to_confirm[age]``."""
        periods = -(-blocks_to_confirm // self.horizon.blocks_per_period)
        by_period = np.zeros((self.horizon.periods + 1, counts.shape[1]))
        # Row p: took p + 1 periods; the last row takes those slower than the horizon sees.
        np.add.at(by_period, np.minimum(periods - 1, self.horizon.periods), counts)
        # Confirmed within p periods counts every confirmation that took p periods or fewer.
        self.confirmed_within += np.cumsum(by_period[: self.horizon.periods], axis=0)
        per_bucket = counts.sum(axis=0)
        self.tx_count += per_bucket
        self.fee_rate_sum += per_bucket * rates

    def record_failed(self, blocks_waited: npt.NDArray[np.int64], counts: FloatArray) -> None:
        """Add transactions that left unconfirmed after ``blocks_waited[age]`` blocks."""
        periods = blocks_waited // self.horizon.blocks_per_period
        for p in range(self.horizon.periods):
            waited = periods > p
            if not waited.any():
                break
            self.failed_after[p] += counts[waited].sum(axis=0)

    def estimate(self, target: int, success: float, waiting: WaitingAtLeast) -> float:
        """The median fee rate of the lowest passing bucket range, or -1 when none passes."""
        period = -(-target // self.horizon.blocks_per_period)
        confirmed = self.confirmed_within[period - 1]
        failed = self.failed_after[period - 1]
        extra = waiting(target)
        needed = self.horizon.sufficient_txs / (1 - self.horizon.decay)
        n_conf = total = n_fail = n_extra = 0.0
        near = far = best_near = best_far = -1
        found = False
        for bucket in range(len(confirmed) - 1, -1, -1):
            if near < 0:
                near = bucket
            far = bucket
            n_conf += confirmed[bucket]
            total += self.tx_count[bucket]
            n_fail += failed[bucket]
            n_extra += extra[bucket]
            if total < needed:
                continue
            if n_conf / (total + n_fail + n_extra) < success:
                continue  # keep widening the range until it passes, or the buckets run out
            found = True
            best_near, best_far = near, far
            n_conf = total = n_fail = n_extra = 0.0
            near = -1
        if not found:
            return -1.0
        return self._median_rate(min(best_near, best_far), max(best_near, best_far))

    def _median_rate(self, low: int, high: int) -> float:
        counts = self.tx_count[low : high + 1]
        half = counts.sum() / 2
        if half <= 0:
            return -1.0
        j = int(np.searchsorted(np.cumsum(counts), half))
        bucket = low + min(j, len(counts) - 1)
        return float(self.fee_rate_sum[bucket] / self.tx_count[bucket])


class CoreEstimator:
    """The three horizons, fed block by block; ``estimate_smart_fee`` answers in sat/vB."""

    def __init__(self) -> None:
        self.edges = bucket_edges_sat_vb()
        n = len(self.edges)
        self.short = HorizonStats(SHORT, n)
        self.medium = HorizonStats(MEDIUM, n)
        self.long = HorizonStats(LONG, n)
        self.blocks_seen = 0

    @property
    def horizons(self) -> tuple[HorizonStats, HorizonStats, HorizonStats]:
        return self.short, self.medium, self.long

    def bucket_of(self, rates_sat_vb: FloatArray) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.edges, rates_sat_vb, side="left").astype(np.int64)

    def new_block(self) -> None:
        """A block arrived: every statistic decays once, before its confirmations count."""
        self.blocks_seen += 1
        for stats in self.horizons:
            stats.decay()

    def record_confirmed(
        self, blocks_to_confirm: npt.NDArray[np.int64], counts: FloatArray, rates: FloatArray
    ) -> None:
        for stats in self.horizons:
            stats.record_confirmed(blocks_to_confirm, counts, rates)

    def record_failed(self, blocks_waited: npt.NDArray[np.int64], counts: FloatArray) -> None:
        for stats in self.horizons:
            stats.record_failed(blocks_waited, counts)

    def max_usable_target(self) -> int:
        return min(LONG.max_confirms, self.blocks_seen // 2)

    def estimate_smart_fee(
        self,
        target: int,
        waiting: WaitingAtLeast,
        mempool_min_fee_sat_vb: float,
        *,
        conservative: bool,
    ) -> float | None:
        """The fee rate for ``target`` blocks, sat/vB; None while there is too little data."""
        target = min(max(target, 2), self.max_usable_target())
        if target < 2:
            return None
        double = min(2 * target, self.max_usable_target())
        estimates = [
            self._combined(target // 2, HALF_SUCCESS, waiting, shorter=True),
            self._combined(target, SUCCESS, waiting, shorter=True),
            self._combined(double, DOUBLE_SUCCESS, waiting, shorter=not conservative),
        ]
        best = max(estimates)
        if conservative or best < 0:
            best = max(best, self._conservative(double, waiting))
        if best < 0:
            return None
        return max(best, mempool_min_fee_sat_vb)

    def _combined(
        self, target: int, success: float, waiting: WaitingAtLeast, shorter: bool
    ) -> float:
        if target < 1:
            return -1.0
        if target <= SHORT.max_confirms:
            estimate = self.short.estimate(target, success, waiting)
        elif target <= MEDIUM.max_confirms:
            estimate = self.medium.estimate(target, success, waiting)
        else:
            estimate = self.long.estimate(target, success, waiting)
        if shorter:
            for stats in (self.medium, self.short):
                if target > stats.horizon.max_confirms:
                    other = stats.estimate(stats.horizon.max_confirms, success, waiting)
                    if other > 0 and (estimate < 0 or other < estimate):
                        estimate = other
        return estimate

    def _conservative(self, double: int, waiting: WaitingAtLeast) -> float:
        estimate = -1.0
        if double <= SHORT.max_confirms:
            estimate = self.medium.estimate(double, DOUBLE_SUCCESS, waiting)
        if double <= MEDIUM.max_confirms:
            estimate = max(estimate, self.long.estimate(double, DOUBLE_SUCCESS, waiting))
        return estimate
