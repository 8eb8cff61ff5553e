"""``chainwatch-learner``: learn from analysts' verdicts until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from chainwatch.learner.service import Learner, resume
from chainwatch.learner.settings import LearnerSettings
from chainwatch.shared import bus
from chainwatch.shared.health import HealthServer
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.registry import open_store
from chainwatch.shared.verdicts import REVIEW_STREAM

logger = logging.getLogger("chainwatch.learner")


async def serve(settings: LearnerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, name="chainwatch-learner")
        stack.push_async_callback(nc.drain)
        js = nc.jetstream()
        await bus.ensure_streams(js, [REVIEW_STREAM])

        store = open_store(settings.registry)
        learner = Learner(settings, js, store, await resume(js, store, settings))

        async def nats_connected() -> bool:
            return nc.is_connected

        health = HealthServer(settings.health_host, settings.health_port, {"nats": nats_connected})
        await health.start()
        stack.push_async_callback(health.stop)
        logger.info("learner ready")
        await learner.run(stop)
    logger.info("learner stopped")


def main() -> None:
    settings = LearnerSettings()
    configure_logging("learner", settings.log.level, settings.log.format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
