"""The fees service on a real NATS server: a real block's transactions enter the mempool,
the block is mined, estimates are published and served over HTTP, bad messages are
dead-lettered, a promoted model is swapped in, and a restart rebuilds the state."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from chainwatch.devstack.servers import NatsServer
from chainwatch.fees.__main__ import FEES_STREAMS
from chainwatch.fees.book import LiveMempool
from chainwatch.fees.estimator import FeeEstimator
from chainwatch.fees.http import FeesHttpServer
from chainwatch.fees.model import MODEL_NAME, FeeModel
from chainwatch.fees.service import FeesService, cancel_and_wait
from chainwatch.fees.settings import FeesSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.fee_events import FEES_ESTIMATE, FeeEstimate
from chainwatch.shared.mempool_events import BlockConnected, MempoolSnapshot, TxConfirmed
from chainwatch.shared.model_store import FilesystemStore
from chainwatch.shared.registry import RegistrySettings, promote
from chainwatch.shared.schemas import DeadLetter, RawTransaction, Transaction, TxStatus
from chainwatch.shared.settings import NatsSettings

from .conftest import minimal_card

WAIT_S = 10.0
BLOCK_HASH = "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"
HEIGHT = 277_647


@dataclass
class Running:
    service: FeesService
    estimator: FeeEstimator
    http: FeesHttpServer
    js: JetStreamContext
    estimates: list[FeeEstimate]
    arrived: asyncio.Event

    async def next_estimate(self, accept: Callable[[FeeEstimate], bool]) -> FeeEstimate:
        async def wait() -> FeeEstimate:
            while True:
                for estimate in self.estimates:
                    if accept(estimate):
                        return estimate
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), WAIT_S)


@contextlib.asynccontextmanager
async def running(nc: NATS, tmp_path: Path, *, warmup_s: float = 0.0) -> AsyncIterator[Running]:
    settings = FeesSettings(
        health_port=0,
        publish_interval_s=0.2,
        block_grace_s=0.5,
        warmup_s=warmup_s,
        registry=RegistrySettings(root=tmp_path / "models"),
    )
    js = nc.jetstream()
    await bus.ensure_streams(js, FEES_STREAMS)
    estimator = FeeEstimator(LiveMempool())
    service = FeesService(settings, js, estimator, FilesystemStore(tmp_path / "models"))
    http = FeesHttpServer("127.0.0.1", 0, {}, estimator)
    await http.start()

    estimates: list[FeeEstimate] = []
    arrived = asyncio.Event()

    async def collect(msg: Msg) -> None:
        estimates.append(FeeEstimate.model_validate_json(msg.data))
        arrived.set()

    sub = await nc.subscribe(FEES_ESTIMATE, cb=collect)
    stop = asyncio.Event()
    await service.start()
    tasks = [asyncio.create_task(service.run(stop)), asyncio.create_task(service.watch_model())]
    try:
        yield Running(service, estimator, http, js, estimates, arrived)
    finally:
        stop.set()
        await cancel_and_wait(tasks[1])
        await asyncio.gather(*tasks, return_exceptions=True)
        await service.stop()
        await sub.unsubscribe()
        await http.stop()


@pytest.fixture
async def own_nc(own_nats: NatsServer) -> AsyncIterator[NATS]:
    client = await bus.connect(NatsSettings(url=own_nats.url, connect_attempts=3), "fees-test")
    yield client
    await client.drain()


def unconfirmed(tx: Transaction) -> RawTransaction:
    return RawTransaction(
        source="test",
        observed_at=datetime.now(UTC),
        tx=tx.model_copy(update={"status": TxStatus()}),
    )


async def publish_block(js: JetStreamContext, txs: list[Transaction]) -> None:
    now = datetime.now(UTC)
    for position, tx in enumerate(txs):
        confirmed = TxConfirmed(
            txid=tx.txid, block_hash=BLOCK_HASH, height=HEIGHT, block_time_ts=1_388_367_102,
            position=position, source="test", observed_at=now,
        )  # fmt: skip
        await bus.publish(js, subjects.TX_CONFIRMED, confirmed, f"confirmed:{tx.txid}")
    block = BlockConnected(
        block_hash=BLOCK_HASH, height=HEIGHT, block_time_ts=1_388_367_102, tx_count=len(txs),
        source="test", observed_at=now,
    )  # fmt: skip
    await bus.publish(js, subjects.BLOCK_CONNECTED, block, BLOCK_HASH)


async def test_a_real_block_flows_through_the_service(
    own_nc: NATS, tmp_path: Path, block277647: list[Transaction]
) -> None:
    mempool_txs = block277647[1:]
    async with running(own_nc, tmp_path) as run:
        snapshot = MempoolSnapshot(
            min_fee_rate_sat_vb=1.0, source="test", observed_at=datetime.now(UTC)
        )
        await bus.publish(run.js, subjects.MEMPOOL_SNAPSHOT, snapshot, "snapshot:1")
        for tx in mempool_txs:
            await bus.publish(run.js, subjects.TX_RAW, unconfirmed(tx), tx.txid)

        before = await run.next_estimate(lambda e: e.mempool_tx_count == len(mempool_txs))
        assert before.method == "projection" and before.tip_height is None
        assert len(before.projected_blocks) == 1
        assert before.projected_blocks[0].tx_count == len(mempool_txs)
        rates = [t.fee_rate_sat_vb for t in before.targets]
        assert rates == sorted(rates, reverse=True) and rates[-1] >= 1.0

        await publish_block(run.js, block277647)
        after = await run.next_estimate(lambda e: e.tip_height == HEIGHT)
        assert after.mempool_tx_count == 0 and after.projected_blocks == []

        panel = run.estimator.panel()
        judged = panel["blocks"][0]
        own_rates = [tx.fee / tx.vsize for tx in mempool_txs if tx.fee is not None]
        assert judged["height"] == HEIGHT
        assert judged["block_median_sat_vb"] == pytest.approx(float(np.median(own_rates)))
        assert judged["known_tx_share"] == 1.0
        assert judged["recommended_sat_vb"] == pytest.approx(before.targets[0].fee_rate_sat_vb)
        assert judged["outcome"] in ("overpaid", "in_range", "underpaid")

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.http.port}") as client:
            recommended = (await client.get("/api/v1/fees/recommended")).json()
            assert recommended["tip_height"] == HEIGHT
            panel_json = (await client.get("/api/v1/fees/panel")).json()
            assert panel_json["summary"]["judged_blocks"] == 1
            assert (await client.get("/api/v1/fees/projected-blocks")).status_code == 200
            assert (await client.get("/api/v1/fees/nothing")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200


async def test_no_estimate_yet_is_503(tmp_path: Path) -> None:
    http = FeesHttpServer("127.0.0.1", 0, {}, FeeEstimator(LiveMempool()))
    await http.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client:
            response = await client.get("/api/v1/fees/recommended")
            assert response.status_code == 503
            assert (await client.get("/api/v1/fees/panel")).json()["latest"] is None
    finally:
        await http.stop()


async def test_an_undecodable_message_is_dead_lettered(own_nc: NATS, tmp_path: Path) -> None:
    letters: asyncio.Queue[DeadLetter] = asyncio.Queue()

    async def collect(msg: Msg) -> None:
        await letters.put(DeadLetter.model_validate_json(msg.data))

    sub = await own_nc.subscribe(subjects.deadletter_subject("fees"), cb=collect)
    async with running(own_nc, tmp_path) as run:
        await run.js.publish(subjects.TX_RAW, b'{"schema_version": 1, "tx": "not a tx"}')
        letter = await asyncio.wait_for(letters.get(), WAIT_S)
        assert letter.stage == "fees" and letter.error_type == "decode"
        assert letter.original_subject == subjects.TX_RAW
    await sub.unsubscribe()


async def test_a_promoted_model_is_served_and_a_restart_rebuilds_the_state(
    own_nc: NATS, tmp_path: Path, block277647: list[Transaction], small_model: FeeModel
) -> None:
    store = FilesystemStore(tmp_path / "models")
    await store.put_version(
        MODEL_NAME, small_model.version, small_model.to_files(), minimal_card(small_model)
    )
    async with running(own_nc, tmp_path) as run:
        for tx in block277647[1:100]:
            await bus.publish(run.js, subjects.TX_RAW, unconfirmed(tx), tx.txid)
        await promote(run.js, MODEL_NAME, small_model.version, store=store, run_id="test")
        served = await run.next_estimate(lambda e: e.method == "model")
        assert served.model_version == small_model.version
        assert all(t.quantiles_sat_vb for t in served.targets)

    async with running(own_nc, tmp_path, warmup_s=120) as again:
        rebuilt = await again.next_estimate(lambda e: e.mempool_tx_count == 99)
        assert rebuilt.mempool_tx_count == 99
        assert json.loads(rebuilt.model_dump_json())["source"] == "chainwatch-fees"
