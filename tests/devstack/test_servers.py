"""The embedded servers that `make run` and the tests stand on."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from chainwatch.devstack.servers import NatsServer, embedded_postgres


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """Under /tmp, not pytest's private basetemp: as root, the server runs as another user,
    which must be able to reach its data folder."""
    root = Path(tempfile.mkdtemp(prefix="chainwatch-test-pg-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


async def test_embedded_postgres_starts_answers_and_stops(pg_root: Path) -> None:
    data_dir = pg_root / "pg"
    with embedded_postgres(data_dir, delete=True) as url:
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT 1 + 1") == 2
        finally:
            await conn.close()

    assert not (data_dir / "postmaster.pid").exists(), "server still running after the block"


async def test_nats_keeps_jetstream_state_across_restart(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    try:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(name="RESTART", subjects=["restart.>"])
        await js.publish("restart.one", b"kept")
        await client.close()

        server.restart()

        client = await nats.connect(server.url)
        info = await client.jetstream().stream_info("RESTART")
        await client.close()
        assert info.state.messages == 1
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode is not None
