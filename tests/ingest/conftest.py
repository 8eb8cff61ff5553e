"""Fixtures of the ingest tests: a NATS server of each test's own, so stream counts are exact.

The session's shared server keeps every stream other tests wrote to (and their duplicate
windows); counting "exactly 213 new messages" needs a bus nobody else has touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus
from chainwatch.shared.settings import NatsSettings


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
def own_nats_settings(own_nats: NatsServer) -> NatsSettings:
    return NatsSettings(url=own_nats.url, connect_attempts=3)


@pytest.fixture
async def own_nc(own_nats_settings: NatsSettings) -> AsyncIterator[NATS]:
    client = await bus.connect(own_nats_settings, "ingest-test")
    yield client
    await client.drain()


@pytest.fixture
async def js(own_nc: NATS) -> JetStreamContext:
    context = own_nc.jetstream()
    await bus.ensure_streams(context)
    return context
