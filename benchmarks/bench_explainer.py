"""Explanations per second on real transactions: exact TreeSHAP, the template path, the service.

The transactions are the recorded real ones of blocks 277,647, 540,107 and 574,200 (about
3,760). The scorer's cascade decides them with an XGBoost champion of production size (200
trees of depth 6) trained on their own feature rows against a weak label (a typology or
exposure rule fired), so that a realistic share is flagged and the batch tier decides. Then:

1. **TreeSHAP**: the attribution of every flagged decision (exact TreeSHAP of the model that
   decided, log-odds and probability terms, top contributions), in batches of ``--batch``.
2. **Template path, in process**: attribution, evidence document, template narrative, the
   wire message and its JSON, per batch; no Claude key, as on a fresh machine.
3. **Service**: the explainer's consumer over a real nats-server and PostgreSQL (the
   decisions' audit rows written first, as the scorer does): from publishing the flagged
   decisions on ``chainwatch.tx.scored`` to the last ``chainwatch.tx.explained`` arriving,
   each explanation stored in ``audit_explanation`` on the way.

With no Claude key the narrative costs microseconds; with Claude, narratives are bounded by
the API's latency and the concurrency limit, and the batch budget turns any excess into
template narratives, so the service's rate here is also its floor with Claude configured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xgboost as xgb

from chainwatch.devstack.servers import NatsServer, scratch_database, temporary_postgres
from chainwatch.explainer.attributor import Attributor, feature_rows
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.narrator import Narrator
from chainwatch.explainer.service import Explainer
from chainwatch.explainer.settings import ExplainerSettings
from chainwatch.ingest.normalise import normalise
from chainwatch.scorer.audit import write_decisions
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade, ServingModels
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.models import load_batch_model
from chainwatch.shared import bus, db, subjects
from chainwatch.shared.features import FEATURE_NAMES, FEATURE_SET_VERSION
from chainwatch.shared.model_store import FilesystemStore
from chainwatch.shared.registry import MODEL_CHAMPION
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction, Transaction
from chainwatch.shared.settings import DatabaseSettings, NatsSettings

VERSION = "bench-xgb-1"


def load_transactions(data_dir: Path) -> list[Transaction]:
    derived = data_dir / "mempool_api/derived"
    records = json.loads((derived / "block277647_txs_with_prevouts.json").read_text())
    for name in ("block540107_txs_esplora_like.jsonl.gz", "block574200_txs_esplora_like.jsonl.gz"):
        with gzip.open(derived / name, "rt") as lines:
            records.extend(json.loads(line) for line in lines)
    return [normalise(r) for r in records]


async def decide(data_dir: Path, store: FilesystemStore) -> list[ScoredTransaction]:
    """The real transactions decided by the cascade with a freshly trained XGBoost serving."""
    txs = load_transactions(data_dir)
    exposures = await ExposureTracker(LabelBook(data_dir), MemoryTaintStore()).assess(txs)
    observed_at = datetime.now(UTC)
    raws = [RawTransaction(source="bench", observed_at=observed_at, tx=tx) for tx in txs]
    cascade = Cascade(HeuristicTier(), RiskBands())
    rules = cascade.decide_batch(raws, exposures)

    labels = np.array([float(bool(d.rule_hits)) for d in rules])
    params = {"objective": "binary:logistic", "max_depth": 6, "seed": 7, "nthread": 2}
    booster = xgb.train(params, xgb.DMatrix(feature_rows(rules), labels, missing=np.nan), 200)
    card = {
        "name": MODEL_CHAMPION,
        "version": VERSION,
        "framework": "xgboost",
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold": 0.5,
        "trained_at": datetime.now(UTC).isoformat(),
        "data_window": {},
        "label_sources": {"rules (weak)": len(labels)},
        "metrics": {},
        "metrics_by_label_source": {},
    }
    files = {"model.json": bytes(booster.save_raw("json"))}
    await store.put_version(MODEL_CHAMPION, VERSION, files, card)
    loaded = await store.get_version(MODEL_CHAMPION, VERSION)
    cascade.models = ServingModels(champion=load_batch_model(MODEL_CHAMPION, VERSION, loaded))
    decided = cascade.decide_batch(raws, exposures)
    return [ScoredTransaction.model_validate_json(d.model_dump_json()) for d in decided]


def batches(items: list[ScoredTransaction], size: int) -> Iterator[list[ScoredTransaction]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def bench_in_process(
    flagged: list[ScoredTransaction], store: FilesystemStore, batch: int
) -> dict[str, float]:
    attributor = Attributor(ModelCache(store))
    await attributor.explain(flagged[:1])  # load the model outside the timing

    started = time.perf_counter()
    for chunk in batches(flagged, batch):
        await attributor.explain(chunk)
    shap_s = time.perf_counter() - started

    explainer = Explainer(ExplainerSettings(), None, None, attributor, Narrator(None))  # type: ignore[arg-type]
    started = time.perf_counter()
    for chunk in batches(flagged, batch):
        deliveries = [bus.Delivery(d, d.txid, n, 1) for n, d in enumerate(chunk)]
        hashes = {d.txid: b"\x00" * 32 for d in chunk}
        for message in await explainer.explain(deliveries, hashes):
            bus.encode(message)
    template_s = time.perf_counter() - started
    return {
        "treeshap_explanations_s": round(len(flagged) / shap_s),
        "template_path_explanations_s": round(len(flagged) / template_s),
    }


async def bench_service(
    decisions: list[ScoredTransaction],
    store: FilesystemStore,
    batch: int,
    nats_url: str,
    database_url: str,
) -> dict[str, float]:
    pool = await db.create_pool(DatabaseSettings(url=database_url))
    await db.migrate(pool)
    nc = await bus.connect(NatsSettings(url=nats_url), "bench")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    await write_decisions(pool, decisions, list(range(len(decisions))))
    flagged = [d for d in decisions if d.flagged]

    arrived: set[str] = set()
    all_in = asyncio.Event()

    async def on_explained(msg: object) -> None:
        arrived.add(json.loads(msg.data)["txid"])  # type: ignore[attr-defined]
        if len(arrived) >= len(flagged):
            all_in.set()

    await nc.subscribe(subjects.TX_EXPLAINED, cb=on_explained)
    settings = ExplainerSettings(batch_size=batch)
    attributor = Attributor(ModelCache(store))
    explainer = Explainer(settings, js, pool, attributor, Narrator(None))
    stop = asyncio.Event()
    consumer = asyncio.create_task(explainer.run(stop))
    try:
        started = time.perf_counter()
        for chunk in batches(decisions, 512):
            await bus.publish_batch(js, subjects.TX_SCORED, [(d, d.txid) for d in chunk])
        await asyncio.wait_for(all_in.wait(), timeout=len(flagged) / 20 + 60)
        elapsed_s = time.perf_counter() - started
        stored = await pool.fetchval("SELECT count(*) FROM audit_explanation")
    finally:
        stop.set()
        await consumer
        await nc.drain()
        await pool.close()
    return {
        "service_explanations_s": round(len(flagged) / elapsed_s),
        "service_decisions_consumed_s": round(len(decisions) / elapsed_s),
        "audit_explanation_rows": stored,
    }


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A scratch database on DATABASE_URL's server, else on an embedded server."""
    server = os.environ.get("DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if not server:
            server = stack.enter_context(temporary_postgres("chainwatch-bench-pg-"))
        yield stack.enter_context(scratch_database(server, "chainwatch_bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CHAINWATCH_DATA_DIR", "../shared/data")),
    )
    parser.add_argument("--batch", type=int, default=256, help="decisions per explainer batch")
    parser.add_argument("--no-service", action="store_true", help="skip the NATS+Postgres run")
    args = parser.parse_args()
    if not (args.data_dir / "PROVENANCE.md").exists():
        print(f"recorded data not found in {args.data_dir}; set CHAINWATCH_DATA_DIR")  # noqa: T201
        return 1

    with tempfile.TemporaryDirectory(prefix="chainwatch-bench-explainer-") as tmp:
        store = FilesystemStore(Path(tmp) / "models")
        decisions = asyncio.run(decide(args.data_dir, store))
        flagged = [d for d in decisions if d.flagged]
        figures: dict[str, object] = {
            "transactions": len(decisions),
            "flagged": len(flagged),
            "flag_share": round(len(flagged) / len(decisions), 3),
            "batch": args.batch,
            "model": "xgboost 200 trees, depth 6",
            **asyncio.run(bench_in_process(flagged, store, args.batch)),
        }
        if not args.no_service:
            with database() as database_url:
                nats = NatsServer(Path(tmp) / "nats").start()
                try:
                    figures |= asyncio.run(
                        bench_service(decisions, store, args.batch, nats.url, database_url)
                    )
                finally:
                    nats.stop()
    python = sys.version.split()[0]
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} cpus, Python {python}"
    for key, value in figures.items():
        print(f"{key:32} {value}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
