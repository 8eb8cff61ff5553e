"""The dashboard's FastAPI app: its routes, and the connections it holds while it runs.

``create_app(settings)`` builds the app; its lifespan opens the PostgreSQL pool (and brings
the schema up to date), connects to NATS, starts relaying decisions to the live feed and
starts the background workers: the verdict outbox, the transaction archive and the
pruning of old sessions. On shutdown it stops them, drains the NATS connection and
closes the pool, in that order, through one exit stack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from nats.aio.client import Client as NATS

from chainwatch.dashboard.auth.sessions import SessionStore
from chainwatch.dashboard.auth.throttle import LoginThrottle
from chainwatch.dashboard.cases.archive import TransactionArchive
from chainwatch.dashboard.cases.outbox import VerdictOutbox
from chainwatch.dashboard.deps import Resources
from chainwatch.dashboard.errors import DashboardError, LoginThrottled, SignInRequired
from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.headers import SecurityHeadersMiddleware
from chainwatch.dashboard.relay import DecisionRelay
from chainwatch.dashboard.routes import (
    admin,
    alerts,
    api,
    audit,
    auth,
    cases,
    docs,
    health,
    operations,
    panels,
    ws,
)
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.dashboard.templating import templates
from chainwatch.shared import bus, db
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import TransientError

logger = logging.getLogger(__name__)

SERVICE_NAME = "chainwatch-dashboard"
STATIC_DIR = Path(__file__).resolve().parent / "static"
RETRY_AFTER_S = 5
PRUNE_EVERY_S = 600.0


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
        summary="Risk decisions on Bitcoin transactions, alerts, cases and verdicts",
        version="1",
        lifespan=lifespan,
        # FastAPI's interactive docs load scripts from a CDN, which no page here may do;
        # /api/docs renders the same OpenAPI document on the server.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(TransientError, _unavailable)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(DashboardError, _dashboard_error)
    for error in UNSTORABLE_TEXT:
        app.add_exception_handler(error, _unstorable_text)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, alerts, cases, audit, operations, panels, admin, docs, ws, health):
        app.include_router(module.router)
    app.include_router(auth.api_router)
    app.include_router(api.router)
    return app


async def _open(settings: DashboardSettings, stack: AsyncExitStack) -> Resources:
    """Open the pool, the bus, the relay and the workers; register each one's close."""
    pool = await db.create_pool(settings.database)
    stack.push_async_callback(pool.close)
    await db.migrate(pool)

    nc = await bus.connect(settings.nats, SERVICE_NAME)
    stack.push_async_callback(_drain, nc)
    js = nc.jetstream()

    archive = TransactionArchive(pool, js)
    hub = FeedHub(settings.feed_queue_size)
    relay = DecisionRelay(nc, hub, on_flagged=archive.request)
    await relay.start()
    stack.push_async_callback(relay.stop)

    sessions = SessionStore(
        pool,
        settings.secret_key(),
        max_age_s=settings.session_max_age_s,
        idle_s=settings.session_idle_s,
    )
    throttle = LoginThrottle(pool, settings)
    outbox = VerdictOutbox(
        pool, js, poll_s=settings.outbox_poll_s, publish_timeout_s=settings.outbox_publish_timeout_s
    )

    stop = asyncio.Event()
    workers = [
        asyncio.create_task(outbox.run(stop), name="verdict-outbox"),
        asyncio.create_task(archive.run(stop), name="transaction-archive"),
        asyncio.create_task(_prune(stop, sessions, throttle), name="prune"),
    ]

    async def stop_workers() -> None:
        # The outbox finishes the round in hand (a verdict's publish is then recorded); the
        # archive and the pruning hold nothing that a later run would not redo.
        stop.set()
        outbox.wake()
        for task in workers[1:]:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    stack.push_async_callback(stop_workers)
    return Resources(
        settings=settings,
        pool=pool,
        nc=nc,
        js=js,
        hub=hub,
        relay=relay,
        sessions=sessions,
        throttle=throttle,
        outbox=outbox,
        archive=archive,
    )


async def _prune(stop: asyncio.Event, sessions: SessionStore, throttle: LoginThrottle) -> None:
    """Remove ended sessions and aged-out sign-in failures, every ``PRUNE_EVERY_S``."""
    while not stop.is_set():
        try:
            await sessions.prune()
            await throttle.prune()
        except DATABASE_ERRORS as exc:
            logger.warning("could not prune sessions: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), PRUNE_EVERY_S)
        except TimeoutError:
            continue


async def _drain(nc: NATS) -> None:
    """Drain the connection; one that is reconnecting has nothing to drain and is closed."""
    if nc.is_connecting or nc.is_reconnecting:
        await nc.close()
    elif not nc.is_closed:
        await nc.drain()
    logger.info("nats connection closed")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


async def _unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("%s %s: %s", request.method, request.url.path, exc)
    detail = str(exc) if isinstance(exc, TransientError) else "database unavailable"
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


UNSTORABLE_TEXT: tuple[type[Exception], ...] = (
    asyncpg.CharacterNotInRepertoireError,
    asyncpg.UntranslatableCharacterError,
)
"""Text PostgreSQL refuses to hold (a NUL byte, say): the request's fault, not the server's."""


async def _unstorable_text(request: Request, exc: Exception) -> Response:
    logger.info("%s %s: refused text: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        {"detail": "the request holds characters that cannot be stored or searched (NUL)"},
        status_code=status.HTTP_400_BAD_REQUEST,
    )


async def _dashboard_error(request: Request, exc: Exception) -> Response:
    """Answer a ``DashboardError`` with its status: a page for browsers, JSON for the API."""
    assert isinstance(exc, DashboardError)
    headers = {}
    if isinstance(exc, LoginThrottled):
        headers["Retry-After"] = str(int(exc.retry_after_s) + 1)
    if not _wants_html(request):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)
    if isinstance(exc, SignInRequired) and request.method == "GET":
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status.HTTP_303_SEE_OTHER)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status_code": exc.status_code, "message": str(exc)},
        status_code=exc.status_code,
        headers=headers,
    )
