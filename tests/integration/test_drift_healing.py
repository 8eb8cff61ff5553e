"""Drift on a real era change, end to end, and none on the same transactions shuffled.

The whole loop runs on real recorded transactions: ingest replays them onto the bus, a
scorer process decides, the drift service compares, asks for retraining, the trainer's
own sensor and job (ticked here as dagster-daemon would tick them) train and promote, and
the scorer serves the new champion. Each test has a NATS server and a database of its own.

Era order is block 277,647 (2013), block 540,107 (2018), block 574,200 (2019), then the
recent mempool.space fixtures. Within an era the replay is shuffled (seeded): a block lists
its transactions in the miner's order (fee rate, packages, one service's batch after
another), which is not the order a mempool receives them in, and a 200-decision window of
that listing is unlike the block as a whole (docs/drift.md shows what that does).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus, subjects
from chainwatch.shared.features import FEATURE_NAMES
from chainwatch.shared.registry import MODEL_CHAMPION, FilesystemStore, RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, DataSettings, NatsSettings
from chainwatch.trainer.definitions import build_definitions
from chainwatch.trainer.retrain import WINDOW_TAG
from chainwatch.trainer.settings import TrainerSettings

ERAS = (
    ("2013", "block277647", 120.0),
    ("2018", "mempool_api/derived/block540107_txs_esplora_like.jsonl.gz", 120.0),
    ("2019", "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz", 80.0),
    ("recent", "fixtures", 40.0),
)
"""Era, files, replay rate (transactions per second). 2019 is long enough for a training run
to finish while it plays, so the new champion's first decisions can be seen."""
SCRIPT_AND_FEE = {
    name
    for name in FEATURE_NAMES
    if name.startswith(("in_share_", "out_share_", "segwit_", "witness_", "fee_"))
}
"""The features of the script-type mix and the fee rate: what really changes between eras."""
COOLDOWN_S = 15
"""Short enough for the 2019 era (about 40 s here) to see a deferred request go out."""
AFTER_DECISIONS = 100
"""Decisions of the new world to wait for before asking: 2018 has only 230 transactions."""
REPORT = Path(__file__).resolve().parents[2] / "test-artifacts" / "drift_eras.json"

pytestmark = pytest.mark.data


