"""The uvicorn server that runs the dashboard, built the same way for production and tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from chainwatch.dashboard.app import create_app
from chainwatch.dashboard.settings import DashboardSettings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DashboardServer(uvicorn.Server):
    """uvicorn's server, with the stop signals handled on the event loop.

    uvicorn's own handling re-raises the signal once it has shut down, so the process would
    end killed by SIGTERM (status 143) instead of returning from ``main``. Here a signal
    only asks the server to stop: it stops accepting, closes the websockets, gives open
    requests ``shutdown_grace_s`` to finish and runs the app's shutdown; a second SIGINT
    cuts the grace short.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            await self.serve()
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    def run_until_signalled(self) -> None:
        """Serve on uvicorn's preferred event loop (uvloop when installed) until a signal."""
        with asyncio.Runner(loop_factory=self.config.get_loop_factory()) as runner:
            runner.run(self.serve_until_signalled())


def build_server(settings: DashboardSettings) -> DashboardServer:
    """A server for the dashboard app; logging is left to the service's own configuration."""
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )
    return DashboardServer(config)
