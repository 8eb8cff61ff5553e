"""Fixtures shared by every test: real servers, started once per session.

NATS is always a fresh nats-server on a free loopback port. PostgreSQL is a fresh database
on the server named by ``DATABASE_URL`` when it is set, else an embedded server; either way
the tests own it and drop it at the end.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import NatsServer, scratch_database, temporary_postgres
from chainwatch.shared import bus, db
from chainwatch.shared.settings import DatabaseSettings, NatsSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_FIXTURES = frozenset({"nats_server", "postgres_server_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real server, so `-m "not integration"` runs fast."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The recorded real data; tests that need it skip, saying why, when it is absent."""
    path = Path(os.environ.get("CHAINWATCH_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    if not (path / "PROVENANCE.md").exists():
        pytest.skip(f"recorded data not found in {path}; set CHAINWATCH_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The server: DATABASE_URL when set, else an embedded one for this session."""
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        yield server_url
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, and a concurrent run would
    # delete a live data folder.
    with temporary_postgres("chainwatch-test-pg-") as url:
        yield url


@contextlib.contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    with scratch_database(server_url, "chainwatch_test") as url:
        yield _migrated(url)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A database no other test run uses, migrated to the current schema."""
    with _scratch_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def fresh_database_url(postgres_server_url: str) -> Iterator[str]:
    """A migrated database of this test's own, for tests that must start empty or break it."""
    with _scratch_database(postgres_server_url) as url:
        yield url


def _migrated(url: str) -> str:
    async def go() -> None:
        pool = await db.create_pool(DatabaseSettings(url=url))  # type: ignore[arg-type]
        try:
            await db.migrate(pool)
        finally:
            await pool.close()

    _run(go())
    return url


def _run(coro: object) -> None:
    import asyncio

    asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def nats_settings(nats_server: NatsServer) -> NatsSettings:
    return NatsSettings(url=nats_server.url, connect_attempts=3)


@pytest.fixture(scope="session")
def database_settings(database_url: str) -> DatabaseSettings:
    return DatabaseSettings(url=database_url)  # type: ignore[arg-type]


@pytest.fixture
async def nc(nats_settings: NatsSettings) -> AsyncIterator[NATS]:
    client = await bus.connect(nats_settings, "test")
    yield client
    await client.drain()


@pytest.fixture
async def pool(database_settings: DatabaseSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database_settings)
    yield pool
    await pool.close()
