"""The recorded per-block series the fee model learns from and is judged on.

``load_block_series`` reads ``majiangqin_real_time_2024-09-16_to_2024-11-30_raw.csv.gz``
(PROVENANCE.md §6): one row per mainnet block 861,523 … 872,689, written by a script polling
a Bitcoin Core node right after each block: the block (height, time, transaction count,
weight, median own fee rate of its transactions) and the mempool left behind (size, count,
fee-rate minimum / p10 / median / p90 / maximum / mean / std, a ten-bin histogram, total fee,
``mempoolminfee``). Some heights are missing (the poller skipped them); rows are kept in
height order and gaps are left as gaps.

The series has each block's median fee rate but not its 5th percentile. ``P5Ratio`` supplies
it from mempool.space's daily block fee-rate percentiles
(``mempool_api_v1_mining_blocks_fee-rates_all_2009-2025.json``): over a week centred on the
block, (mean p0 + mean p10) / 2 / mean p50 of the blocks of each day. A block's p5 is then
its own median times that ratio: an imputation, marked as such wherever it is used.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chainwatch.fees.errors import SeriesError
from chainwatch.fees.state import BlockRecord, MempoolState, Observation

FOLDER = "fee_estimation"
SERIES_FILE = "majiangqin_real_time_2024-09-16_to_2024-11-30_raw.csv.gz"
PERCENTILES_FILE = "mempool_api_v1_mining_blocks_fee-rates_all_2009-2025.json"
RATIO_WINDOW_DAYS = 7


def load_block_series(data_dir: Path) -> list[Observation]:
    """Every usable row of the series, in height order (a repeated height keeps its first row)."""
    path = data_dir / FOLDER / SERIES_FILE
    observations: dict[int, Observation] = {}
    with gzip.open(path, "rt", newline="") as lines:
        for line_no, row in enumerate(csv.DictReader(lines), start=2):
            observation = _observation(row, str(path), line_no)
            observations.setdefault(observation.block.height, observation)
    return [observations[h] for h in sorted(observations)]


def _observation(row: dict[str, str], path: str, line_no: int) -> Observation:
    try:
        block = BlockRecord(
            height=int(row["block_height"]),
            block_time_ts=int(row["block_time"]),
            median_fee_rate_sat_vb=_optional_float(row["block_median_fee_rate"]),
            tx_count=int(float(row["transaction_count"])),
            weight_wu=int(float(row["block_weight"])),
        )
        histogram = row["mempool_fee_histogram"]
        mempool = MempoolState(
            tx_count=int(row["tx_count"]),
            vsize_vb=round(float(row["mempool_size_mb"]) * 1_000_000),
            total_fee_sat=round(float(row["total_fee"])),
            min_fee_rate_sat_vb=float(row["min_fee_rate"]),
            p10_fee_rate_sat_vb=float(row["fee_rate_10th"]),
            median_fee_rate_sat_vb=float(row["median_fee_rate"]),
            p90_fee_rate_sat_vb=float(row["fee_rate_90th"]),
            max_fee_rate_sat_vb=float(row["max_fee_rate"]),
            mean_fee_rate_sat_vb=float(row["avg_fee_rate"]),
            std_fee_rate_sat_vb=float(row["fee_rate_std"]),
            histogram=tuple(int(c) for c in json.loads(histogram)) if histogram else (),
            mempool_min_fee_sat_vb=float(row["mempool_min_fee"]),
        )
        return Observation(observed_ts=int(row["timestamp"]), block=block, mempool=mempool)
    except (KeyError, ValueError) as exc:
        raise SeriesError(path, line_no, f"{type(exc).__name__}: {exc}") from None


def _optional_float(text: str) -> float | None:
    if not text:
        return None
    value = float(text)
    return value if math.isfinite(value) and value > 0 else None


@dataclass(frozen=True)
class P5Ratio:
    """Imputed ratio of a block's 5th to its 50th percentile fee rate, by height."""

    heights: npt.NDArray[np.float64]
    ratios: npt.NDArray[np.float64]

    def at(self, heights: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.interp(np.asarray(heights, dtype=np.float64), self.heights, self.ratios)

    @property
    def mean(self) -> float:
        return float(self.ratios.mean())


def load_p5_ratio(data_dir: Path, first_height: int, last_height: int) -> P5Ratio:
    """The ratio from mempool.space's daily percentiles, for the days around the heights."""
    points = json.loads((data_dir / FOLDER / PERCENTILES_FILE).read_text())
    margin = 144 * RATIO_WINDOW_DAYS
    days = [p for p in points if first_height - margin <= p["avgHeight"] <= last_height + margin]
    if len(days) < RATIO_WINDOW_DAYS:
        raise SeriesError(PERCENTILES_FILE, 0, f"{len(days)} days around {first_height}")
    heights = np.array([d["avgHeight"] for d in days], dtype=np.float64)
    p0, p10, p50 = (
        np.array([d[f"avgFee_{q}"] for d in days], dtype=np.float64) for q in (0, 10, 50)
    )
    kernel = np.ones(RATIO_WINDOW_DAYS)
    low = np.convolve((p0 + p10) / 2, kernel, mode="same")
    mid = np.convolve(p50, kernel, mode="same")
    ratios = np.clip(low / np.maximum(mid, 1e-9), 0.0, 1.0)
    return P5Ratio(heights, ratios)