@dataclass
class System:
    """The servers and settings one scenario shares between its processes."""

    nats_url: str
    database_url: str
    data_dir: Path
    registry_root: Path
    logs: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "CHAINWATCH_NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "CHAINWATCH_DATA_DIR": str(self.data_dir),
            "CHAINWATCH_REGISTRY_BACKEND": "fs",
            "CHAINWATCH_REGISTRY_ROOT": str(self.registry_root),
            "CHAINWATCH_LOG_LEVEL": "INFO",
            **extra,
        }

    def start(self, name: str, module: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append((name, process))
        return process

    def replay(self, files: str, *, seed: int, rate_tx_s: float) -> None:
        """Run ingest's replay of ``files`` (shuffled with ``seed``) to its end."""
        ingest = self.start(
            "ingest",
            "chainwatch.ingest",
            CHAINWATCH_INGEST_MODE="replay",
            CHAINWATCH_INGEST_REPLAY_FILES=files,
            CHAINWATCH_INGEST_REPLAY_ORDER="shuffled",
            CHAINWATCH_INGEST_REPLAY_SEED=str(seed),
            CHAINWATCH_INGEST_REPLAY_RATE_TX_S=str(rate_tx_s),
            CHAINWATCH_INGEST_HEALTH_ENABLED="false",
        )
        assert ingest.wait(timeout=120) == 0, self.log_tail("ingest")

    def log_tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def system(fresh_database_url: str, data_dir: Path, tmp_path: Path) -> Iterator[System]:
    nats = NatsServer(tmp_path / "nats").start()
    logs = tmp_path / "logs"
    logs.mkdir()
    running = System(nats.url, fresh_database_url, data_dir, tmp_path / "models", logs)
    try:
        yield running
    finally:
        running.stop()
        nats.stop()


async def _start_scorer_and_drift(system: System, nc: NATS) -> None:
    """Start both and wait until each consumes (importing River takes seconds)."""
    system.start("scorer", "chainwatch.scorer", CHAINWATCH_SCORER_HEALTH_PORT="0")
    system.start(
        "drift",
        "chainwatch.drift",
        CHAINWATCH_DRIFT_HEALTH_PORT="0",
        CHAINWATCH_DRIFT_RETRAIN_COOLDOWN_S=str(COOLDOWN_S),
        CHAINWATCH_DRIFT_RETRAIN_AFTER_DECISIONS=str(AFTER_DECISIONS),
        CHAINWATCH_DRIFT_RETRAIN_POLL_S="1",
        CHAINWATCH_DRIFT_RETRAIN_TIMEOUT_S="150",
    )
    js = nc.jetstream()
    consumers = ((subjects.TX_RAW_STREAM.name, "scorer"), (subjects.TX_SCORED_STREAM.name, "drift"))

    async def consuming() -> bool:
        for stream, durable in consumers:
            try:
                await js.consumer_info(stream, durable)
            except nats.js.errors.NotFoundError:
                return False
        return True

    await _wait_for(consuming, 90)


class TrainerDaemon(threading.Thread):
    """What dagster-daemon does for the trainer: tick its retrain sensor, run what it asks.

    The trainer's own definitions, sensor and job; runs execute in this thread, one at a
    time, on an ephemeral Dagster instance.
    """

    def __init__(self, settings: TrainerSettings) -> None:
        super().__init__(name="trainer-daemon", daemon=True)
        definitions = build_definitions(settings)
        self.sensor = definitions.resolve_sensor_def("retrain_on_request")
        self.job = definitions.resolve_job_def("screening_training")
        self.stop = threading.Event()
        self.runs: list[dict[str, Any]] = []
        self.busy = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with dg.DagsterInstance.ephemeral() as instance:
                cursor: str | None = None
                while not self.stop.wait(0.5):
                    context = dg.build_sensor_context(instance=instance, cursor=cursor)
                    result = self.sensor(context)
                    assert isinstance(result, dg.SensorResult)
                    cursor = result.cursor
                    for request in result.run_requests or []:
                        self.busy = True
                        started = time.monotonic()
                        run = self.job.execute_in_process(
                            run_config=request.run_config,
                            instance=instance,
                            tags=request.tags,
                            raise_on_error=False,
                        )
                        self.runs.append(
                            {
                                "success": run.success,
                                "seconds": time.monotonic() - started,
                                "window": request.tags.get(WINDOW_TAG),
                            }
                        )
                        self.busy = False
        except BaseException as exc:  # reported by the test, which would otherwise wait
            self.error = exc


def _trainer(system: System) -> TrainerDaemon:
    settings = TrainerSettings(
        replay_files=["all"],
        nats=NatsSettings(url=system.nats_url, connect_attempts=3),
        database=DatabaseSettings(url=system.database_url),
        data=DataSettings(data_dir=system.data_dir),
        registry=RegistrySettings(backend="fs", root=system.registry_root),
    )
    return TrainerDaemon(settings)


async def _wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"condition not met in {timeout_s}s")


async def _drift_caught_up(nc: NATS, expected: int) -> bool:
    """Every decision scored and seen by the drift service."""
    js = nc.jetstream()
    scored = (await js.stream_info(subjects.TX_SCORED_STREAM.name)).state.messages
    if scored < expected:
        return False
    consumer = await js.consumer_info(subjects.TX_SCORED_STREAM.name, "drift")
    return bool(consumer.num_pending == 0 and consumer.num_ack_pending == 0)


async def _decisions(nc: NATS) -> list[dict[str, Any]]:
    """Every decision on chainwatch.tx.scored: its sequence, source, time, models."""
    js = nc.jetstream()
    info = await js.stream_info(subjects.TX_SCORED_STREAM.name)
    sub = await js.pull_subscribe(subjects.TX_SCORED, stream=subjects.TX_SCORED_STREAM.name)
    found: list[dict[str, Any]] = []
    while len(found) < info.state.messages:
        for msg in await sub.fetch(1000, timeout=5):
            body = json.loads(msg.data)
            found.append(
                {
                    "seq": msg.metadata.sequence.stream,
                    "source": body["source"],
                    "decided_at": datetime.fromisoformat(body["decided_at"]),
                    "batch": body["model_versions"].get("batch"),
                }
            )
            await msg.ack()
    await sub.unsubscribe()
    return sorted(found, key=lambda d: d["seq"])


def _era_of(source: str) -> str:
    for era, files, _ in ERAS[:3]:
        if files.split("/")[-1].split("_")[0] in source:
            return era
    return "recent"


def _summaries(events: list[asyncpg.Record]) -> list[str]:
    return [
        f"{e['first_seq']}-{e['last_seq']} vs {e['reference_id']}: {e['summary']}" for e in events
    ]


async def _published_count(nc: NATS) -> int:
    return int((await nc.jetstream().stream_info(subjects.TX_RAW_STREAM.name)).state.messages)


