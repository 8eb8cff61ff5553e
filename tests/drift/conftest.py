"""Fixtures of the drift tests: a NATS server of their own (streams start empty)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus
from chainwatch.shared.settings import NatsSettings


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
async def private_nc(private_nats: NatsServer) -> AsyncIterator[NATS]:
    client = await bus.connect(NatsSettings(url=private_nats.url, connect_attempts=3), "test")
    yield client
    await client.drain()


@pytest.fixture
async def fresh_pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url)
    yield pool
    await pool.close()
