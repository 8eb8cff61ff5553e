"""Dashboard fixtures: the app in-process, and the app behind real uvicorn.

The audit database is shared with the rest of the session, so tests find their own rows by
txid instead of assuming the table holds only theirs (``factories`` makes the rows).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from chainwatch.dashboard.app import create_app
from chainwatch.dashboard.server import build_server
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.devstack.servers import LOOPBACK
from chainwatch.shared import bus, subjects
from chainwatch.shared.schemas import ScoredTransaction
from chainwatch.shared.settings import DatabaseSettings, LogSettings, NatsSettings


@pytest.fixture
def dashboard_settings(
    nats_settings: NatsSettings, database_settings: DatabaseSettings
) -> DashboardSettings:
    return DashboardSettings(
        host=LOOPBACK,
        port=0,
        nats=nats_settings,
        database=database_settings,
        log=LogSettings(),
        shutdown_grace_s=1,
    )


@dataclass
class RunningApp:
    """The app with its lifespan started, and an HTTP client that calls it in-process."""

    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture
async def running_app(dashboard_settings: DashboardSettings) -> AsyncIterator[RunningApp]:
    app = create_app(dashboard_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            yield RunningApp(app=app, client=client)


@dataclass(frozen=True)
class ServedDashboard:
    """The dashboard behind a real uvicorn on a loopback port."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def origin(self) -> str:
        """What a browser showing one of its pages sends as ``Origin``."""
        return self.base_url

    def ws_url(self, path: str) -> str:
        return f"ws://{LOOPBACK}:{self.port}{path}"


@pytest.fixture
def served_dashboard(dashboard_settings: DashboardSettings) -> Iterator[ServedDashboard]:
    """uvicorn in a thread of its own, with its own event loop, as in production.

    The listening socket is bound and listening before the thread starts, so a client may
    connect at once: the kernel queues the connection until uvicorn, once the app's
    lifespan has started, accepts it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(128)
    port = sock.getsockname()[1]

    server = build_server(dashboard_settings)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="dashboard", daemon=True
    )
    thread.start()
    try:
        yield ServedDashboard(port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop within 10 s"


PublishScored = Callable[[ScoredTransaction], Awaitable[None]]


@pytest.fixture
async def publish_scored(nc: NATS) -> AsyncIterator[PublishScored]:
    """Publish decisions on ``chainwatch.tx.scored`` as the scorer does, and clean up after.

    The stream is shared by the whole session, and other tests consume it from the start;
    so the messages published here are deleted from it again when the test ends.
    """
    js = nc.jetstream()
    await bus.ensure_streams(js)
    published: list[int] = []

    async def publish(decision: ScoredTransaction) -> None:
        ack = await bus.publish(js, subjects.TX_SCORED, decision, msg_id=decision.txid)
        published.append(ack.seq)

    yield publish

    for seq in published:
        await js.delete_msg(subjects.TX_SCORED_STREAM.name, seq)
