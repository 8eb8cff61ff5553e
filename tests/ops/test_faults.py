"""Faults against real servers: after each, one audit row per transaction, nothing lost.

A block of real transactions (277,647: 213 of them) streams onto the bus at a steady rate,
published as ingest publishes (txid as message id, retried until acknowledged), while a
real scorer process, connected as its own NATS user, scores them. Part-way through, one
thing breaks: the scorer is killed, PostgreSQL restarts, NATS restarts, or poison messages
arrive among the good ones. Afterwards:

* every txid has exactly one row in ``audit_decision`` and the hash chain is intact;
* every txid is on ``chainwatch.tx.scored`` exactly once;
* every poison message is on the dead-letter subject, with its reason; no good one is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.devstack.servers import free_port
from chainwatch.scorer.verify import verify_chain
from chainwatch.shared import bus, db, subjects
from chainwatch.shared.schemas import RawTransaction, Transaction
from chainwatch.shared.settings import DatabaseSettings

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"
PUBLISH_RATE_TX_S = 60.0
DURABLE = "scorer"
"""The durable the scorer's NATS user may pull from (deploy/nats/accounts.py)."""


class Pipeline:
    """Ingest's side (a paced, retrying publisher), a scorer process, and the checks."""

    def __init__(self, nats_server: Any, database_url: str, data_dir: Path) -> None:
        self.nats = nats_server
        self.database_url = database_url
        self.data_dir = data_dir
        block = json.loads((data_dir / BLOCK_277647).read_text())
        observed_at = datetime.now(UTC)
        self.txs = [
            RawTransaction(
                source="replay:block277647",
                observed_at=observed_at,
                tx=Transaction.model_validate(tx),
            )
            for tx in block
        ]
        self.txids = [raw.tx.txid for raw in self.txs]
        self.health_port = free_port()
        self.scorer: subprocess.Popen[bytes] | None = None
        self.scorer_logs: list[bytes] = []

    def start_scorer(self) -> None:
        env = {
            **os.environ,
            **self.nats.env("scorer"),
            "DATABASE_URL": self.database_url,
            "CHAINWATCH_DATA_DIR": str(self.data_dir),
            "CHAINWATCH_LOG_FORMAT": "json",
            "CHAINWATCH_SCORER_BATCH_SIZE": "8",
            "CHAINWATCH_SCORER_ACK_WAIT_S": "2",
            "CHAINWATCH_SCORER_HEALTH_PORT": str(self.health_port),
        }
        self.scorer = subprocess.Popen(
            [sys.executable, "-m", "chainwatch.scorer"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill_scorer(self) -> None:
        assert self.scorer is not None
        self.scorer.send_signal(signal.SIGKILL)
        _, stderr = self.scorer.communicate(timeout=10)
        self.scorer_logs.append(stderr)

    def stop_scorer(self) -> int:
        """SIGTERM, as an orchestrator stops a container; returns the exit status."""
        assert self.scorer is not None
        self.scorer.send_signal(signal.SIGTERM)
        _, stderr = self.scorer.communicate(timeout=30)
        self.scorer_logs.append(stderr)
        return self.scorer.returncode

    async def publish_all(self, nc: NATS, extra: list[tuple[bytes, str]] | None = None) -> None:
        """Publish every transaction (and ``extra`` raw bodies) at a steady rate, each retried
        until JetStream acknowledges it, as ingest's publisher does."""
        js = nc.jetstream(timeout=1.0)
        bodies = [(bus.encode(raw), raw.tx.txid) for raw in self.txs]
        for n, item in enumerate(extra or []):
            bodies.insert(min(len(bodies), 10 + n * 7), item)
        for body, msg_id in bodies:
            while True:
                try:
                    await js.publish(subjects.TX_RAW, body, headers={bus.MSG_ID_HEADER: msg_id})
                    break
                except (nats.errors.Error, TimeoutError):
                    await asyncio.sleep(0.2)  # the bus is down or electing; try again
            await asyncio.sleep(1 / PUBLISH_RATE_TX_S)

    async def audited(self, conn: asyncpg.Connection) -> int:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM audit_decision WHERE txid = ANY($1::text[])", self.txids
        )
        return count

    async def ready(self) -> int:
        """The status of the scorer's /readyz, 0 when it does not answer."""
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                response = await client.get(f"http://127.0.0.1:{self.health_port}/readyz")
        except httpx.HTTPError:
            return 0
        return response.status_code

    async def settled(self, admin: NATS, conn: asyncpg.Connection) -> bool:
        """Every txid audited and nothing pending or unacknowledged on the durable."""
        try:
            info = await admin.jetstream().consumer_info(subjects.TX_RAW_STREAM.name, DURABLE)
        except (nats.errors.Error, TimeoutError):
            return False
        idle = info.num_pending == 0 and info.num_ack_pending == 0
        return idle and await self.audited(conn) == len(self.txids)

    async def check(self, admin: NATS, conn: asyncpg.Connection) -> None:
        """Nothing lost, nothing twice: in the audit trail and on the scored stream."""
        rows = await conn.fetch(
            "SELECT txid, count(*) AS n FROM audit_decision "
            "WHERE txid = ANY($1::text[]) GROUP BY txid",
            self.txids,
        )
        assert sorted(r["txid"] for r in rows) == sorted(self.txids), "a transaction was lost"
        assert all(r["n"] == 1 for r in rows), "a transaction was audited twice"
        total = await conn.fetchval("SELECT count(*) FROM audit_decision")
        assert total == len(self.txids), "rows that are not the block's"
        report = await verify_chain(conn)
        assert report.intact, str(report.first_break)

        scored = Counter(
            json.loads(body)["txid"] for body in await read_stream(admin, subjects.TX_SCORED)
        )
        assert set(scored) == set(self.txids), "a decision is missing from tx.scored"
        assert max(scored.values()) == 1, "a decision was published twice"


async def read_stream(admin: NATS, subject: str) -> list[bytes]:
    """Every message stored on ``subject``, read once by an ephemeral consumer."""
    js = admin.jetstream()
    stream = await js.find_stream_name_by_subject(subject)
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    bodies: list[bytes] = []
    try:
        pending = (await sub.consumer_info()).num_pending or 0
        while len(bodies) < pending:
            bodies += [msg.data for msg in await sub.fetch(500, timeout=5)]
    finally:
        await sub.unsubscribe()
    return bodies


async def _migrate(url: str) -> None:
    pool = await db.create_pool(DatabaseSettings(url=url))
    try:
        await db.migrate(pool)
    finally:
        await pool.close()


@pytest.fixture
def pipeline(secured_nats: Any, fresh_database_url: str, data_dir: Path) -> Iterator[Pipeline]:
    pipeline = Pipeline(secured_nats, fresh_database_url, data_dir)
    yield pipeline
    if pipeline.scorer is not None and pipeline.scorer.poll() is None:
        pipeline.scorer.kill()
        pipeline.scorer.wait()


@pytest.fixture
async def admin(secured_nats: Any, accounts: Any) -> AsyncIterator[NATS]:
    nc = await bus.connect(secured_nats.settings(accounts.ADMIN_USER), "test-admin")
    yield nc
    with contextlib.suppress(nats.errors.Error):
        await nc.drain()


@pytest.fixture
async def ingest(secured_nats: Any) -> AsyncIterator[NATS]:
    nc = await bus.connect(secured_nats.settings("ingest"), "test-ingest")
    await bus.ensure_streams(nc.jetstream())
    yield nc
    with contextlib.suppress(nats.errors.Error):
        await nc.drain()


async def test_the_scorer_killed_mid_stream(
    pipeline: Pipeline, admin: NATS, ingest: NATS, wait_for: Any
) -> None:
    conn = await asyncpg.connect(pipeline.database_url)
    try:
        pipeline.start_scorer()
        await wait_for(lambda: _is(pipeline.ready(), 200), 60, "the scorer ready")
        publishing = asyncio.create_task(pipeline.publish_all(ingest))

        await wait_for(lambda: _at_least(pipeline, conn, 40), 60, "40 decisions audited")
        pipeline.kill_scorer()
        assert await pipeline.audited(conn) < len(pipeline.txids), "finished before the kill"
        pipeline.start_scorer()

        await publishing
        await wait_for(lambda: pipeline.settled(admin, conn), 60, "all audited and acked")
        await wait_for(lambda: _lag_reported(pipeline, 0.0), 15, "lag gauge at zero")
        assert pipeline.stop_scorer() == 0
        await pipeline.check(admin, conn)
    finally:
        await conn.close()


async def _lag_reported(pipeline: Pipeline, value: float) -> bool:
    """The scorer's /metrics shows ``value`` messages pending on its durable."""
    series = 'chainwatch_consumer_pending_messages{durable="scorer",stream="CHAINWATCH_TX_RAW"}'
    async with httpx.AsyncClient(timeout=1.0) as client:
        text = (await client.get(f"http://127.0.0.1:{pipeline.health_port}/metrics")).text
    return f"{series} {value}" in text


@pytest.mark.parametrize("stop_mode", ["fast", "immediate"], ids=["shutdown", "crash"])
async def test_postgresql_restarted_mid_stream(
    stop_mode: str,
    secured_nats: Any,
    local_postgres: Any,
    data_dir: Path,
    admin: NATS,
    ingest: NATS,
    wait_for: Any,
) -> None:
    await _migrate(local_postgres.url)
    pipeline = Pipeline(secured_nats, local_postgres.url, data_dir)
    conn = await asyncpg.connect(local_postgres.url)
    try:
        pipeline.start_scorer()
        await wait_for(lambda: _is(pipeline.ready(), 200), 60, "the scorer ready")
        publishing = asyncio.create_task(pipeline.publish_all(ingest))
        await wait_for(lambda: _at_least(pipeline, conn, 40), 60, "40 decisions audited")
        await conn.close()

        local_postgres.stop(stop_mode)
        await wait_for(lambda: _is(pipeline.ready(), 503), 15, "/readyz 503 without a database")
        await asyncio.sleep(1.0)  # batches keep failing and are retried meanwhile
        local_postgres.start()
        conn = await asyncpg.connect(local_postgres.url)

        await publishing
        await wait_for(lambda: pipeline.settled(admin, conn), 60, "all audited and acked")
        assert await pipeline.ready() == 200
        assert pipeline.stop_scorer() == 0
        await pipeline.check(admin, conn)
    finally:
        await conn.close()
        if pipeline.scorer is not None and pipeline.scorer.poll() is None:
            pipeline.scorer.kill()
            pipeline.scorer.wait()
    records = [json.loads(line) for line in b"".join(pipeline.scorer_logs).splitlines()]
    retried = [
        r for r in records if r["level"] == "WARNING" and r["logger"] == "chainwatch.shared.bus"
    ]
    assert retried, [r["message"] for r in records if r["level"] != "INFO"]
    assert not [r for r in records if "dead-letter" in r["message"]], "an outage dead-lettered"


async def test_nats_restarted_mid_stream(
    pipeline: Pipeline, secured_nats: Any, admin: NATS, ingest: NATS, wait_for: Any
) -> None:
    conn = await asyncpg.connect(pipeline.database_url)
    try:
        pipeline.start_scorer()
        await wait_for(lambda: _is(pipeline.ready(), 200), 60, "the scorer ready")
        publishing = asyncio.create_task(pipeline.publish_all(ingest))
        await wait_for(lambda: _at_least(pipeline, conn, 40), 60, "40 decisions audited")

        secured_nats.restart()
        await wait_for(lambda: _is(pipeline.ready(), 200), 30, "the scorer back on the bus")

        await publishing
        await wait_for(lambda: pipeline.settled(admin, conn), 60, "all audited and acked")
        assert pipeline.stop_scorer() == 0
        await pipeline.check(admin, conn)
    finally:
        await conn.close()


POISON = [
    (b"\xff\xfe not json", "poison-bytes"),
    (b'{"source": "x", "observed_at": "2024-01-01T00:00:00Z"}', "poison-no-tx"),
    (b'{"source": "x", "observed_at": "yesterday", "tx": {}}', "poison-bad-time"),
    (b"[]", "poison-array"),
    (b'{"source": "x", "observed_at": "2024-01-01T00:00:00Z", "tx": {"txid": "zz"}}', "poison-tx"),
]


async def test_poison_messages_go_to_the_dead_letters_and_the_stream_goes_on(
    pipeline: Pipeline, admin: NATS, ingest: NATS, wait_for: Any
) -> None:
    poison = [(body, f"{msg_id}-{n}") for n in range(4) for body, msg_id in POISON]
    conn = await asyncpg.connect(pipeline.database_url)
    try:
        pipeline.start_scorer()
        await pipeline.publish_all(ingest, extra=poison)
        await wait_for(lambda: pipeline.settled(admin, conn), 60, "all audited and acked")
        assert pipeline.stop_scorer() == 0
        await pipeline.check(admin, conn)
    finally:
        await conn.close()

    letters = [json.loads(body) for body in await read_stream(admin, "chainwatch.deadletter.>")]
    by_id = Counter(letter["message_id"] for letter in letters)
    assert by_id == Counter(msg_id for _, msg_id in poison), "each poison message once"
    assert all(letter["stage"] == "scorer" and letter["reason"] for letter in letters)
    assert not set(by_id) & set(pipeline.txids)


async def _at_least(pipeline: Pipeline, conn: asyncpg.Connection, count: int) -> bool:
    return await pipeline.audited(conn) >= count


async def _is(status: Any, expected: int) -> bool:
    return bool(await status == expected)
