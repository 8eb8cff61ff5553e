"""The fee model's inputs: one vector per observation, from the recent observations alone.

``feature_vector(history)`` describes the newest observation of ``history`` (oldest first)
with what was known at that moment: the mempool's size and fee-rate distribution, the
projected next blocks rebuilt from that distribution, the fee rates of recent blocks, and
the time of day. Training (on the recorded series) and serving (on the live mempool) call
the same function, so the model never sees a number computed two ways.

Rates enter as natural logs of sat/vB; a value that cannot be known (no median for a block,
no previous block) is NaN, which LightGBM routes on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from chainwatch.fees.state import (
    HISTOGRAM_BINS,
    Observation,
    SurvivalCurve,
    projected_medians_sat_vb,
)

FEATURE_SET_VERSION = "fees-1"
RECENT_BLOCKS = 144
"""Observations a feature vector looks back over (the newest included)."""

FEATURE_NAMES: tuple[str, ...] = (
    "log_mempool_tx_count",
    "log_mempool_vsize_mvb",
    "log_mempool_min_fee",
    "log_rate_min",
    "log_rate_p10",
    "log_rate_median",
    "log_rate_p90",
    "log_rate_max",
    "log_rate_mean",
    "log_rate_std",
    *(f"hist_share_{i}" for i in range(HISTOGRAM_BINS)),
    "log_total_fee_btc",
    "log_projected_median_1",
    "log_projected_median_2",
    "log_projected_median_3",
    "log_projected_p5_1",
    "mempool_blocks_by_count",
    "log_last_block_median",
    "log_block_median_mean_3",
    "log_block_median_mean_6",
    "log_block_median_mean_12",
    "log_block_median_min_6",
    "log_block_median_max_6",
    "log_block_median_median_144",
    "last_block_tx_count_k",
    "last_block_weight_share",
    "last_block_interval_s",
    "observed_lag_s",
    "d_log_mempool_vsize",
    "d_log_mempool_tx_count",
    "hour_sin",
    "hour_cos",
    "weekday",
)


def typical_block_tx_count(history: Sequence[Observation], blocks: int = 6) -> float:
    """Mean transaction count of the last ``blocks`` blocks (coinbase excluded), at least 1."""
    counts = [o.block.tx_count - 1 for o in history[-blocks:]]
    return max(float(np.mean(counts)), 1.0) if counts else 3000.0


def feature_vector(history: Sequence[Observation]) -> npt.NDArray[np.float64]:
    """The features of ``history[-1]``, in ``FEATURE_NAMES`` order."""
    now = history[-1]
    mempool = now.mempool
    curve = SurvivalCurve(mempool)
    block_count = typical_block_tx_count(history)
    projected = projected_medians_sat_vb(curve, block_count, 3)
    floor = mempool.mempool_min_fee_sat_vb
    p5_share = 0.95 * block_count / max(mempool.tx_count, 1)
    projected_p5 = curve.rate_at_share_above(p5_share) if p5_share < 1 else floor

    medians = [_log(o.block.median_fee_rate_sat_vb) for o in history[-RECENT_BLOCKS:]]
    histogram = mempool.histogram if len(mempool.histogram) == HISTOGRAM_BINS else ()
    shares = _shares(histogram)
    previous = history[-2] if len(history) > 1 else None
    interval_s = math.nan
    if previous is not None and previous.block.height == now.block.height - 1:
        interval_s = float(now.block.block_time_ts - previous.block.block_time_ts)
    hour = datetime.fromtimestamp(now.observed_ts, UTC)
    angle = 2 * math.pi * (hour.hour + hour.minute / 60) / 24

    values = [
        math.log1p(mempool.tx_count),
        math.log1p(mempool.vsize_vb / 1e6),
        _log(floor),
        _log(mempool.min_fee_rate_sat_vb),
        _log(mempool.p10_fee_rate_sat_vb),
        _log(mempool.median_fee_rate_sat_vb),
        _log(mempool.p90_fee_rate_sat_vb),
        _log(mempool.max_fee_rate_sat_vb),
        _log(mempool.mean_fee_rate_sat_vb),
        math.log1p(mempool.std_fee_rate_sat_vb),
        *shares,
        math.log1p(mempool.total_fee_sat / 1e8),
        *(_log(m if math.isfinite(m) else floor) for m in projected),
        _log(projected_p5),
        mempool.tx_count / block_count,
        medians[-1],
        _nanmean(medians[-3:]),
        _nanmean(medians[-6:]),
        _nanmean(medians[-12:]),
        _nanreduce(min, medians[-6:]),
        _nanreduce(max, medians[-6:]),
        _nanreduce(np.median, medians),
        now.block.tx_count / 1000,
        now.block.weight_wu / 4e6,
        interval_s,
        float(now.observed_ts - now.block.block_time_ts),
        _delta(now, previous, "vsize_vb"),
        _delta(now, previous, "tx_count"),
        math.sin(angle),
        math.cos(angle),
        float(hour.weekday()),
    ]
    return np.asarray(values, dtype=np.float64)


def feature_matrix(observations: Sequence[Observation]) -> npt.NDArray[np.float64]:
    """One row per observation, each from the ``RECENT_BLOCKS`` observations up to it."""
    rows = [
        feature_vector(observations[max(0, i + 1 - RECENT_BLOCKS) : i + 1])
        for i in range(len(observations))
    ]
    return np.vstack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))


def _log(value: float | None) -> float:
    return math.log(value) if value is not None and value > 0 else math.nan


def _shares(histogram: Sequence[int]) -> list[float]:
    total = sum(histogram)
    if not histogram or total <= 0:
        return [math.nan] * HISTOGRAM_BINS
    return [count / total for count in histogram]


def _nanmean(values: Sequence[float]) -> float:
    return _nanreduce(np.mean, values)


def _nanreduce(reduce: Callable[[list[float]], Any], values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(reduce(finite)) if finite else math.nan


def _delta(now: Observation, previous: Observation | None, field: str) -> float:
    if previous is None:
        return math.nan
    new, old = getattr(now.mempool, field), getattr(previous.mempool, field)
    return math.log1p(new) - math.log1p(old)
