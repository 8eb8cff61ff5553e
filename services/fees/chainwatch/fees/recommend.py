"""Recommendations: one fee rate per confirmation target, from the model and projected blocks.

For targets of 1, 3, 6 and 144 blocks, in sat/vB:

1. **Model** (when one is loaded): the in-band choice of the quantile model
   (``FeeModel.recommend_sat_vb``), whose features include the projected blocks rebuilt
   from the mempool's fee-rate summary.
2. **Projection only** (no model): the median fee rate of projected block ``k`` (the last
   projected block stands in for later targets), as mempool.space's precise fees do.
3. **Shallow mempool.** When the whole mempool fits in fewer than ``k`` blocks, anything
   the mempool accepts confirms within ``k``: the target gets the minimum.

Every rate is at least the mempool's minimum fee (a lower one would not be relayed), and
tiers are monotonic: a shorter target never asks less than a longer one. ``economy`` is the
rate the cheapest block of the last 144 accepted at its 5th percentile (its median times
the band ratio), if the mempool takes it: for payments that can wait for a lull.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chainwatch.fees.features import feature_vector
from chainwatch.fees.model import TARGETS_BLOCKS, FeeModel
from chainwatch.fees.state import Observation

BLOCK_VSIZE_VB = 1_000_000
DEFAULT_BAND_RATIO = 0.74
"""Typical ratio of a block's 5th to 50th percentile fee rate (used when no model says)."""


@dataclass(frozen=True)
class Recommendation:
    """Fee rates by target (blocks → sat/vB), an economy rate and the floor, and how."""

    by_target_sat_vb: dict[int, float]
    economy_sat_vb: float
    minimum_sat_vb: float
    method: str
    model_version: str | None
    quantiles_sat_vb: dict[int, dict[str, float]] | None = None
    """Target → quantile level ("0.05" …) → predicted rate, when a model made it."""


def recommend(
    history: Sequence[Observation],
    model: FeeModel | None,
    projected_medians_sat_vb: Sequence[float],
) -> Recommendation:
    """The recommendation after ``history[-1]`` (oldest first).

    ``projected_medians_sat_vb`` are the medians of the projected blocks, nearest first.
    """
    minimum = max(history[-1].mempool.mempool_min_fee_sat_vb, 0.0)
    quantiles: dict[int, dict[str, float]] | None = None
    if model is not None:
        features = feature_vector(history)
        chosen = model.recommend_sat_vb(features)[0]
        raw = dict(zip(model.targets, (float(x) for x in chosen), strict=True))
        log_q = model.log_quantiles(features)[0]
        quantiles = {
            k: {
                str(q): round(math.exp(v), 4)
                for q, v in zip(model.quantiles, log_q[t], strict=True)
            }
            for t, k in enumerate(model.targets)
        }
        method, version, band_ratio = "model", model.version, model.band_ratio
    else:
        raw = {k: _projected(projected_medians_sat_vb, k, minimum) for k in TARGETS_BLOCKS}
        method, version, band_ratio = "projection", None, DEFAULT_BAND_RATIO

    return finalise(raw, history, band_ratio, method, version, quantiles)


def finalise(
    raw_by_target_sat_vb: dict[int, float],
    history: Sequence[Observation],
    band_ratio: float,
    method: str,
    model_version: str | None = None,
    quantiles: dict[int, dict[str, float]] | None = None,
) -> Recommendation:
    """Apply the floor, the shallow-mempool rule, monotonic tiers and the economy rate."""
    now = history[-1]
    minimum = max(now.mempool.mempool_min_fee_sat_vb, 0.0)
    depth_blocks = now.mempool.vsize_vb / BLOCK_VSIZE_VB
    rates = {
        k: minimum if depth_blocks < k else max(rate, minimum)
        for k, rate in raw_by_target_sat_vb.items()
    }
    ordered = sorted(rates)
    for shorter, longer in zip(reversed(ordered[:-1]), reversed(ordered[1:]), strict=True):
        rates[shorter] = max(rates[shorter], rates[longer])

    lull = [o.block.median_fee_rate_sat_vb for o in history[-144:]]
    lowest = min((m for m in lull if m is not None), default=None)
    economy = minimum if lowest is None else max(minimum, band_ratio * lowest)
    economy = min(economy, rates[ordered[-1]])
    return Recommendation(rates, economy, minimum, method, model_version, quantiles)


def _projected(medians: Sequence[float], target: int, minimum: float) -> float:
    finite = [m for m in medians if math.isfinite(m)]
    if not finite:
        return minimum
    return finite[min(target, len(finite)) - 1]
