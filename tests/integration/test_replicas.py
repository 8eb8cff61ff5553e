"""Two scorer replicas share one durable consumer: every txid is decided and audited once."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.devstack.servers import NatsServer, free_port
from chainwatch.ingest.normalise import normalise
from chainwatch.scorer.verify import verify_chain
from chainwatch.shared import bus, subjects
from chainwatch.shared.schemas import RawTransaction

BLOCK_574200 = "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz"


def _start_scorer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chainwatch.scorer"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _audit_rows_written(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("chainwatch_scorer_audit_rows_total "):
            return float(line.split()[1])
    raise AssertionError("audit rows counter missing")


async def test_two_replicas_audit_each_txid_once(
    nc: NATS,
    nats_server: NatsServer,
    fresh_database_url: str,
    data_dir: Path,
) -> None:
    with gzip.open(data_dir / BLOCK_574200, "rt") as lines:
        txs = [normalise(json.loads(line)) for line in lines]
    txids = {tx.txid for tx in txs}

    js = nc.jetstream()
    await bus.ensure_streams(js)
    info = await js.stream_info(subjects.TX_RAW_STREAM.name)
    first_seq = info.state.last_seq + 1
    # The replicas' durable consumer starts after what earlier tests left on the stream.
    await js.add_consumer(
        subjects.TX_RAW_STREAM.name,
        ConsumerConfig(
            durable_name="scorer-replicas",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=first_seq,
            ack_wait=5,
        ),
    )
    ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "CHAINWATCH_NATS_URL": nats_server.url,
        "DATABASE_URL": fresh_database_url,
        "CHAINWATCH_DATA_DIR": str(data_dir),
        "CHAINWATCH_SCORER_DURABLE": "scorer-replicas",
        "CHAINWATCH_SCORER_BATCH_SIZE": "64",
        "CHAINWATCH_SCORER_ACK_WAIT_S": "5",
    }
    replicas = [_start_scorer({**env, "CHAINWATCH_SCORER_HEALTH_PORT": str(p)}) for p in ports]
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        async with httpx.AsyncClient() as client:
            for port in ports:  # both consuming before the first message arrives
                await _until_ready(client, port)

            observed_at = datetime.now(UTC)
            for start in range(0, len(txs), 500):
                raws = [
                    RawTransaction(source="replay:574200", observed_at=observed_at, tx=tx)
                    for tx in txs[start : start + 500]
                ]
                await asyncio.gather(
                    *(bus.publish(js, subjects.TX_RAW, r, msg_id=r.tx.txid) for r in raws)
                )

            deadline = time.monotonic() + 120
            while await pool.fetchval("SELECT count(*) FROM audit_decision") < len(txids):
                assert time.monotonic() < deadline, "not every transaction was audited in time"
                await asyncio.sleep(0.05)
            written = [
                _audit_rows_written((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
                for port in ports
            ]
    finally:
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            _, stderr = replica.communicate(timeout=30)
            assert replica.returncode == 0, stderr.decode()[-2000:]

    try:
        rows = await pool.fetch("SELECT txid, stream_seq FROM audit_decision")
        async with pool.acquire() as conn:
            chain = await verify_chain(conn)
    finally:
        await pool.close()

    assert len(rows) == len(txids) == len({r["txid"] for r in rows})
    assert {r["txid"] for r in rows} == txids
    assert all(r["stream_seq"] >= first_seq for r in rows)
    assert all(n > 0 for n in written), f"both replicas must have scored: {written}"
    assert sum(written) == len(txids)
    assert chain.intact and chain.rows_checked == len(txids)


async def _until_ready(client: httpx.AsyncClient, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"replica on port {port} never became ready"
        await asyncio.sleep(0.05)
