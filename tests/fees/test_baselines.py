"""The two baselines, as their published descriptions say they behave."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.fees.baselines.core_estimator import (
    LONG,
    MEDIUM,
    SHORT,
    CoreEstimator,
    bucket_edges_sat_vb,
)
from chainwatch.fees.baselines.core_replay import replay_core
from chainwatch.fees.baselines.mempool_space import BlockMedian, recommended_fees
from chainwatch.fees.series import P5Ratio
from chainwatch.fees.state import Observation

FULL = 1_000_000


def test_mempool_space_takes_block_medians_averaged_tier_by_tier() -> None:
    blocks = [BlockMedian(FULL, 20.2), BlockMedian(FULL, 10.0), BlockMedian(FULL, 4.0)]
    fees = recommended_fees(blocks, mempool_min_fee_sat_vb=1.2)
    assert fees.fastest_sat_vb == 21  # rounded up
    assert fees.half_hour_sat_vb == 16  # (10 + 21) / 2 = 15.5, up
    assert fees.hour_sat_vb == 10  # (4 + 16) / 2
    assert fees.minimum_sat_vb == 2  # ceil(1.2)
    assert fees.economy_sat_vb == 4  # min(2 × minimum, hour)
    precise = recommended_fees(blocks, 1.2, rounded=False)
    assert precise.fastest_sat_vb == pytest.approx(20.2)


def test_mempool_space_under_filled_blocks_get_the_minimum_or_a_ramp() -> None:
    assert recommended_fees([BlockMedian(400_000, 30.0)], 1.0).fastest_sat_vb == 1
    ramp = recommended_fees([BlockMedian(750_000, 30.0)], 1.0, rounded=False)
    assert ramp.fastest_sat_vb == pytest.approx(30.0 * 0.5)
    # the ramp applies only to the last projected block
    no_ramp = recommended_fees([BlockMedian(750_000, 30.0), BlockMedian(FULL, 5.0)], 1.0)
    assert no_ramp.fastest_sat_vb == 30


def test_mempool_space_tiers_never_rise_with_the_target() -> None:
    fees = recommended_fees([BlockMedian(FULL, 2.0), BlockMedian(FULL, 9.0)], 1.0)
    assert fees.fastest_sat_vb >= fees.half_hour_sat_vb >= fees.hour_sat_vb
    assert fees.hour_sat_vb >= fees.economy_sat_vb >= fees.minimum_sat_vb


def test_core_buckets_and_horizons_are_the_published_ones() -> None:
    edges = bucket_edges_sat_vb()
    assert 185 <= len(edges) <= 200 and edges[0] == 1.0 and np.isinf(edges[-1])
    assert np.allclose(edges[1:-1] / edges[:-2], 1.05)
    assert (SHORT.max_confirms, MEDIUM.max_confirms, LONG.max_confirms) == (12, 48, 1008)
    half_lives = [np.log(0.5) / np.log(h.decay) for h in (SHORT, MEDIUM, LONG)]
    assert half_lives == pytest.approx([18, 144, 1008], rel=0.03)


def _steady_flow(estimator: CoreEstimator, blocks: int, cutoff_sat_vb: float) -> None:
    """Per block, 50 transactions in each bucket from 1 to 100 sat/vB: those at or above
    the cutoff confirm in the next block, the others never (then expire)."""
    rates = np.geomspace(1.0, 100.0, 95)
    buckets = estimator.bucket_of(rates)
    counts = np.zeros((1, len(estimator.edges)))
    np.add.at(counts[0], buckets, 50.0)
    confirmed = counts.copy()
    confirmed[0, estimator.edges < cutoff_sat_vb] = 0.0
    mid = estimator.edges.copy()
    mid[-1] = mid[-2] * 1.05
    for _ in range(blocks):
        estimator.new_block()
        estimator.record_confirmed(np.array([1]), confirmed, mid)


def test_core_estimate_lands_above_the_cutoff_blocks_confirm_at() -> None:
    estimator = CoreEstimator()
    _steady_flow(estimator, 300, cutoff_sat_vb=8.0)
    stuck = np.zeros(len(estimator.edges))
    stuck[estimator.edges < 8.0] = 500.0  # waiting below the cutoff, for long

    def waiting(blocks: int) -> np.ndarray:
        return stuck

    economical = estimator.estimate_smart_fee(1, waiting, 1.0, conservative=False)
    conservative = estimator.estimate_smart_fee(1, waiting, 1.0, conservative=True)
    assert economical is not None and conservative is not None
    assert 8.0 <= economical < 20.0
    assert conservative >= economical


def test_core_has_no_estimate_without_history() -> None:
    estimator = CoreEstimator()
    assert estimator.estimate_smart_fee(6, lambda n: np.zeros(len(estimator.edges)), 1.0,
                                        conservative=True) is None  # fmt: skip


def test_core_replay_on_the_real_series_overpays_more_when_conservative(
    series: list[Observation], p5_ratio: P5Ratio
) -> None:
    stretch = series[:700]
    heights = {o.block.height for o in stretch[400:]}
    estimates = replay_core(stretch, p5_ratio, heights)
    pairs = [
        (e.economical_sat_vb, e.conservative_sat_vb)
        for e in estimates.values()
        if e.economical_sat_vb is not None and e.conservative_sat_vb is not None
    ]
    assert len(pairs) > 250
    assert all(c >= e - 1e-9 for e, c in pairs)
    assert np.mean([c > e for e, c in pairs]) > 0.2
