"""Ingest throughput: recorded real transactions to JetStream, in transactions per second.

Two paths, each against a fresh nats-server with JetStream (file storage) on loopback:

- **replay**: files from the data dir read, normalised and published on
  ``chainwatch.tx.raw`` with pipelined acks (the ``replay`` mode);
- **live**: the local mempool.space server streams the same recorded blocks over its
  websocket, and the live source normalises and publishes them, then confirms the block
  (the ``live`` mode against a local instance).

A transaction counts once JetStream has acknowledged it. Run ``python
benchmarks/bench_ingest.py --help`` for the knobs; ``make bench`` runs it with defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from chainwatch.devstack.servers import NatsServer
from chainwatch.ingest.__main__ import INGEST_STREAMS, run
from chainwatch.ingest.localserver.scenario import build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats
from chainwatch.ingest.publisher import TxPublisher
from chainwatch.ingest.replay import ReplayPlan, replay
from chainwatch.ingest.settings import IngestSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.settings import DataSettings, NatsSettings


async def bench_replay(nats: NatsSettings, data_dir: Path, files: str, in_flight: int) -> float:
    nc = await bus.connect(nats, "bench-replay")
    js = nc.jetstream()
    await bus.ensure_streams(js, INGEST_STREAMS)
    publisher = TxPublisher(js, max_in_flight=in_flight)
    plan = ReplayPlan(data_dir=data_dir, files=tuple(files.split(",")))
    result = await replay(publisher, plan, asyncio.Event())
    await nc.drain()
    print(  # noqa: T201 - command-line output
        f"replay {files}: {result.published} tx published, {result.dead_lettered} dead-lettered,"
        f" in {result.elapsed_s:.2f} s = {result.published / result.elapsed_s:,.0f} tx/s"
    )
    return result.published / result.elapsed_s


async def bench_live(nats: NatsSettings, data_dir: Path, blocks: str) -> float:
    scenario = build_scenario(data_dir, blocks.split(","), batch_size=500)
    expected = len(scenario.txids)
    nc = await bus.connect(nats, "bench-live")
    done = asyncio.Event()
    seen = 0

    async def count(_: object) -> None:
        nonlocal seen
        seen += 1
        if seen >= len(scenario.blocks):
            done.set()

    sub = await nc.subscribe(subjects.BLOCK_CONNECTED, cb=count)
    async with LocalMempoolServer(scenario, RecordedStats.load(data_dir)) as server:
        settings = IngestSettings(
            mode="live",
            live_base_url=server.base_url,
            health_enabled=False,
            snapshot_min_interval_s=1.0,
            nats=nats,
            data=DataSettings(data_dir=data_dir),
        )
        stop = asyncio.Event()
        service = asyncio.create_task(run(settings, stop))
        await server.wait_subscriptions(1)
        started_s = time.monotonic()
        await server.advance(len(scenario.steps))
        await asyncio.wait_for(done.wait(), 300)
        elapsed_s = time.monotonic() - started_s
        stop.set()
        await service
    stored = (await nc.jetstream().stream_info(subjects.TX_RAW_STREAM.name)).state.messages
    await sub.unsubscribe()
    await nc.drain()
    print(  # noqa: T201 - command-line output
        f"live {blocks} via local websocket: {stored} of {expected} tx stored in {elapsed_s:.2f} s"
        f" = {stored / elapsed_s:,.0f} tx/s (with {len(scenario.blocks)} block confirmations)"
    )
    return stored / elapsed_s


async def main_async(args: argparse.Namespace) -> None:
    data_dir = DataSettings().data_dir
    replay_rates: list[float] = []
    live_rates: list[float] = []
    for _ in range(args.runs):
        with fresh_nats() as nats:
            replay_rates.append(await bench_replay(nats, data_dir, args.files, args.in_flight))
        if not args.skip_live:
            with fresh_nats() as nats:
                live_rates.append(await bench_live(nats, data_dir, args.blocks))
    print(  # noqa: T201 - command-line output
        f"replay -> JetStream: median {statistics.median(replay_rates):,.0f} tx/s"
        f" over {len(replay_rates)} runs"
    )
    if live_rates:
        print(  # noqa: T201 - command-line output
            f"live (local websocket) -> JetStream: median {statistics.median(live_rates):,.0f}"
            f" tx/s over {len(live_rates)} runs"
        )


@contextlib.contextmanager
def fresh_nats() -> Iterator[NatsSettings]:
    """A nats-server of its own, so no run sees another's messages or duplicate window."""
    with tempfile.TemporaryDirectory() as store:
        server = NatsServer(Path(store)).start()
        try:
            yield NatsSettings(url=server.url, connect_attempts=3)
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="ingest throughput, recorded data to JetStream")
    parser.add_argument("--files", default="all", help="replay presets or paths, comma-separated")
    parser.add_argument("--blocks", default="block574200", help="blocks for the live path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=256, help="publishes awaiting acks")
    parser.add_argument("--skip-live", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
