"""The Core style estimator replayed over the recorded per-block series.

Core learns from individual transactions: when each entered the mempool, at what fee rate,
and how many blocks later it confirmed (or left unconfirmed). The series has no
transactions, only each block's median fee rate and the mempool's fee-rate summary, so the
replay makes a transaction flow from them, and the estimator learns from that flow exactly
as Core would:

- **Arrivals.** After block ``h``, as many transactions as block ``h`` held enter the
  mempool, spread over the fee-rate buckets as the mempool's own distribution is (the
  ``SurvivalCurve`` of its summary): the rates people were paying then, low ones included.
- **Confirmations.** Block ``h`` confirms every waiting transaction whose bucket's middle
  rate is at least the block's cutoff: its 5th percentile fee rate (its median times the
  imputed p5 ratio, see ``series.P5Ratio``). Greedy miners take everything above their
  cutoff, so the cutoff decides.
- **Failures.** Transactions below the mempool's minimum fee are evicted, and any still
  waiting after 2,016 blocks (two weeks) expire; both count as failures, as in Core.

For a missing height the previous cutoff and minimum fee carry over. Estimates are taken
right after each recorded block, for the next block (Core answers target 1 as target 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainwatch.fees.baselines.core_estimator import CoreEstimator, FloatArray
from chainwatch.fees.series import P5Ratio
from chainwatch.fees.state import Observation, SurvivalCurve

EXPIRY_BLOCKS = 2016


@dataclass(frozen=True)
class CoreEstimates:
    """Core's answer for the next block after an observation, both modes, sat/vB."""

    height: int
    economical_sat_vb: float | None
    conservative_sat_vb: float | None


class SyntheticMempool:
    """Waiting transactions by entry height (a ring of ``EXPIRY_BLOCKS`` slots) and bucket."""

    def __init__(self, estimator: CoreEstimator) -> None:
        self.estimator = estimator
        edges = estimator.edges
        lower = np.concatenate(([edges[0] / 1.05], edges[:-1]))
        upper = np.where(np.isfinite(edges), edges, lower * 1.05)
        self.bucket_lower = lower
        self.bucket_upper = upper
        self.bucket_rate = np.sqrt(lower * upper)
        self.waiting = np.zeros((EXPIRY_BLOCKS, len(edges)))
        self.entry_height = np.full(EXPIRY_BLOCKS, -1, dtype=np.int64)
        self.height = 0

    def arrive(self, height: int, counts: FloatArray) -> None:
        """``counts[bucket]`` transactions enter after block ``height``."""
        slot = height % EXPIRY_BLOCKS
        self.waiting[slot] = counts
        self.entry_height[slot] = height

    def block(self, height: int, cutoff_sat_vb: float, min_fee_sat_vb: float) -> None:
        """Block ``height``: decay, confirm above the cutoff, evict, expire."""
        self.estimator.new_block()
        self.height = height
        ages = height - self.entry_height

        # Bucket rates rise, so "at least the cutoff" is a suffix and "below the minimum
        # fee" a prefix of the buckets; only the slots holding any of them are touched.
        first_confirmed = int(np.searchsorted(self.bucket_rate, cutoff_sat_vb, side="left"))
        rows = np.flatnonzero(self.waiting[:, first_confirmed:].any(axis=1))
        if len(rows):
            counts = np.zeros((len(rows), self.waiting.shape[1]))
            counts[:, first_confirmed:] = self.waiting[rows, first_confirmed:]
            self.estimator.record_confirmed(ages[rows], counts, self.bucket_rate)
            self.waiting[rows, first_confirmed:] = 0.0

        last_evicted = int(np.searchsorted(self.bucket_upper, min_fee_sat_vb, side="left"))
        rows = np.flatnonzero(self.waiting[:, :last_evicted].any(axis=1))
        if len(rows):
            counts = np.zeros((len(rows), self.waiting.shape[1]))
            counts[:, :last_evicted] = self.waiting[rows, :last_evicted]
            self.estimator.record_failed(ages[rows], counts)
            self.waiting[rows, :last_evicted] = 0.0

        expired = np.flatnonzero((self.entry_height >= 0) & (ages >= EXPIRY_BLOCKS - 1))
        if len(expired):
            self.estimator.record_failed(ages[expired], self.waiting[expired].copy())
            self.waiting[expired] = 0.0
            self.entry_height[expired] = -1

    def waiting_at_least(self, blocks: int) -> FloatArray:
        """Transactions per bucket waiting for at least ``blocks`` blocks now."""
        ages = self.height - self.entry_height
        rows = (self.entry_height >= 0) & (ages >= blocks)
        return np.asarray(self.waiting[rows].sum(axis=0), dtype=np.float64)

    def arrivals_like(self, observation: Observation) -> FloatArray:
        """A block's worth of transactions spread like this mempool's fee rates."""
        curve = SurvivalCurve(observation.mempool)
        shares = curve.share_above_rates(self.bucket_lower) - curve.share_above_rates(
            self.bucket_upper
        )
        shares = np.clip(shares, 0.0, None)
        total = shares.sum()
        if total <= 0:
            return np.zeros_like(shares)
        scaled = shares / total * max(observation.block.tx_count - 1, 0)
        return np.asarray(scaled, dtype=np.float64)


def replay_core(
    observations: Sequence[Observation], ratio: P5Ratio, estimate_heights: set[int]
) -> dict[int, CoreEstimates]:
    """Feed the estimator block by block; estimate after each height in ``estimate_heights``."""
    by_height = {o.block.height: o for o in observations}
    first, last = observations[0].block.height, observations[-1].block.height
    mempool = SyntheticMempool(CoreEstimator())
    cutoff = min_fee = 1.0
    arrivals: FloatArray | None = None
    out = {}
    for height in range(first, last + 1):
        observation = by_height.get(height)
        if observation is not None:
            median = observation.block.median_fee_rate_sat_vb
            if median is not None:
                cutoff = median * float(ratio.at([height])[0])
            min_fee = observation.mempool.mempool_min_fee_sat_vb
        mempool.block(height, cutoff, min_fee)

        if observation is not None and height in estimate_heights:
            out[height] = CoreEstimates(
                height,
                _estimate(mempool, min_fee, conservative=False),
                _estimate(mempool, min_fee, conservative=True),
            )
        if observation is not None and observation.mempool.tx_count > 0:
            arrivals = mempool.arrivals_like(observation)
        if arrivals is not None:
            mempool.arrive(height, arrivals)
    return out


def _estimate(mempool: SyntheticMempool, min_fee: float, *, conservative: bool) -> float | None:
    rate = mempool.estimator.estimate_smart_fee(
        1, mempool.waiting_at_least, min_fee, conservative=conservative
    )
    return rate if rate is None or math.isfinite(rate) else None
