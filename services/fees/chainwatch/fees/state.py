"""Mempool state and block facts as the fee model sees them, live and in the recorded series.

One ``Observation`` is taken just after a block arrives: the block (``BlockRecord``) and the
mempool left behind (``MempoolState``). The recorded series has one per block; the service
makes one from its own mempool, with the same definitions, so a model trained on the series
sees the same numbers live:

- fee rates are each transaction's own fee over its virtual size, sat/vB;
- ``median`` is the middle of the sorted rates (mean of the two middle ones for an even
  count); ``p10`` and ``p90`` are the rates at sorted index ``n // 10`` and ``int(0.9 n)``;
- ``histogram`` counts rates in ten equal-width bins from the lowest to the highest rate
  (the highest rate counts in the last bin).

``SurvivalCurve`` goes the other way: from those few numbers back to an approximate fee-rate
distribution, to say which rate the top ``s`` share of the mempool pays (see its docstring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class MempoolState:
    """The mempool's size and fee-rate distribution (rates by transaction count, sat/vB)."""

    tx_count: int
    vsize_vb: int
    total_fee_sat: int
    min_fee_rate_sat_vb: float
    p10_fee_rate_sat_vb: float
    median_fee_rate_sat_vb: float
    p90_fee_rate_sat_vb: float
    max_fee_rate_sat_vb: float
    mean_fee_rate_sat_vb: float
    std_fee_rate_sat_vb: float
    histogram: tuple[int, ...]
    mempool_min_fee_sat_vb: float
    """The lowest fee rate the node accepts now (Core's ``mempoolminfee``), sat/vB."""


@dataclass(frozen=True)
class BlockRecord:
    """A mined block: its height, header time and the median own fee rate of its transactions."""

    height: int
    block_time_ts: int
    median_fee_rate_sat_vb: float | None
    tx_count: int
    weight_wu: int


@dataclass(frozen=True)
class Observation:
    """What is known right after block ``block.height`` arrived, at ``observed_ts``."""

    observed_ts: int
    block: BlockRecord
    mempool: MempoolState


