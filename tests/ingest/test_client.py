"""The REST client against the local server and a server that never answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chainwatch.ingest.errors import SourceError
from chainwatch.ingest.health import SourceHealth
from chainwatch.ingest.live.backoff import Backoff
from chainwatch.ingest.live.client import MempoolRest, parse_retry_after
from chainwatch.ingest.localserver.scenario import build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats

FAST_RETRY = Backoff(initial_s=0.01, max_s=0.02)


@pytest.fixture
async def server(data_dir: Path) -> AsyncIterator[LocalMempoolServer]:
    scenario = build_scenario(data_dir, ["block277647"], batch_size=100)
    async with LocalMempoolServer(scenario, RecordedStats.load(data_dir)) as server:
        await server.advance(len(scenario.steps))
        yield server


@pytest.fixture
async def rest(server: LocalMempoolServer) -> AsyncIterator[MempoolRest]:
    client = MempoolRest(server.base_url, health=SourceHealth("test"), backoff=FAST_RETRY)
    yield client
    await client.aclose()


async def test_block_and_transactions_as_esplora_serves_them(
    rest: MempoolRest, server: LocalMempoolServer
) -> None:
    block = server.scenario.blocks[0]
    assert await rest.block_txids(block.block_hash) == block.txids
    page = await rest.block_txs(block.block_hash, 200)
    assert [tx["txid"] for tx in page] == block.txids[200:213]
    body = await rest.tx_bytes(block.txids[5])
    assert body is not None and block.txids[5].encode() in body
    assert await rest.tx_bytes("00" * 32) is None  # 404 is an answer
    recent = await rest.mempool_recent()
    assert len(recent) == 10 and {"txid", "fee", "vsize", "value"} <= set(recent[0])


class WatchedHealth(SourceHealth):
    """Health that also tells a test the moment a 429 arrives."""

    def __init__(self) -> None:
        super().__init__("test")
        self.limited = asyncio.Event()

    def rate_limited(self, retry_after_s: float) -> None:
        super().rate_limited(retry_after_s)
        self.limited.set()


async def test_429_pauses_every_request_for_retry_after(server: LocalMempoolServer) -> None:
    health = WatchedHealth()
    rest = MempoolRest(server.base_url, health=health, backoff=FAST_RETRY)
    block = server.scenario.blocks[0]
    server.fail_next(1, status=429, retry_after="1")
    try:
        refused_first = asyncio.create_task(rest.block_txids(block.block_hash))
        await health.limited.wait()
        paused_at_s = time.monotonic()
        # This request was never refused itself, yet it waits out the other's Retry-After.
        assert await rest.tx_bytes(block.txids[1]) is not None
        assert time.monotonic() - paused_at_s >= 0.9
        assert await refused_first == block.txids
    finally:
        await rest.aclose()
    assert server.failures_served == 1 and health.rate_limited_count == 1
    assert health.report().last_error == "HTTP 429, retry after 1.0s"


async def test_server_errors_are_retried_client_errors_are_not(
    rest: MempoolRest, server: LocalMempoolServer
) -> None:
    server.fail_next(2, status=503)
    assert await rest.mempool_recent()
    assert rest.health.requests_failed == 2

    server.fail_next(1, status=400)
    with pytest.raises(SourceError) as refused:
        await rest.mempool_recent()
    assert refused.value.status == 400

    server.fail_next(5, status=500)
    with pytest.raises(SourceError, match="gave up after 5 attempts"):
        await rest.mempool_recent()


async def test_an_answer_over_the_size_limit_is_refused(server: LocalMempoolServer) -> None:
    client = MempoolRest(
        server.base_url, health=SourceHealth("test"), max_response_bytes=1_000, backoff=FAST_RETRY
    )
    try:
        with pytest.raises(SourceError, match="answer over 1000 bytes"):
            await client.block_txids(server.scenario.blocks[0].block_hash)
    finally:
        await client.aclose()


async def test_every_request_is_bounded_by_its_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open and says nothing

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    client = MempoolRest(
        f"http://127.0.0.1:{port}",
        health=SourceHealth("test"),
        timeout_s=0.2,
        max_attempts=2,
        backoff=FAST_RETRY,
    )
    started_s = time.monotonic()
    try:
        with pytest.raises(SourceError, match="gave up after 2 attempts"):
            await client.mempool_recent()
    finally:
        await client.aclose()
        silent.close()
    assert time.monotonic() - started_s < 2.0
    assert client.health.report().last_error == "timed out"


@pytest.mark.parametrize(
    ("header", "expected_s"),
    [
        ("7", 7.0),
        (None, 30.0),
        ("soon", 30.0),
        ("99999", 600.0),
        ("Thu, 01 Jan 2026 00:00:10 GMT", 10.0),
        ("Thu, 01 Jan 2026 00:00:00 GMT", 0.0),
    ],
)
def test_retry_after_reads_seconds_and_dates(header: str | None, expected_s: float) -> None:
    now_ts = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert parse_retry_after(header, now_ts=now_ts) == pytest.approx(expected_s)


def test_backoff_doubles_to_its_ceiling_with_jitter() -> None:
    import random

    backoff = Backoff(initial_s=1.0, max_s=8.0, jitter=0.5, rng=random.Random(1))
    delays = [backoff.delay_s(attempt) for attempt in range(6)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)
