"""The ingest service: ``chainwatch-ingest`` (or ``python -m chainwatch.ingest``).

Reads its settings once, connects to NATS, declares the streams and runs the configured
source until it is finished (a replay) or SIGINT / SIGTERM arrives. On the way out the
publishes in flight are finished (for at most ``shutdown_grace_s``) and the NATS connection
is drained. Exit status: 0 done, 1 the bus was unreachable, 2 a setting is unusable.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import AsyncExitStack

import nats.errors
from nats.aio.client import Client as NATS

from chainwatch.ingest.publisher import TxPublisher
from chainwatch.ingest.replay import ReplayPlan, replay
from chainwatch.ingest.settings import IngestSettings
from chainwatch.shared import bus
from chainwatch.shared.errors import ConfigurationError, TransientError
from chainwatch.shared.logs import configure_logging

logger = logging.getLogger(__name__)

SERVICE = "ingest"


async def run(settings: IngestSettings, stop: asyncio.Event) -> None:
    """Run the configured source until it is finished or ``stop`` is set."""
    async with AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, f"chainwatch-{SERVICE}")
        stack.push_async_callback(_drain, nc)
        js = nc.jetstream()
        await bus.ensure_streams(js)

        publisher = TxPublisher(
            js,
            max_in_flight=settings.max_in_flight,
            publish_timeout_s=settings.publish_timeout_s,
        )
        stack.push_async_callback(publisher.close, settings.shutdown_grace_s)

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
    logger.info("ingest stopped")


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
    sys.exit(asyncio.run(_serve(settings)))


if __name__ == "__main__":
    main()
