"""``chainwatch-scorer``: run the scorer until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from chainwatch.scorer.service import Scorer
from chainwatch.scorer.settings import ScorerSettings
from chainwatch.scorer.watchers import start_watchers
from chainwatch.shared import bus, db
from chainwatch.shared.health import HealthServer
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.registry import open_store

logger = logging.getLogger("chainwatch.scorer")


async def serve(settings: ScorerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, name="chainwatch-scorer")
        stack.push_async_callback(nc.drain)
        js = nc.jetstream()
        await bus.ensure_streams(js)

        pool = await db.create_pool(settings.database)
        stack.push_async_callback(pool.close)
        await db.migrate(pool)

        scorer = Scorer(settings, js, pool)
        for task in start_watchers(js, open_store(settings.registry), scorer.cascade):
            stack.callback(task.cancel)

        async def nats_connected() -> bool:
            return nc.is_connected

        async def database_answers() -> bool:
            return bool(await pool.fetchval("SELECT 1") == 1)

        health = HealthServer(
            settings.health_host,
            settings.health_port,
            {"nats": nats_connected, "database": database_answers},
        )
        await health.start()
        stack.push_async_callback(health.stop)
        logger.info("scorer ready: %d labelled addresses", len(scorer.labels))
        await scorer.run(stop)
    logger.info("scorer stopped")


def main() -> None:
    settings = ScorerSettings()
    configure_logging("scorer", settings.log.level, settings.log.format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
