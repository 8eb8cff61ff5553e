"""``chainwatch-drift``: run the drift service until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from chainwatch.drift.service import DriftService
from chainwatch.drift.settings import DriftSettings
from chainwatch.shared import bus, db
from chainwatch.shared.health import HealthServer
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.registry import open_store

logger = logging.getLogger("chainwatch.drift")


async def serve(settings: DriftSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, name="chainwatch-drift")
        stack.push_async_callback(nc.drain)
        js = nc.jetstream()
        await bus.ensure_streams(js)

        pool = await db.create_pool(settings.database)
        stack.push_async_callback(pool.close)
        await db.migrate(pool)

        service = DriftService(settings, js, pool, open_store(settings.registry))

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
        logger.info(
            "drift ready: window %d decisions, checked every %d, reference bootstrap %d",
            settings.window_size,
            settings.check_every,
            settings.bootstrap_size,
        )
        await service.run(stop)
    logger.info("drift stopped")


def main() -> None:
    settings = DriftSettings()
    configure_logging("drift", settings.log.level, settings.log.format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
