"""The entrypoint: settings from the environment, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys

import pytest

from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.devstack.servers import free_port
from chainwatch.shared.settings import DatabaseSettings, NatsSettings


def test_settings_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINWATCH_DASHBOARD_ENVIRONMENT", "development")
    monkeypatch.setenv("CHAINWATCH_DASHBOARD_PORT", "8123")
    monkeypatch.setenv("CHAINWATCH_DASHBOARD_FEED_QUEUE_SIZE", "16")
    monkeypatch.setenv("CHAINWATCH_NATS_URL", "nats://127.0.0.1:4999")

    settings = DashboardSettings()

    assert settings.host == "127.0.0.1"
    assert settings.port == 8123
    assert settings.feed_queue_size == 16
    assert settings.nats.servers == ["nats://127.0.0.1:4999"]


async def test_dashboard_process_serves_then_stops_cleanly_on_sigterm(
    nats_settings: NatsSettings, database_settings: DatabaseSettings
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHAINWATCH_DASHBOARD_PORT": str(port),
        "CHAINWATCH_NATS_URL": nats_settings.url,
        "CHAINWATCH_DATABASE_URL": database_settings.url.get_secret_value(),
        "CHAINWATCH_DASHBOARD_SESSION_SECRET": secrets.token_hex(32),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.dashboard",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    log: list[str] = []
    try:
        async with asyncio.timeout(20):
            while "Uvicorn running on" not in (line := await _line(process)):
                assert line, "the dashboard exited before it was ready:\n" + "".join(log)
                log.append(line)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: dashboard\r\nConnection: close\r\n\r\n")
            status_line = (await reader.readline()).decode()
            writer.close()

            process.send_signal(signal.SIGTERM)
            rest = (await process.stderr.read()).decode()
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert status_line.startswith("HTTP/1.1 200")
    assert returncode == 0
    assert "nats connection closed" in rest
    assert "dashboard stopped" in rest


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    return (await process.stderr.readline()).decode()
