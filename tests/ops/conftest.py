"""Servers the operations tests own, so they can secure, stop, start and break them.

* ``SecuredNats``: a nats-server run from deploy/nats/nats-server.conf, the file compose
  mounts, with the per-service users of deploy/nats/accounts.conf. Only what cannot run here
  is changed: it listens on free loopback ports and stores its streams in a temp folder.
  Every user's password is generated for this run and handed to the server in its
  environment, as compose and Kubernetes hand it the secrets.
* ``LocalPostgres``: Debian's PostgreSQL (``initdb``, ``pg_ctl``) on a free loopback port,
  never the machine's shared server, so a test can stop it and start it again.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from chainwatch.devstack.servers import free_port, nats_server_binary, wait_for_port
from chainwatch.shared.settings import NatsSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
NATS_CONFIG = REPO_ROOT / "deploy" / "nats" / "nats-server.conf"
ACCOUNTS_CONFIG = REPO_ROOT / "deploy" / "nats" / "accounts.conf"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def load_accounts() -> ModuleType:
    """deploy/nats/accounts.py, the generator of the users (a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "chainwatch_deploy_accounts", REPO_ROOT / "deploy" / "nats" / "accounts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


ACCOUNTS = load_accounts()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``role`` runs once for each service's bus role (accounts.ROLES)."""
    if "role" in metafunc.fixturenames:
        metafunc.parametrize("role", ACCOUNTS.ROLES, ids=[r.user for r in ACCOUNTS.ROLES])


@pytest.fixture(scope="session")
def accounts() -> ModuleType:
    return ACCOUNTS


@dataclass
class SecuredNats:
    """A nats-server running the deployed configuration with generated passwords."""

    folder: Path
    password_envs: dict[str, str]
    """Each user and the server's environment variable that holds its password."""
    port: int = 0
    monitor_port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def settings(self, user: str, **overrides: object) -> NatsSettings:
        """How ``user`` connects: its generated password; its inbox follows from its name."""
        return NatsSettings(
            url=self.url,
            user=user,
            password=self.passwords[user],
            connect_attempts=3,
            **overrides,  # type: ignore[arg-type]
        )

    def env(self, user: str) -> dict[str, str]:
        """The variables a service process needs to connect as ``user``."""
        return {
            "CHAINWATCH_NATS_URL": self.url,
            "CHAINWATCH_NATS_USER": user,
            "CHAINWATCH_NATS_PASSWORD": self.passwords[user],
        }

    def start(self) -> SecuredNats:
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        self.passwords = self.passwords or {
            # A letter first: the server parses the value as a config token (a number otherwise).
            user: "p" + secrets.token_hex(24)
            for user in self.password_envs
        }
        config = self.folder / "nats-server.conf"
        shutil.copy(ACCOUNTS_CONFIG, self.folder / "accounts.conf")
        config.write_text(self._loopback_config(NATS_CONFIG.read_text()))

        env = {"PATH": os.environ.get("PATH", "")}
        env |= {self.password_envs[user]: password for user, password in self.passwords.items()}
        command = [str(nats_server_binary()), "-c", str(config), "-l", str(self.folder / "log")]
        with (self.folder / "stderr").open("ab") as stderr:
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stderr=stderr
            )
        try:
            wait_for_port(self.port)
        except TimeoutError as exc:
            self.stop()
            log = "".join(
                (self.folder / name).read_text(errors="replace")
                for name in ("stderr", "log")
                if (self.folder / name).exists()
            )
            raise TimeoutError(f"nats-server did not start: {log[-2000:]}") from exc
        return self

    def _loopback_config(self, text: str) -> str:
        replacements = {
            "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{self.port}",
            "http: 0.0.0.0:8222": f"http: 127.0.0.1:{self.monitor_port}",
            "store_dir: /data": f"store_dir: {self.folder / 'jetstream'}",
        }
        for deployed, local in replacements.items():
            assert deployed in text, f"deploy/nats/nats-server.conf no longer has {deployed!r}"
            text = text.replace(deployed, local)
        return text

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
        """Stop and start again on the same port, store and passwords."""
        self.stop()
        self.start()


@pytest.fixture
def secured_nats(accounts: ModuleType) -> Iterator[SecuredNats]:
    """A secured server of the test's own: fresh streams, fresh passwords.

    Its folder is not under pytest's temp root, which a concurrent pytest run may prune.
    """
    users = [accounts.ADMIN_USER, *(role.user for role in accounts.ROLES)]
    password_envs = {user: accounts.password_env(user) for user in users}
    folder = Path(tempfile.mkdtemp(prefix="chainwatch-ops-nats-"))
    server = SecuredNats(folder, password_envs).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class LocalPostgres:
    """A PostgreSQL of the test's own on ``127.0.0.1:<free port>``, stopped and started at will.

    As root the server runs as the ``postgres`` user Debian's package created, from a folder
    outside pytest's temp root (which only root may enter).
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chainwatch-ops-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, timeout=60, cwd=self.root
        )

    def init(self) -> LocalPostgres:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        return self

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session; ``immediate`` is a crash (recovery on the next start)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def local_postgres() -> Iterator[LocalPostgres]:
    if not (PG_BIN / "pg_ctl").exists():
        pytest.fail(f"Debian's PostgreSQL 15 is not installed ({PG_BIN}); the fault tests need it")
    server = LocalPostgres().init()
    server.start()
    try:
        yield server
    finally:
        server.remove()


Predicate = Callable[[], Awaitable[bool]]
WaitFor = Callable[[Predicate, float, str], Awaitable[None]]


async def _wait_for(predicate: Predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not reached in {timeout_s}s")


@pytest.fixture(scope="session")
def wait_for() -> WaitFor:
    """Poll an async predicate until it holds; fail naming what was awaited after a timeout."""
    return _wait_for


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
