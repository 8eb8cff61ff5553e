"""The ingest service: ``chainwatch-ingest`` (or ``python -m chainwatch.ingest``).

Reads its settings once, connects to NATS, declares the streams and runs the configured
source (``live``, ``local`` or ``replay``) until it is finished (a replay) or SIGINT /
SIGTERM arrives. On the way out the publishes in flight are finished (for at most
``shutdown_grace_s``) and the NATS connection is drained. Exit status: 0 done, 1 the bus
was unreachable, 2 a setting is unusable.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import AsyncExitStack

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chainwatch.ingest.health import SourceHealth
from chainwatch.ingest.live.backoff import Backoff
from chainwatch.ingest.live.client import MempoolRest
from chainwatch.ingest.live.handler import LiveHandler
from chainwatch.ingest.live.seen import SeenTxids
from chainwatch.ingest.live.source import ConnectionPolicy, LiveSource
from chainwatch.ingest.localserver.scenario import build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats
from chainwatch.ingest.publisher import TxPublisher
from chainwatch.ingest.replay import ReplayPlan, replay
from chainwatch.ingest.settings import IngestSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import ConfigurationError, TransientError
from chainwatch.shared.health import HealthServer
from chainwatch.shared.logs import configure_logging

logger = logging.getLogger(__name__)

SERVICE = "ingest"

INGEST_STREAMS = (*subjects.ALL_STREAMS, subjects.MEMPOOL_EVENTS_STREAM)
"""The streams ingest writes to, declared at start-up."""


async def run(settings: IngestSettings, stop: asyncio.Event) -> None:
    """Run the configured source until it is finished or ``stop`` is set."""
    async with AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, f"chainwatch-{SERVICE}")
        stack.push_async_callback(_drain, nc)
        js = nc.jetstream()
        await bus.ensure_streams(js, INGEST_STREAMS)

        publisher = TxPublisher(
            js,
            max_in_flight=settings.max_in_flight,
            publish_timeout_s=settings.publish_timeout_s,
        )
        stack.push_async_callback(publisher.close, settings.shutdown_grace_s)
        health = SourceHealth(settings.mode, stale_after_s=settings.stale_after_s)
        if settings.health_enabled:
            await _start_health_server(settings, stack, nc, health)

        if settings.mode == "replay":
            await _replay(settings, publisher, stop)
        else:
            base_url = settings.live_base_url
            if settings.mode == "local":
                base_url = await _start_local_server(settings, stack, stop)
            await run_live(settings, js, publisher, health, base_url, stop)
    logger.info("ingest stopped")


async def run_live(
    settings: IngestSettings,
    js: JetStreamContext,
    publisher: TxPublisher,
    health: SourceHealth,
    base_url: str,
    stop: asyncio.Event,
) -> None:
    """Follow the mempool.space-compatible API at ``base_url`` until ``stop`` is set."""
    seen = SeenTxids(settings.seen_capacity)
    blocks_done = SeenTxids(100_000)
    await seen.load_from_stream(js, settings.seen_lookback_s)
    await blocks_done.load_from_stream(
        js,
        settings.seen_lookback_s,
        subject=subjects.BLOCK_CONNECTED,
        stream=subjects.MEMPOOL_EVENTS_STREAM.name,
    )
    rest = MempoolRest(
        base_url,
        health=health,
        timeout_s=settings.request_timeout_s,
        max_attempts=settings.request_attempts,
        max_concurrent=settings.max_concurrent_requests,
    )
    try:
        handler = LiveHandler(
            source=base_url,
            publisher=publisher,
            rest=rest,
            seen=seen,
            blocks_done=blocks_done,
            resync_full_mempool=settings.resync_full_mempool,
            resync_max_txs=settings.resync_max_txs,
            catchup_blocks=settings.catchup_blocks,
            snapshot_min_interval_s=settings.snapshot_min_interval_s,
        )
        policy = ConnectionPolicy(
            track=settings.live_track,
            track_rbf=settings.live_track_rbf,
            open_timeout_s=settings.request_timeout_s,
            stale_after_s=settings.stale_after_s,
            backoff=Backoff(settings.reconnect_initial_s, settings.reconnect_max_s),
        )
        await LiveSource(base_url, handler, health, policy).run(stop)
    finally:
        await rest.aclose()


async def _replay(settings: IngestSettings, publisher: TxPublisher, stop: asyncio.Event) -> None:
    plan = ReplayPlan(
        data_dir=settings.data.data_dir,
        files=settings.replay_files,
        order=settings.replay_order,
        seed=settings.replay_seed,
        rate_tx_s=settings.replay_rate_tx_s,
    )
    await replay(publisher, plan, stop)
    if settings.keep_running and not stop.is_set():
        logger.info("replay finished; staying up until stopped")
        await stop.wait()


async def _start_local_server(
    settings: IngestSettings, stack: AsyncExitStack, stop: asyncio.Event
) -> str:
    """Start the local replay server on loopback and play its scenario; returns its URL."""
    scenario = build_scenario(
        settings.data.data_dir, settings.local_blocks, batch_size=settings.local_batch_size
    )
    server = await LocalMempoolServer(scenario, RecordedStats.load(settings.data.data_dir)).start()
    stack.push_async_callback(server.stop)
    player = asyncio.create_task(server.play(settings.local_steps_per_s, stop))
    stack.push_async_callback(_finish, player)
    return server.base_url


async def _finish(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _start_health_server(
    settings: IngestSettings, stack: AsyncExitStack, nc: NATS, health: SourceHealth
) -> None:
    """``/healthz``, ``/readyz`` (bus connected, source healthy) and ``/metrics``."""

    async def bus_connected() -> bool:
        return nc.is_connected

    async def source_healthy() -> bool:
        return settings.mode == "replay" or health.report().healthy

    server = HealthServer(
        settings.health_host,
        settings.health_port,
        {"nats": bus_connected, "source": source_healthy},
    )
    try:
        await server.start()
    except OSError as exc:  # health is for probes; the service itself can still do its work
        logger.warning("health endpoint not started on port %d: %s", settings.health_port, exc)
        return
    stack.push_async_callback(server.stop)


async def _drain(nc: NATS) -> None:
    try:
        await nc.drain()
    except nats.errors.ConnectionClosedError:
        return


async def _serve(settings: IngestSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run(settings, stop)
    except ConfigurationError as exc:
        logger.error("cannot start: %s", exc)
        return 2
    except TransientError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    return 0


def main() -> None:
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log.level, settings.log.format)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise
    sys.exit(asyncio.run(_serve(settings)))


if __name__ == "__main__":
    main()