async def test_era_changes_fire_drift_retrain_and_a_new_model_serves(system: System) -> None:
    nc = await bus.connect(NatsSettings(url=system.nats_url, connect_attempts=3), "test-drift")
    pool = await asyncpg.create_pool(system.database_url)
    trainer = _trainer(system)
    try:
        await bus.ensure_streams(nc.jetstream())
        await _start_scorer_and_drift(system, nc)
        trainer.start()
        for seed, (_, files, rate_tx_s) in enumerate(ERAS):
            system.replay(files, seed=seed, rate_tx_s=rate_tx_s)
        total = await _published_count(nc)

        async def settled() -> bool:
            assert trainer.error is None, trainer.error
            if not await _drift_caught_up(nc, total) or trainer.busy:
                return False
            open_requests = await pool.fetchval(
                "SELECT count(*) FROM drift_retrain r WHERE step = 'requested' AND NOT EXISTS "
                "(SELECT 1 FROM drift_retrain c WHERE c.request_id = r.request_id "
                "AND c.step IN ('promoted', 'refused', 'timed_out'))"
            )
            return bool(open_requests == 0)

        await _wait_for(settled, 150)
        decisions = await _decisions(nc)
        events = await pool.fetch("SELECT * FROM drift_event ORDER BY last_seq")
        steps = await pool.fetch("SELECT * FROM drift_retrain ORDER BY id")
        references = await pool.fetch("SELECT * FROM drift_reference ORDER BY id")
        checks = await pool.fetch("SELECT * FROM drift_check WHERE kind = 'feature' ORDER BY id")
    finally:
        trainer.stop.set()
        trainer.join(timeout=120)
        await pool.close()
        await nc.drain()

    by_seq = {d["seq"]: d for d in decisions}
    boundaries: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        boundaries.setdefault(_era_of(decision["source"]), decision)
    feature_events = [e for e in events if e["kind"] == "feature"]
    assert feature_events, system.log_tail("drift")

    # Drift fires where the world changed and only there: every feature event's window
    # holds decisions of other eras than its reference (the bootstrap, or the newest rows
    # of the serving model's data set), and each era change is detected (2013 -> 2018
    # against the bootstrap, the later ones against the model serving then).
    def eras_of(first_seq: int, last_seq: int) -> set[str]:
        # One decision per transaction, in the order ingest published them: a decision's
        # sequence on tx.scored is its transaction's sequence on tx.raw.
        return {_era_of(by_seq[s]["source"]) for s in range(first_seq, last_seq + 1)}

    store = FilesystemStore(system.registry_root)
    reference_eras = {}
    for reference in references:
        if reference["source"] == "bootstrap":
            span = (reference["first_seq"], reference["last_seq"])
        else:
            card = (await store.get_version(MODEL_CHAMPION, reference["model_version"])).card
            last = int(card["data_source"].split("sequences ")[1].split("-")[1].split(",")[0])
            span = (last - reference["row_count"] + 1, last)
        reference_eras[reference["reference_id"]] = eras_of(*span)
    for event in feature_events:
        window = eras_of(event["first_seq"], event["last_seq"])
        assert window != reference_eras[event["reference_id"]], f"no change: {event['summary']}"
    delays: dict[str, dict[str, Any]] = {}
    for era in ("2018", "2019", "recent"):
        start = boundaries[era]
        later = [e for e in feature_events if e["last_seq"] >= start["seq"]]
        assert later, f"no drift event from the {era} era on: {_summaries(events)}"
        first = later[0]
        assert _era_of(by_seq[first["last_seq"]]["source"]) == era, first["summary"]
        delays[era] = {
            "transactions": first["last_seq"] - start["seq"] + 1,
            "seconds": (first["detected_at"] - start["decided_at"]).total_seconds(),
            "features": list(first["subjects"]),
            "reference": first["reference_id"],
            "event_id": first["event_id"],
        }
    assert delays["2018"]["reference"] == "bootstrap:1-150"
    assert delays["2019"]["reference"].startswith("card:")
    assert delays["recent"]["reference"].startswith("card:")

    # The first two era changes asked for retraining, script-type or fee features moving:
    # 2018 at once; 2019 (against the model retrained on the start of 2018) when it had
    # grown past the policy and no guard held it back: a drift held back by the cool-down
    # is deferred and asked for when the cool-down ends if it persists. One request at a
    # time, at least the cool-down apart, each answered by one successful trainer run that
    # promoted a new champion.
    requested = [s for s in steps if s["step"] == "requested"]
    assert requested[0]["event_id"] == delays["2018"]["event_id"]
    for era in ("2018", "2019"):
        # The era's drift against that reference: its first event, or a later one if the
        # drift cleared for a check and came back.
        era_events = {
            e["event_id"]
            for e in feature_events
            if e["reference_id"] == delays[era]["reference"]
            and _era_of(by_seq[e["last_seq"]]["source"]) == era
        }
        asked = [s for s in steps if s["event_id"] in era_events]
        assert [s["step"] for s in asked if s["step"] != "suppressed"][:1] == ["requested"], (
            era,
            [dict(s) for s in steps],
            _summaries(events),
        )
        # What drifted against that reference while the era played: script types or fees
        # among it (a reason names only the strongest five).
        moved = {
            name
            for c in checks
            if c["drifted"] and c["reference_id"] == delays[era]["reference"]
            and _era_of(by_seq[c["last_seq"]]["source"]) == era
            for name in c["drifted_subjects"]
        }  # fmt: skip
        assert moved & SCRIPT_AND_FEE, sorted(moved)
        if asked[0]["step"] == "suppressed":
            assert "cool-down" in asked[0]["detail"] and "deferred" in asked[0]["detail"]
    assert len(trainer.runs) == len(requested) and all(r["success"] for r in trainer.runs)
    outcomes = {(s["request_id"], s["step"]): s for s in steps if s["request_id"] is not None}
    for earlier, later in itertools.pairwise(requested):
        assert (later["at"] - earlier["at"]).total_seconds() >= COOLDOWN_S
        assert outcomes[(earlier["request_id"], "promoted")]["at"] < later["at"]
    promoted = [outcomes[(r["request_id"], "promoted")]["model_version"] for r in requested]
    for version in promoted[:2]:
        assert any(d["batch"] == version for d in decisions), f"{version} never served"
    assert references[0]["source"] == "bootstrap"
    assert {r["model_version"] for r in references if r["source"] == "card"} == set(promoted)

    # Each model was trained on the recent window its request named, read back from the
    # stream (not the trainer's configured files): everything that had arrived when its
    # run started, so each learned more of the new era than the one before.
    trained_on = []
    for request, version in zip(requested, promoted, strict=True):
        assert "training on transactions arrived from" in request["detail"]
        source = (await store.get_version(MODEL_CHAMPION, version)).card["data_source"]
        assert source.startswith("stream CHAINWATCH_TX_RAW: "), source
        trained_on.append(int(source.split(": ")[1].split(" ")[0]))
    assert trained_on == sorted(trained_on) and trained_on[-1] <= len(decisions)
    assert trained_on[0] >= boundaries["2018"]["seq"] + AFTER_DECISIONS
    assert trained_on[1] >= boundaries["2019"]["seq"] + AFTER_DECISIONS

    served = {s["request_id"]: s for s in steps if s["step"] == "serving"}
    report = {
        "decisions": len(decisions),
        "era_boundaries": {era: d["seq"] for era, d in boundaries.items()},
        "detection": delays,
        "events": [
            {
                "kind": e["kind"],
                "window": [e["first_seq"], e["last_seq"]],
                "reference": e["reference_id"],
                "reference_eras": sorted(reference_eras.get(e["reference_id"], ())),
                "summary": e["summary"],
            }
            for e in events
        ],
        "retraining": [
            {"request_id": s["request_id"], "step": s["step"], "at": s["at"], "detail": s["detail"]}
            for s in steps
        ],
        "requests": [
            {
                "event_id": r["event_id"],
                "trained_on_transactions": rows,
                "request_to_promotion_s": (
                    outcomes[(r["request_id"], "promoted")]["at"] - r["at"]
                ).total_seconds(),
                "request_to_serving_s": (
                    (served[r["request_id"]]["at"] - r["at"]).total_seconds()
                    if r["request_id"] in served
                    else None
                ),
            }
            for r, rows in zip(requested, trained_on, strict=True)
        ],
        "trainer_runs": trainer.runs,
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, default=str))


async def test_the_same_transactions_shuffled_do_not_fire(system: System) -> None:
    nc = await bus.connect(NatsSettings(url=system.nats_url, connect_attempts=3), "test-drift")
    pool = await asyncpg.create_pool(system.database_url)
    try:
        await bus.ensure_streams(nc.jetstream())
        await _start_scorer_and_drift(system, nc)
        system.replay("all", seed=11, rate_tx_s=0)
        total = await _published_count(nc)
        await _wait_for(lambda: _drift_caught_up(nc, total), 120)
        events = await pool.fetch("SELECT kind, summary FROM drift_event")
        steps = await pool.fetchval("SELECT count(*) FROM drift_retrain")
        checks = await pool.fetchval("SELECT count(*) FROM drift_check WHERE kind = 'feature'")
    finally:
        await pool.close()
        await nc.drain()

    assert total > 3800
    assert checks >= (total - 200) // 50
    assert [dict(e) for e in events] == []
    assert steps == 0
