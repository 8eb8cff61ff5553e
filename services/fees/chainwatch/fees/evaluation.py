"""Judging fee estimates against the blocks that followed them.

An estimate made right after block ``h`` is for block ``h+1``. It **overpaid** when above
that block's median fee rate (p50), **underpaid** when below its 5th percentile (p5: the
transaction would likely have waited), and was **in range** otherwise. These are the
definitions of the Delving Bitcoin study of Core's estimator (A. S. Ismail, 2024). The
median overpayment is taken over the estimates that overpaid, as a percentage of p50.

The recorded series gives each block's p50; its p5 is imputed (``series.P5Ratio``).

``estimate_series`` makes every method's estimates on the test rows of the time split:

- ``chainwatch``: the quantile model trained on the earlier rows, through ``recommend``;
- ``mempool.space`` (recommended, rounded up) and ``mempool.space precise``: the published
  method on projected blocks rebuilt from each row's mempool summary;
- ``Core economical`` and ``Core conservative``: the bucketed estimator replayed over the
  whole series (``baselines.core_replay``);
- ``last block median``: the naive forecast, for scale.

Rows whose mempool summary is missing (zero transactions: the poller failed) are left out
for every method alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chainwatch.fees.baselines.core_replay import replay_core
from chainwatch.fees.baselines.mempool_space import BlockMedian, recommended_fees
from chainwatch.fees.dataset import Dataset
from chainwatch.fees.features import RECENT_BLOCKS, typical_block_tx_count
from chainwatch.fees.model import FeeModel
from chainwatch.fees.recommend import BLOCK_VSIZE_VB, finalise
from chainwatch.fees.series import P5Ratio
from chainwatch.fees.state import Observation, SurvivalCurve, projected_medians_sat_vb

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BandScore:
    """Shares of estimates below, within and above the block's p5–p50 range."""

    method: str
    estimates: int
    overpaid: float
    underpaid: float
    in_range: float
    median_overpayment_pct: float
    median_ratio_to_p50: float


def score_band(method: str, estimate: FloatArray, p5: FloatArray, p50: FloatArray) -> BandScore:
    """Score estimates (NaN = no estimate, left out) against each block's p5 and p50."""
    ok = np.isfinite(estimate) & np.isfinite(p50) & np.isfinite(p5)
    e, low, high = estimate[ok], p5[ok], p50[ok]
    over = e > high
    under = e < low
    overpayment = (e[over] - high[over]) / high[over] * 100 if over.any() else np.zeros(1)
    return BandScore(
        method=method,
        estimates=int(ok.sum()),
        overpaid=float(over.mean()),
        underpaid=float(under.mean()),
        in_range=float(1 - over.mean() - under.mean()),
        median_overpayment_pct=float(np.median(overpayment)),
        median_ratio_to_p50=float(np.median(e / high)),
    )


@dataclass(frozen=True)
class SeriesEstimates:
    """Estimates per method for the test rows, with the blocks they are judged against."""

    heights: npt.NDArray[np.int64]
    p5_sat_vb: FloatArray
    p50_sat_vb: FloatArray
    by_method: dict[str, FloatArray]

    def scores(self) -> list[BandScore]:
        return [
            score_band(name, values, self.p5_sat_vb, self.p50_sat_vb)
            for name, values in self.by_method.items()
        ]


def judged_rows(dataset: Dataset) -> list[int]:
    """Test rows judged: the next block is recorded with a median, the mempool summary is."""
    observations = dataset.observations
    by_height = {o.block.height: o for o in observations}
    rows = []
    for i in range(dataset.split.test_start, len(observations)):
        now = observations[i]
        following = by_height.get(now.block.height + 1)
        if following is None or following.block.median_fee_rate_sat_vb is None:
            continue
        if now.mempool.tx_count > 0:
            rows.append(i)
    return rows


def estimate_series(
    dataset: Dataset, model: FeeModel, ratio: P5Ratio, *, with_core: bool = True
) -> SeriesEstimates:
    """Every method's next-block estimate on the judged test rows."""
    observations = dataset.observations
    rows = judged_rows(dataset)
    by_height = {o.block.height: o for o in observations}
    heights = np.array([observations[i].block.height for i in rows], dtype=np.int64)
    p50 = np.array([by_height[int(h) + 1].block.median_fee_rate_sat_vb for h in heights])
    p5 = p50 * ratio.at(heights + 1)

    chosen = model.recommend_sat_vb(dataset.features[rows])
    methods: dict[str, list[float]] = {name: [] for name in _BASE_METHODS}
    for row, i in enumerate(rows):
        history = observations[max(0, i + 1 - RECENT_BLOCKS) : i + 1]
        raw = dict(zip(model.targets, (float(x) for x in chosen[row]), strict=True))
        recommendation = finalise(raw, history, model.band_ratio, "model", model.version)
        methods["chainwatch"].append(recommendation.by_target_sat_vb[1])

        blocks = rebuilt_blocks(history)
        floor = history[-1].mempool.mempool_min_fee_sat_vb
        methods["mempool.space"].append(recommended_fees(blocks, floor).fastest_sat_vb)
        methods["mempool.space precise"].append(
            recommended_fees(blocks, floor, rounded=False).fastest_sat_vb
        )
        last = history[-1].block.median_fee_rate_sat_vb
        methods["last block median"].append(np.nan if last is None else max(last, floor))

    by_method = {name: np.asarray(values) for name, values in methods.items()}
    if with_core:
        core = replay_core(observations, ratio, {int(h) for h in heights})
        for mode in ("economical", "conservative"):
            values = [getattr(core[int(h)], f"{mode}_sat_vb") for h in heights]
            by_method[f"Core {mode}"] = np.array([np.nan if v is None else v for v in values])
    return SeriesEstimates(heights, p5, p50, by_method)


_BASE_METHODS = ("chainwatch", "mempool.space", "mempool.space precise", "last block median")


def rebuilt_blocks(history: Sequence[Observation], n_blocks: int = 4) -> list[BlockMedian]:
    """Projected blocks from the newest mempool summary: ``BLOCK_VSIZE_VB`` each while the
    mempool lasts, each with the median of its share of the rebuilt distribution."""
    mempool = history[-1].mempool
    curve = SurvivalCurve(mempool)
    medians = projected_medians_sat_vb(curve, typical_block_tx_count(history), n_blocks)
    blocks = []
    for k, median in enumerate(medians):
        vsize = min(BLOCK_VSIZE_VB, mempool.vsize_vb - k * BLOCK_VSIZE_VB)
        if vsize <= 0:
            break
        rate = median if np.isfinite(median) else mempool.min_fee_rate_sat_vb
        blocks.append(BlockMedian(vsize, rate))
    return blocks
