"""The ingest service as a process: settings from the environment, exit, signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from chainwatch.devstack.servers import NatsServer, free_port
from chainwatch.ingest.__main__ import run
from chainwatch.ingest.settings import IngestSettings
from chainwatch.shared import subjects
from chainwatch.shared.settings import DataSettings, NatsSettings


def test_settings_read_comma_separated_files_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "CHAINWATCH_INGEST_REPLAY_FILES": "block277647, mempool_api/derived/*.jsonl.gz",
        "CHAINWATCH_INGEST_REPLAY_RATE_TX_S": "0",
        "CHAINWATCH_DATA_DIR": str(tmp_path),
        "CHAINWATCH_NATS_URL": "nats://127.0.0.1:1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = IngestSettings()
    assert settings.replay_files == ("block277647", "mempool_api/derived/*.jsonl.gz")
    assert settings.replay_rate_tx_s == 0
    assert settings.data.data_dir == tmp_path
    assert settings.nats.url == "nats://127.0.0.1:1"


async def test_run_replays_and_returns_when_finished(
    js: JetStreamContext, own_nats_settings: NatsSettings, data_dir: Path
) -> None:
    settings = IngestSettings(
        mode="replay",
        health_enabled=False,
        replay_files=("block277647",),
        replay_rate_tx_s=0,
        nats=own_nats_settings,
        data=DataSettings(data_dir=data_dir),
    )
    await asyncio.wait_for(run(settings, asyncio.Event()), 30)
    assert (await js.stream_info(subjects.TX_RAW_STREAM.name)).state.messages == 213


async def test_sigterm_stops_a_service_that_keeps_running(
    own_nats: NatsServer, data_dir: Path
) -> None:
    env = dict(
        os.environ,
        CHAINWATCH_NATS_URL=own_nats.url,
        CHAINWATCH_DATA_DIR=str(data_dir),
        CHAINWATCH_INGEST_MODE="replay",
        CHAINWATCH_INGEST_HEALTH_PORT="0",
        CHAINWATCH_INGEST_REPLAY_FILES="block277647",
        CHAINWATCH_INGEST_REPLAY_RATE_TX_S="0",
        CHAINWATCH_INGEST_KEEP_RUNNING="true",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.ingest", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"staying up" not in (line := await process.stderr.readline()):
                assert line, "the service exited before the replay finished"
            process.send_signal(signal.SIGTERM)
            rest = await process.stderr.read()
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert b"ingest stopped" in rest


async def test_local_mode_process_is_ready_and_counts_what_it_published(
    own_nats: NatsServer, data_dir: Path
) -> None:
    port = free_port()
    env = dict(
        os.environ,
        CHAINWATCH_NATS_URL=own_nats.url,
        CHAINWATCH_DATA_DIR=str(data_dir),
        CHAINWATCH_INGEST_MODE="local",
        CHAINWATCH_INGEST_LOCAL_BLOCKS="block277647",
        CHAINWATCH_INGEST_LOCAL_STEPS_PER_S="200",
        CHAINWATCH_INGEST_HEALTH_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.ingest", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"block 277647: 213 txs confirmed" not in (
                line := await process.stderr.readline()
            ):
                assert line, "the service exited early"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                ready = await client.get("/readyz")
                metrics = (await client.get("/metrics")).text
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert ready.status_code == 200 and ready.json()["checks"] == {"nats": True, "source": True}
    assert 'chainwatch_ingest_published_total{subject="chainwatch.tx.confirmed"} 213.0' in metrics