def summarise_mempool(
    fee_sat: npt.ArrayLike, vsize_vb: npt.ArrayLike, mempool_min_fee_sat_vb: float
) -> MempoolState:
    """The ``MempoolState`` of transactions with these fees and virtual sizes."""
    fees = np.asarray(fee_sat, dtype=np.float64)
    sizes = np.asarray(vsize_vb, dtype=np.float64)
    n = len(fees)
    if n == 0:
        zero = float(mempool_min_fee_sat_vb)
        return MempoolState(0, 0, 0, zero, zero, zero, zero, zero, zero, 0.0, (0,) * 10, zero)
    rates = np.sort(fees / sizes)
    return MempoolState(
        tx_count=n,
        vsize_vb=int(sizes.sum()),
        total_fee_sat=int(fees.sum()),
        min_fee_rate_sat_vb=float(rates[0]),
        p10_fee_rate_sat_vb=float(rates[n // 10]) if n > 10 else 0.0,
        median_fee_rate_sat_vb=float(np.median(rates)),
        p90_fee_rate_sat_vb=float(rates[int(n * 0.9)]) if n > 10 else 0.0,
        max_fee_rate_sat_vb=float(rates[-1]),
        mean_fee_rate_sat_vb=float(rates.mean()),
        std_fee_rate_sat_vb=float(rates.std(ddof=1)) if n > 1 else 0.0,
        histogram=fee_rate_histogram(rates),
        mempool_min_fee_sat_vb=float(mempool_min_fee_sat_vb),
    )


def fee_rate_histogram(sorted_rates: npt.NDArray[np.float64]) -> tuple[int, ...]:
    """Counts in ten equal-width bins from the lowest to the highest rate."""
    low, high = float(sorted_rates[0]), float(sorted_rates[-1])
    if high <= low:
        return (len(sorted_rates),) + (0,) * (HISTOGRAM_BINS - 1)
    edges = low + np.arange(1, HISTOGRAM_BINS) * (high - low) / HISTOGRAM_BINS
    bins = np.searchsorted(edges, sorted_rates, side="right")
    return tuple(int(c) for c in np.bincount(bins, minlength=HISTOGRAM_BINS))


class SurvivalCurve:
    """An approximate fee-rate distribution rebuilt from a ``MempoolState``.

    The known points are the share of transactions paying at least the minimum (all), p10
    (90 %), the median (50 %), p90 (10 %), each histogram edge, and the maximum (half a
    transaction, so the top stays finite). Between them the log of the share above a rate
    is linear in the log of the rate: a power law, which is how the upper tail of fee rates
    behaves. ``rate_at_share_above(s)`` is the rate paid by the top ``s`` of transactions
    by count; with the count of a typical block that gives a projected block's median.
    This is an approximation: two mempools with the same summary give the same curve.
    """

    def __init__(self, state: MempoolState) -> None:
        self.tx_count = max(state.tx_count, 1)
        floor = 0.5 / self.tx_count
        points = [
            (state.min_fee_rate_sat_vb, 1.0),
            (state.p10_fee_rate_sat_vb, 0.9),
            (state.median_fee_rate_sat_vb, 0.5),
            (state.p90_fee_rate_sat_vb, 0.1),
            (state.max_fee_rate_sat_vb, floor),
        ]
        counts = state.histogram
        total = sum(counts)
        if len(counts) == HISTOGRAM_BINS and total > 0:
            step = (state.max_fee_rate_sat_vb - state.min_fee_rate_sat_vb) / HISTOGRAM_BINS
            above = total
            for i, count in enumerate(counts[:-1]):
                above -= count
                edge = state.min_fee_rate_sat_vb + (i + 1) * step
                points.append((edge, max(above / total, floor)))
        self.log_rate, self.log_share = _monotone(points, floor)

    def rate_at_share_above(self, share: float) -> float:
        """The fee rate (sat/vB) that the top ``share`` (0..1] of transactions pay at least."""
        share = min(max(share, 0.5 / self.tx_count), 1.0)
        # log_share falls as log_rate rises; np.interp needs increasing x, so negate.
        log_rate = np.interp(-math.log(share), -self.log_share, self.log_rate)
        return float(math.exp(log_rate))

    def share_above_rates(self, rates_sat_vb: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The share of transactions paying at least each rate (1 below the minimum)."""
        log_rates = np.log(np.maximum(np.asarray(rates_sat_vb, dtype=np.float64), 1e-9))
        shares = np.exp(np.interp(log_rates, self.log_rate, self.log_share))
        shares[log_rates > self.log_rate[-1]] = 0.0
        return np.asarray(shares, dtype=np.float64)


def _monotone(
    points: Sequence[tuple[float, float]], floor: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sorted (log rate, log share) knots: rates strictly increasing, shares decreasing.

    Two points at one rate (p10 equal to the minimum: a tenth of the mempool pays exactly
    the minimum) become a step: the higher share at the rate, the lower one just above it.
    """
    rates: list[float] = []
    shares: list[float] = []
    for rate, share in sorted(points, key=lambda p: (p[0], -p[1])):
        rate = max(rate, 1e-3)
        share = max(share, floor)
        if shares and share >= shares[-1]:
            continue  # adds nothing: the share at a lower rate is already as high
        if rates and rate <= rates[-1] * (1 + 1e-9):
            rate = rates[-1] * (1 + 1e-6)  # a point mass: a step just above the rate
        rates.append(rate)
        shares.append(share)
    if len(rates) == 1:
        rates.append(rates[0] * 1.001)
        shares.append(floor)
    return np.log(np.asarray(rates)), np.log(np.asarray(shares))


def projected_medians_sat_vb(
    curve: SurvivalCurve, block_tx_count: float, n_blocks: int = 3
) -> list[float]:
    """Median fee rate of each of the next ``n_blocks`` blocks, if each takes the next
    ``block_tx_count`` best-paying transactions of the rebuilt distribution (by count)."""
    medians = []
    for k in range(1, n_blocks + 1):
        share = (k - 0.5) * block_tx_count / curve.tx_count
        medians.append(curve.rate_at_share_above(share) if share < 1 else math.nan)
    return medians
