"""Retraining on a recent window: what arrived on chainwatch.tx.raw in it, and nothing else.

Real transactions are published in two eras a second apart — block 277,647 (2013), then
block 540,107 (2018, in a shuffled arrival order) with a malformed message and a repeated
transaction among them — on a
NATS server of this module's own, so the stream holds only what the tests put there.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import TransientError
from chainwatch.shared.registry import MODEL_CHAMPION, RegistrySettings, current_version
from chainwatch.shared.retraining import RetrainRequest, TrainingWindow, request_retraining
from chainwatch.shared.schemas import RawTransaction, Transaction
from chainwatch.shared.settings import DataSettings, NatsSettings
from chainwatch.trainer import __main__ as trainer_cli
from chainwatch.trainer.dataset import LoadedTransactions, RecordedTransactions
from chainwatch.trainer.definitions import build_definitions
from chainwatch.trainer.recent import EmptyWindowError, StreamTransactions
from chainwatch.trainer.retrain import TRIGGER_TAG, WINDOW_TAG, requested_window
from chainwatch.trainer.settings import TrainerSettings

pytestmark = pytest.mark.data

OLD_ERA = "block277647"
NEW_ERA = "mempool_api/derived/block540107_txs_esplora_like.jsonl.gz"


@dataclass(frozen=True)
class Published:
    nats: NatsSettings
    old: list[str]
    new: list[str]
    started: datetime
    boundary: datetime


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsSettings]:
    server = NatsServer(tmp_path_factory.mktemp("nats-window")).start()
    yield NatsSettings(url=server.url, connect_attempts=3)
    server.stop()


@pytest.fixture(scope="module")
async def published(own_nats: NatsSettings, data_dir: Path) -> AsyncIterator[Published]:
    old = [t.tx for t in RecordedTransactions(data_dir, [OLD_ERA]).load().txs]
    new = [t.tx for t in RecordedTransactions(data_dir, [NEW_ERA]).load().txs]
    random.Random(5).shuffle(new)  # a mempool's arrival order, not the miner's block order
    nc = await bus.connect(own_nats, "test-window")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    started = datetime.now(UTC)
    await bus.publish_batch(js, subjects.TX_RAW, [_raw(tx) for tx in old])
    await asyncio.sleep(1.2)  # windows select by arrival time, which the stream keeps in ns
    boundary = datetime.now(UTC)
    await asyncio.sleep(0.1)
    await bus.publish_batch(js, subjects.TX_RAW, [_raw(tx) for tx in new[:100]])
    await js.publish(subjects.TX_RAW, b'{"tx": {"txid": "not a transaction"}}')
    again, _ = _raw(new[0])
    await bus.publish(js, subjects.TX_RAW, again, msg_id=f"{new[0].txid}-again")
    await bus.publish_batch(js, subjects.TX_RAW, [_raw(tx) for tx in new[100:]])
    yield Published(own_nats, [tx.txid for tx in old], [tx.txid for tx in new], started, boundary)
    await nc.drain()


def _raw(tx: Transaction) -> tuple[RawTransaction, str]:
    """What ingest publishes for ``tx``, and its message id."""
    return RawTransaction(source="replay:test", observed_at=datetime.now(UTC), tx=tx), tx.txid


def _txids(loaded: LoadedTransactions) -> list[str]:
    return [t.tx.txid for t in loaded.txs]


async def test_a_window_holds_what_arrived_in_it_in_arrival_order(published: Published) -> None:
    source = StreamTransactions(published.nats)

    recent = await asyncio.to_thread(source.load, TrainingWindow(start=published.boundary))
    earlier = await asyncio.to_thread(
        source.load, TrainingWindow(start=published.started, end=published.boundary)
    )

    assert _txids(recent) == published.new
    assert recent.skipped == {"undecodable": 1, "duplicate": 1}
    assert all(t.time_ts >= int(published.boundary.timestamp()) for t in recent.txs)
    assert recent.description.startswith(f"stream CHAINWATCH_TX_RAW: {len(published.new)} ")
    assert _txids(earlier) == published.old and earlier.skipped == {}


async def test_only_the_newest_are_kept_beyond_the_cap(published: Published) -> None:
    capped = StreamTransactions(published.nats, max_transactions=50)

    loaded = await asyncio.to_thread(capped.load, TrainingWindow(start=published.boundary))

    assert _txids(loaded) == published.new[-50:]
    # Read from the 50th newest message on: the others, the malformed message and the
    # repeat among them, are counted as beyond the cap without being decoded.
    assert loaded.skipped == {"beyond_cap": len(published.new) + 2 - 50}
    assert "only the newest 50 kept" in loaded.description


async def test_a_window_with_nothing_in_it_is_refused_with_the_reason(
    published: Published,
) -> None:
    later = TrainingWindow(start=datetime.now(UTC) + timedelta(hours=1))

    with pytest.raises(EmptyWindowError, match="no transaction in CHAINWATCH_TX_RAW arrived"):
        await asyncio.to_thread(StreamTransactions(published.nats).load, later)


async def test_a_stalled_read_waits_a_pause_out_and_fails_rather_than_train_on_part(
    data_dir: Path, tmp_path: Path
) -> None:
    server = NatsServer(tmp_path / "nats").start()
    assert server.process is not None
    settings = NatsSettings(url=server.url, connect_attempts=3)
    txs = [t.tx for t in RecordedTransactions(data_dir, [NEW_ERA]).load().txs]
    nc = await bus.connect(settings, "test-stall")

    async def read_while_frozen(frozen_s: float, max_stalls: int) -> LoadedTransactions:
        # One message per fetch, so the read is still going when the server freezes.
        slow = StreamTransactions(
            settings, batch_size=1, fetch_timeout_s=0.3, max_stalls=max_stalls
        )
        window = TrainingWindow(start=datetime.now(UTC) - timedelta(minutes=5))
        reading = asyncio.create_task(asyncio.to_thread(slow.load, window))
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(frozen_s)
        finally:
            server.process.send_signal(signal.SIGCONT)
        return await asyncio.wait_for(reading, 60)

    try:
        await bus.ensure_streams(nc.jetstream())
        # Ten copies under distinct message ids: 2,300 messages to read one by one.
        copies = [(_raw(tx)[0], f"{tx.txid}-{n}") for n in range(10) for tx in txs]
        await bus.publish_batch(nc.jetstream(), subjects.TX_RAW, copies)

        paused = await read_while_frozen(frozen_s=0.5, max_stalls=10)
        assert _txids(paused) == [tx.txid for tx in txs]
        assert paused.skipped == {"duplicate": 9 * len(txs)}
        with pytest.raises(TransientError, match="CHAINWATCH_TX_RAW"):
            await read_while_frozen(frozen_s=4.0, max_stalls=2)
    finally:
        await nc.close()
        server.stop()


def test_the_run_trains_on_the_union_of_the_requested_windows() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    audit_window = TrainingWindow(start=t0 + timedelta(days=1), end=t0 + timedelta(days=2))
    closed = RetrainRequest(requested_by="operator", reason="audit", window=audit_window)
    open_ended = RetrainRequest(
        requested_by="drift", reason="drift", window=TrainingWindow(start=t0 + timedelta(days=3))
    )
    plain = RetrainRequest(requested_by="schedule", reason="weekly")

    assert requested_window([plain]) is None
    assert requested_window([closed, plain]) == closed.window
    assert requested_window([closed, open_ended]) == TrainingWindow(start=audit_window.start)
    with pytest.raises(ValueError, match="end after it starts"):
        TrainingWindow(start=t0, end=t0)
    for number in (1733011200, "20261201"):  # Unix time to pydantic, rarely what was meant
        with pytest.raises(ValueError, match="not a number"):
            TrainingWindow.model_validate({"start": number})


async def test_a_drift_request_trains_the_new_model_on_its_window(
    published: Published, data_dir: Path, tmp_path: Path
) -> None:
    settings = TrainerSettings(
        replay_files=[OLD_ERA],  # the configured data: a windowed run must not read it
        ledger=False,
        nats=published.nats,
        data=DataSettings(data_dir=data_dir),
        registry=RegistrySettings(backend="fs", root=tmp_path / "models"),
    )
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("retrain_on_request")
    job = definitions.resolve_job_def("screening_training")
    nc = await bus.connect(published.nats, "test-window-request")
    window = TrainingWindow(start=published.boundary)
    await request_retraining(
        nc.jetstream(), RetrainRequest(requested_by="drift", reason="era change", window=window)
    )

    def tick_and_run() -> dg.ExecuteInProcessResult:
        with dg.DagsterInstance.ephemeral() as instance:
            result = sensor(dg.build_sensor_context(instance=instance))
            assert isinstance(result, dg.SensorResult)
            [request] = result.run_requests or []
            assert request.tags[TRIGGER_TAG] == "drift"
            assert request.tags[WINDOW_TAG] == window.describe()
            return job.execute_in_process(
                run_config=request.run_config,
                tags=request.tags,
                instance=instance,
                raise_on_error=False,
            )

    try:
        run = await asyncio.to_thread(tick_and_run)
        serving = await current_version(nc.jetstream(), MODEL_CHAMPION)
    finally:
        await nc.drain()

    gates = {c.check_name: c for c in run.get_asset_check_evaluations()}
    assert gates["xgb_promotion_gate"].passed, gates["xgb_promotion_gate"].description
    assert run.success
    loaded = run.output_for_node("screening_transactions")
    assert _txids(loaded) == published.new
    candidate = run.output_for_node("xgb_candidate")
    card = candidate.card
    assert card["data_source"] == loaded.description
    assert card["data_source"].startswith("stream CHAINWATCH_TX_RAW")
    boundary_ts = published.boundary.replace(microsecond=0)
    for part in ("train", "validation", "held_out"):
        assert datetime.fromisoformat(card["data_window"][part]["from"]) >= boundary_ts
    assert card["data_window"]["held_out"]["positives"] >= 5
    assert serving == candidate.version


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["train", "--until", "2026-12-02T00:00Z"], "--until needs --since"),
        (["train", "--since", "last tuesday"], "not a training window"),
        (["train", "--since", "2026-12-02T00:00"], "not a training window"),  # no zone
        (["train", "--since", "2026"], "not a number"),  # not the year: Unix time 2026
        (["train", "--since="], "not a training window"),
        (["train", "--since", "2026-12-02T00:00Z", "--until", "2026-12-01T00:00Z"], "end after"),
    ],
)
def test_the_command_line_refuses_a_window_it_cannot_use(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        trainer_cli.main(argv)

    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err
