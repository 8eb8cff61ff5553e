"""``chainwatch-lightning``: analyse channel-graph snapshots, publish and serve their health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from chainwatch.lightning.api import ReadinessCheck, create_app
from chainwatch.lightning.catalog import SnapshotCatalog
from chainwatch.lightning.service import LightningService
from chainwatch.lightning.settings import LightningSettings
from chainwatch.shared import bus
from chainwatch.shared.lightning import LIGHTNING_STREAM
from chainwatch.shared.logs import configure_logging

logger = logging.getLogger("chainwatch.lightning")


class ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service's stop event ends it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1]) if self.servers else 0


async def serve(settings: LightningSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set: the API, and a scan of the snapshot folder every
    ``rescan_s``; then stop the API and drain the NATS connection."""
    async with contextlib.AsyncExitStack() as stack:
        checks: dict[str, ReadinessCheck] = {}
        js = None
        if settings.publish:
            nc = await bus.connect(settings.nats, name="chainwatch-lightning")
            stack.push_async_callback(nc.drain)
            js = nc.jetstream()
            await bus.ensure_streams(js, [LIGHTNING_STREAM])

            async def nats_connected() -> bool:
                return nc.is_connected

            checks["nats"] = nats_connected

        catalog = SnapshotCatalog(settings.analysis)
        server = ApiServer(
            uvicorn.Config(
                create_app(catalog, checks),
                host=settings.health_host,
                port=settings.health_port,
                lifespan="off",
                log_config=None,
                access_log=False,
                server_header=False,
            )
        )
        api = asyncio.create_task(server.serve())
        stack.push_async_callback(_stop_server, server, api)
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({ready, api}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        logger.info(
            "lightning ready: API on http://%s:%d/, snapshots in %s",
            settings.health_host,
            server.port,
            settings.snapshots,
        )
        await LightningService(settings, catalog, js).run(stop)
    logger.info("lightning stopped")


async def _stop_server(server: ApiServer, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


async def _until_signalled(settings: LightningSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


def main() -> None:
    settings = LightningSettings()
    configure_logging("lightning", settings.log.level, settings.log.format)
    asyncio.run(_until_signalled(settings))


if __name__ == "__main__":
    main()
