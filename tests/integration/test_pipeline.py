"""End to end over a real nats-server and a real PostgreSQL, on real transactions.

Block 277,647 (213 transactions) is replayed onto the bus; a scorer process is killed with
SIGKILL part-way through and started again; the audit trail must hold exactly one row per
txid, and the scored stream exactly one decision per txid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.shared import bus, subjects
from chainwatch.shared.schemas import RawTransaction, Transaction

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"


def _start_scorer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chainwatch.scorer"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def scorer_env(
    nats_server: object, database_url: str, data_dir: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    yield {
        **os.environ,
        "CHAINWATCH_NATS_URL": nats_server.url,  # type: ignore[attr-defined]
        "DATABASE_URL": database_url,
        "CHAINWATCH_DATA_DIR": str(data_dir),
        "CHAINWATCH_SCORER_DURABLE": f"scorer-{request.node.name[:40]}",
        "CHAINWATCH_SCORER_BATCH_SIZE": "1",
        "CHAINWATCH_SCORER_ACK_WAIT_S": "2",
        "CHAINWATCH_SCORER_HEALTH_PORT": "0",
    }


async def _durable_from_now(nc: NATS, durable: str) -> None:
    """Create the scorer's durable consumer at the stream's end, so that what other tests
    left on the shared stream is not this test's work."""
    js = nc.jetstream()
    await bus.ensure_streams(js)
    info = await js.stream_info(subjects.TX_RAW_STREAM.name)
    await js.add_consumer(
        subjects.TX_RAW_STREAM.name,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=info.state.last_seq + 1,
            ack_wait=2,
        ),
    )


async def _audit_count(pool: asyncpg.Pool, txids: list[str]) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM audit_decision WHERE txid = ANY($1::text[])", txids
    )
    return count


async def _wait_for(predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met in {timeout_s}s")


async def test_block_replay_survives_scorer_kill_with_one_audit_row_per_txid(
    nc: NATS, pool: asyncpg.Pool, data_dir: Path, scorer_env: dict[str, str]
) -> None:
    block = json.loads((data_dir / BLOCK_277647).read_text())
    txids = [tx["txid"] for tx in block]
    assert len(set(txids)) == 213

    js = nc.jetstream()
    await _durable_from_now(nc, scorer_env["CHAINWATCH_SCORER_DURABLE"])
    scorer = _start_scorer(scorer_env)
    try:
        observed_at = datetime.now(UTC)
        await asyncio.gather(
            *(
                bus.publish(
                    js,
                    subjects.TX_RAW,
                    RawTransaction(
                        source="replay:block277647",
                        observed_at=observed_at,
                        tx=Transaction.model_validate(tx),
                    ),
                    msg_id=tx["txid"],
                )
                for tx in block
            )
        )

        async def some_written() -> bool:
            return await _audit_count(pool, txids) >= 20

        await _wait_for(some_written, 30)
        scorer.send_signal(signal.SIGKILL)
        scorer.wait()
        written_at_kill = await _audit_count(pool, txids)
        assert written_at_kill < 213, "the scorer finished before it was killed"

        scorer = _start_scorer(scorer_env)

        durable = scorer_env["CHAINWATCH_SCORER_DURABLE"]

        async def all_written_and_acked() -> bool:
            # What the killed scorer held unacked is redelivered after the ack wait.
            consumer = await js.consumer_info(subjects.TX_RAW_STREAM.name, durable)
            idle = consumer.num_pending == 0 and consumer.num_ack_pending == 0
            return idle and await _audit_count(pool, txids) == 213

        await _wait_for(all_written_and_acked, 60)
    finally:
        scorer.send_signal(signal.SIGTERM)
        _, stderr = scorer.communicate(timeout=20)

    assert scorer.returncode == 0, stderr.decode()[-2000:]
    rows = await pool.fetch(
        "SELECT txid, count(*) AS n FROM audit_decision WHERE txid = ANY($1::text[]) GROUP BY txid",
        txids,
    )
    assert len(rows) == 213
    assert all(r["n"] == 1 for r in rows)

    info = await js.stream_info(subjects.TX_SCORED_STREAM.name)
    scored = await js.pull_subscribe(subjects.TX_SCORED, stream=subjects.TX_SCORED_STREAM.name)
    seen: list[str] = []
    while len(seen) < info.state.messages:
        for msg in await scored.fetch(500, timeout=5):
            seen.append(json.loads(msg.data)["txid"])
            await msg.ack()
    await scored.unsubscribe()
    from_block = [t for t in seen if t in set(txids)]
    assert sorted(from_block) == sorted(txids), "each txid scored onto the bus exactly once"


async def test_scorer_dead_letters_a_malformed_message_and_goes_on(
    nc: NATS, pool: asyncpg.Pool, data_dir: Path, scorer_env: dict[str, str]
) -> None:
    block = json.loads((data_dir / BLOCK_277647).read_text())
    good = block[5]
    truncated = {k: v for k, v in block[6].items() if k != "vin"}

    js = nc.jetstream()
    await _durable_from_now(nc, scorer_env["CHAINWATCH_SCORER_DURABLE"])
    dead = await js.pull_subscribe(
        subjects.deadletter_subject("scorer"), stream=subjects.DEADLETTER_STREAM.name
    )
    raw = {"source": "test", "observed_at": datetime.now(UTC).isoformat()}
    await js.publish(subjects.TX_RAW, b"\xff\xfe not json", headers={bus.MSG_ID_HEADER: "junk-1"})
    await js.publish(
        subjects.TX_RAW,
        json.dumps({**raw, "tx": truncated}).encode(),
        headers={bus.MSG_ID_HEADER: "no-inputs"},
    )
    await js.publish(
        subjects.TX_RAW,
        json.dumps({**raw, "tx": good}).encode(),
        headers={bus.MSG_ID_HEADER: good["txid"]},
    )

    scorer = _start_scorer(scorer_env)
    try:

        async def good_one_scored() -> bool:
            return await _audit_count(pool, [good["txid"]]) == 1

        await _wait_for(good_one_scored, 30)
        letters = {}
        deadline = time.monotonic() + 60
        while len(letters) < 2 and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                for msg in await dead.fetch(2, timeout=2):
                    letter = json.loads(msg.data)
                    letters[letter["message_id"]] = letter
                    await msg.ack()
    finally:
        scorer.send_signal(signal.SIGTERM)
        scorer.communicate(timeout=20)

    assert letters["junk-1"]["stage"] == "scorer"
    assert "JSON" in letters["junk-1"]["reason"]
    assert letters["no-inputs"]["reason"].startswith("tx.vin:")
    assert letters["no-inputs"]["original_subject"] == subjects.TX_RAW
