"""The dashboard's FastAPI app: its routes, and the connections it holds while it runs.

``create_app(settings)`` builds the app; its lifespan opens the PostgreSQL pool (and brings
the schema up to date), connects to NATS and starts relaying decisions to the live feed.
On shutdown it stops the relay, drains the NATS connection and closes the pool, in that
order, through one exit stack.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from nats.aio.client import Client as NATS

from chainwatch.dashboard.deps import Resources
from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.headers import SecurityHeadersMiddleware
from chainwatch.dashboard.relay import DecisionRelay
from chainwatch.dashboard.routes import api, health, pages, ws
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.shared import bus, db
from chainwatch.shared.errors import TransientError

logger = logging.getLogger(__name__)

SERVICE_NAME = "chainwatch-dashboard"
STATIC_DIR = Path(__file__).resolve().parent / "static"
RETRY_AFTER_S = 5


def create_app(settings: DashboardSettings) -> FastAPI:
    """The dashboard app; it connects to NATS and PostgreSQL when its lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.resources = await _open(settings, stack)
            logger.info("dashboard ready")
            yield
            logger.info("dashboard stopping")

    app = FastAPI(
        title="chainwatch dashboard",
        summary="Risk decisions on Bitcoin transactions, live and from the audit trail",
        version="1",
        lifespan=lifespan,
        # The interactive docs pages load their scripts from a CDN, which no page of this
        # service may do; the schema itself stays at /openapi.json.
        # TODO(issue 7): serve the API docs page from static files of our own.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(TransientError, _unavailable)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (pages.router, api.router, ws.router, health.router):
        app.include_router(router)
    return app


async def _open(settings: DashboardSettings, stack: AsyncExitStack) -> Resources:
    """Open the pool, the bus and the relay; register each one's close on ``stack``."""
    pool = await db.create_pool(settings.database)
    stack.push_async_callback(pool.close)
    await db.migrate(pool)

    nc = await bus.connect(settings.nats, SERVICE_NAME)
    stack.push_async_callback(_drain, nc)

    hub = FeedHub(settings.feed_queue_size)
    relay = DecisionRelay(nc, hub)
    await relay.start()
    stack.push_async_callback(relay.stop)

    return Resources(settings=settings, pool=pool, nc=nc, hub=hub, relay=relay)


async def _drain(nc: NATS) -> None:
    if not nc.is_closed:
        await nc.drain()
    logger.info("nats connection closed")


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
