"""The detectors on real decisions, without servers: era order fires, shuffled does not.

Real recorded transactions go through the scorer's own cascade (exposure, features,
anomaly trees) in the order a replay would publish them, and the decisions straight into
the ``DecisionMonitor``. tests/integration/test_drift_healing.py runs the same through the
whole system.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chainwatch.drift.monitor import DecisionMonitor
from chainwatch.drift.settings import DriftSettings
from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.recorded import read_records, resolve_files
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.service import build_cascade
from chainwatch.scorer.settings import ScorerSettings
from chainwatch.shared.drift import DriftKind
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction

pytestmark = pytest.mark.data

ERA_FILES = (
    "block277647",
    "mempool_api/derived/block540107_txs_esplora_like.jsonl.gz",
    "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz",
    "fixtures",
)


def _raw(data_dir: Path, files: str) -> list[RawTransaction]:
    found, now = [], datetime.now(UTC)
    for record in read_records(resolve_files(data_dir, [files]), data_dir):
        try:
            tx = normalise(record.payload)
        except NormaliseError:
            continue
        found.append(RawTransaction(source=record.file_label, observed_at=now, tx=tx))
    return found


def _decide(data_dir: Path, raws: list[RawTransaction]) -> list[ScoredTransaction]:
    """The scorer's decisions, in batches of 64 as a busy scorer would take them."""

    async def run() -> list[ScoredTransaction]:
        tracker = ExposureTracker(LabelBook(data_dir), MemoryTaintStore(1_000_000))
        cascade = build_cascade(ScorerSettings())
        decisions: list[ScoredTransaction] = []
        for start in range(0, len(raws), 64):
            batch = raws[start : start + 64]
            exposures = await tracker.assess([r.tx for r in batch])
            decisions.extend(cascade.decide_batch(batch, exposures))
        return decisions

    return asyncio.run(run())


@pytest.fixture(scope="module")
def eras(data_dir: Path) -> list[list[RawTransaction]]:
    seen: set[str] = set()
    eras = []
    for files in ERA_FILES:
        era = [r for r in _raw(data_dir, files) if r.tx.txid not in seen]
        seen.update(r.tx.txid for r in era)
        eras.append(era)
    return eras


def _events(decisions: list[ScoredTransaction]) -> list[tuple[int, DriftKind, list[str]]]:
    monitor = DecisionMonitor(DriftSettings())
    found = []
    for seq, decision in enumerate(decisions, start=1):
        for event in monitor.observe(decision, seq).events:
            found.append((seq, event.kind, event.subjects))
    return found


def test_era_order_fires_right_after_the_2018_boundary_naming_script_features(
    data_dir: Path, eras: list[list[RawTransaction]]
) -> None:
    rng = random.Random(0)
    ordered = [tx for era in eras for tx in rng.sample(era, len(era))]  # shuffled within eras
    boundary_2018 = len(eras[0]) + 1

    events = _events(_decide(data_dir, ordered))

    feature_events = [(seq, subjects) for seq, kind, subjects in events if kind == "feature"]
    assert feature_events
    seq, subjects = feature_events[0]
    assert boundary_2018 <= seq < boundary_2018 + 100
    assert any(s.startswith("in_share_") for s in subjects)


def test_the_same_transactions_shuffled_fire_nothing(
    data_dir: Path, eras: list[list[RawTransaction]]
) -> None:
    everything = [tx for era in eras for tx in era]
    shuffled = random.Random(3).sample(everything, len(everything))

    assert _events(_decide(data_dir, shuffled)) == []
