"""Dashboard fixtures: the app in-process, and the app behind real uvicorn.

The audit database is shared with the rest of the session, so tests find their own rows by
txid instead of assuming the table holds only theirs (``factories`` makes the rows).
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from chainwatch.dashboard.app import create_app
from chainwatch.dashboard.auth.passwords import hash_password
from chainwatch.dashboard.auth.sessions import SESSION_COOKIE, SessionStore
from chainwatch.dashboard.auth.users import Role, User, create_user
from chainwatch.dashboard.server import build_server
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.devstack.servers import LOOPBACK
from chainwatch.shared import bus, subjects
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction, Transaction
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
        session_secret=SESSION_SECRET,
        cookie_secure=False,
        outbox_poll_s=0.2,
    )


SESSION_SECRET = secrets.token_hex(32)
PASSWORD = "correct horse battery staple"
CHEAP_HASH = hash_password(PASSWORD, log2_n=10, parallelism=1)
"""Test users share one password, hashed at a cost that keeps sign-ins fast."""


@dataclass(frozen=True)
class Accounts:
    """One user of each role, made once per session with names no other test uses."""

    analyst: User
    other_analyst: User
    supervisor: User
    admin: User


@pytest.fixture(scope="session")
async def accounts(database_url: str) -> AsyncIterator[Accounts]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    suffix = secrets.token_hex(3)

    async def make(name: str, role: Role) -> User:
        return await create_user(
            pool, f"{name}-{suffix}", "", role, actor="test", password_hash=CHEAP_HASH
        )

    try:
        yield Accounts(
            analyst=await make("ana", Role.ANALYST),
            other_analyst=await make("otto", Role.ANALYST),
            supervisor=await make("sue", Role.SUPERVISOR),
            admin=await make("adam", Role.ADMIN),
        )
    finally:
        await pool.close()


@dataclass
class RunningApp:
    """The app with its lifespan started, and an HTTP client that calls it in-process."""

    app: FastAPI
    client: httpx.AsyncClient

    async def sign_in(self, user: User) -> str:
        """Give the client a session of ``user``; return its CSRF token."""
        sessions = self.app.state.resources.sessions
        token = await sessions.create(user, "127.0.0.1")
        self.client.cookies.set(SESSION_COOKIE, token)
        csrf: str = sessions.csrf_for(token)
        return csrf

    def sign_out(self) -> None:
        self.client.cookies.clear()


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


PublishRaw = Callable[[Transaction], Awaitable[int]]


@pytest.fixture
async def publish_raw(nc: NATS) -> AsyncIterator[PublishRaw]:
    """Publish transactions on ``chainwatch.tx.raw`` as ingest does; return each one's sequence."""
    js = nc.jetstream()
    await bus.ensure_streams(js)
    published: list[int] = []

    async def publish(tx: Transaction) -> int:
        raw = RawTransaction(source="test", observed_at=datetime.now(UTC), tx=tx)
        ack = await bus.publish(js, subjects.TX_RAW, raw, msg_id=tx.txid)
        published.append(ack.seq)
        return ack.seq

    yield publish

    for seq in published:
        await js.delete_msg(subjects.TX_RAW_STREAM.name, seq)


async def session_for(pool: asyncpg.Pool, user: User) -> tuple[str, str]:
    """A session of ``user`` made beside a running dashboard: (cookie token, CSRF token)."""
    store = SessionStore(pool, SESSION_SECRET.encode(), max_age_s=3600, idle_s=3600)
    token = await store.create(user, "127.0.0.1")
    return token, store.csrf_for(token)
