"""The screening data set: transactions → exposure → labels → feature matrix → time split.

Exposure is assessed by the scorer's own ``ExposureTracker`` replaying the transactions in
time order, so a training row's exposure features are what the scorer would have computed
when the transaction arrived. The feature row is the shared feature set
(``chainwatch.shared.features``); its ``anomaly_score`` stays NaN (not scored), so no tree
splits on it and serving values of it do not change a prediction.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.labels import LabelBook
from chainwatch.shared.features import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    exposure_context,
    feature_matrix,
)
from chainwatch.shared.schemas import Exposure
from chainwatch.trainer.dataset import LoadedTransactions, TimedTransaction
from chainwatch.trainer.labels import (
    DEFAULT_POLICY,
    LabelledSet,
    LabelPolicy,
    LabelSource,
    label_transactions,
)
from chainwatch.trainer.split import DEFAULT_SPLIT, SplitParams, TimeSplit, time_split

Array = npt.NDArray[np.float64]

EXPOSURE_BATCH = 256
"""Transactions per tracker call, as the scorer's batches; taints flow across batches."""


@dataclass(frozen=True)
class LabelledData:
    """The transactions in time order, each one's exposure, and the labelled rows."""

    txs: Sequence[TimedTransaction]
    exposures: Sequence[Sequence[Exposure]]
    labelled: LabelledSet
    skipped: Mapping[str, int]
    description: str


@dataclass(frozen=True)
class FeatureSet:
    """Labelled rows as a matrix, in time order, with their split into three windows.

    ``weights`` are the base weights (1, or ``unlabelled_weight`` for presumed-licit rows)
    before class balancing.
    """

    x: Array
    y: npt.NDArray[np.int64]
    weights: Array
    sources: tuple[str, ...]
    times_ts: npt.NDArray[np.int64]
    txids: tuple[str, ...]
    split: TimeSplit
    feature_names: tuple[str, ...] = FEATURE_NAMES
    feature_set_version: str = FEATURE_SET_VERSION

    def window_summary(self, window: slice) -> dict[str, Any]:
        """Rows, positives, first and last time (UTC ISO) and label sources of one window."""
        times = self.times_ts[window]
        sources = Counter(self.sources[window])
        positives = Counter(
            s for s, y in zip(self.sources[window], self.y[window], strict=True) if y
        )
        return {
            "rows": len(times),
            "positives": int(self.y[window].sum()),
            "from": _iso(int(times.min())) if len(times) else None,
            "to": _iso(int(times.max())) if len(times) else None,
            "label_sources": {
                s: {"rows": sources[s], "positives": positives[s]} for s in sorted(sources)
            },
        }


async def assess_exposures(
    txs: Sequence[TimedTransaction], book: LabelBook
) -> list[list[Exposure]]:
    """What the scorer's tracker finds for each transaction, replayed in time order."""
    tracker = ExposureTracker(book, MemoryTaintStore(max_outpoints=max(1, 4 * len(txs))))
    found: list[list[Exposure]] = []
    for start in range(0, len(txs), EXPOSURE_BATCH):
        batch = [t.tx for t in txs[start : start + EXPOSURE_BATCH]]
        found.extend(await tracker.assess(batch))
    return found


def build_labelled(
    loaded: LoadedTransactions,
    book: LabelBook,
    verdicts: Mapping[str, bool],
    policy: LabelPolicy = DEFAULT_POLICY,
) -> LabelledData:
    exposures = asyncio.run(assess_exposures(loaded.txs, book))
    labelled = label_transactions(loaded.txs, exposures, book, verdicts, policy)
    return LabelledData(loaded.txs, exposures, labelled, loaded.skipped, loaded.description)


def build_features(
    data: LabelledData,
    split_params: SplitParams = DEFAULT_SPLIT,
    unlabelled_weight: float = 1.0,
) -> FeatureSet:
    """The feature matrix of the labelled rows and its time-ordered split."""
    rows = data.labelled.rows
    txs = [data.txs[r.index].tx for r in rows]
    contexts = [exposure_context(data.exposures[r.index]) for r in rows]
    y = np.array([r.label for r in rows], dtype=np.int64)
    weights = np.array(
        [unlabelled_weight if r.source == LabelSource.UNLABELLED else 1.0 for r in rows],
        dtype=np.float64,
    )
    return FeatureSet(
        x=feature_matrix(txs, contexts),
        y=y,
        weights=weights,
        sources=tuple(r.source.value for r in rows),
        times_ts=np.array([r.time_ts for r in rows], dtype=np.int64),
        txids=tuple(r.txid for r in rows),
        split=time_split(y, split_params),
    )


def _iso(time_ts: int) -> str:
    return datetime.fromtimestamp(time_ts, UTC).isoformat()
