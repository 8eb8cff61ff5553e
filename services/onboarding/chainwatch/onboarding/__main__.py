"""``chainwatch-onboarding``: serve decisions, train a model, or verify the audit chain.

* ``chainwatch-onboarding`` (or ``serve``): answer ``chainwatch.onboarding.score`` and the
  HTTP API until SIGINT or SIGTERM, serving the promoted version of the model (trained at
  start when there is none and ``CHAINWATCH_ONBOARDING_TRAIN_IF_MISSING`` is set).
* ``chainwatch-onboarding train [--no-promote]``: cross-validate, fit, store the version with
  its card, promote it if it passes the gate, and print the card's figures as Markdown.
* ``chainwatch-onboarding verify-audit [--anchor SEQ:HASH]``: check the chain's database
  functions against their pinned digests, walk the decisions' hash chain, and check anchors
  taken earlier; exit 0 when whole, 1 naming what is broken, 2 when the check could not run.
* ``chainwatch-onboarding audit-anchor``: print the chain's head (``SEQ:HASH``) to keep
  outside the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator

import asyncpg
import uvicorn
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chainwatch.explainer.claude import ClaudeWriter
from chainwatch.onboarding import audit
from chainwatch.onboarding.api import ReadinessCheck, create_app
from chainwatch.onboarding.dataset import load_credit_data
from chainwatch.onboarding.grounded import SYSTEM_PROMPT, GroundedNarrator
from chainwatch.onboarding.pipeline import publish_version, train_version
from chainwatch.onboarding.report import markdown_report
from chainwatch.onboarding.responder import Responder
from chainwatch.onboarding.service import OnboardingService
from chainwatch.onboarding.settings import OnboardingSettings
from chainwatch.onboarding.watcher import follow_model
from chainwatch.shared import bus, db
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.model_store import ModelStore, VersionNotFoundError
from chainwatch.shared.registry import current_version, open_store

logger = logging.getLogger("chainwatch.onboarding")

SERVICE_NAME = "chainwatch-onboarding"


class ApiServer(uvicorn.Server):
    """uvicorn that leaves signals to the service and says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service's stop event ends the server, not uvicorn's own handlers

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()

    @property
    def bound_port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1]) if self.servers else 0


async def serve(settings: OnboardingSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set, then answer what is in hand and close everything."""
    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, name=SERVICE_NAME)
        stack.push_async_callback(_drain, nc)
        js = nc.jetstream()

        pool = await db.create_pool(settings.database)
        stack.push_async_callback(pool.close)
        await db.migrate(pool)

        store = open_store(settings.registry)
        writer = None
        if settings.claude.api_key is not None:
            writer = ClaudeWriter(settings.claude, system_prompt=SYSTEM_PROMPT)
            stack.push_async_callback(writer.close)
        narrator = GroundedNarrator(writer, settings.narrative_timeout_s)
        service = OnboardingService(pool, narrator, settings.model_name)
        watcher = asyncio.create_task(follow_model(js, store, service, settings.model_name))
        stack.push_async_callback(_cancel, watcher)

        async def nats_connected() -> bool:
            return nc.is_connected

        async def database_answers() -> bool:
            return bool(await pool.fetchval("SELECT 1") == 1)

        checks: dict[str, ReadinessCheck] = {"nats": nats_connected, "database": database_answers}
        app = create_app(service, pool, checks, settings.max_request_bytes)
        server = ApiServer(
            uvicorn.Config(
                app,
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
        await _until_listening(server, api)

        responder = Responder(nc, service, max_request_bytes=settings.max_request_bytes)
        await responder.start()
        stack.push_async_callback(responder.stop)
        logger.info(
            "onboarding ready: API on http://%s:%d/", settings.health_host, server.bound_port
        )
        if settings.train_if_missing and not await _servable(js, store, settings.model_name):
            training = asyncio.create_task(_train_and_promote(settings, js, store))
            stack.push_async_callback(_finish, training)
        await stop.wait()
        logger.info("onboarding stopping")
    logger.info("onboarding stopped")


async def _servable(js: JetStreamContext, store: ModelStore, name: str) -> bool:
    """Whether a version of ``name`` is promoted and its files are in ``store``."""
    version = await current_version(js, name)
    if version is None:
        return False
    try:
        await store.get_version(name, version)
    except VersionNotFoundError:
        logger.warning("%s %s is promoted but not in %s", name, version, store.uri)
        return False
    return True


async def _train_and_promote(
    settings: OnboardingSettings, js: JetStreamContext, store: ModelStore
) -> None:
    """Train, store and promote a version; requests are answered 503 until it is loaded."""
    logger.info("no servable %s: training one", settings.model_name)
    try:
        data = load_credit_data(settings.data.data_dir)
        trained = await asyncio.to_thread(train_version, settings, data)
        await publish_version(js, store, trained)
    except Exception:  # a background task's boundary: the service runs on, without a model
        logger.exception("training at start failed; nothing serves until a version is promoted")


async def _finish(task: asyncio.Task[None]) -> None:
    """Let a training in progress end: its thread cannot be interrupted."""
    await task


async def _until_listening(server: ApiServer, api: asyncio.Task[None]) -> None:
    listening = asyncio.create_task(server.listening.wait())
    await asyncio.wait({listening, api}, return_when=asyncio.FIRST_COMPLETED)
    listening.cancel()
    if api.done():
        api.result()  # re-raises why the server could not start
        raise RuntimeError("the HTTP API stopped before it listened")


async def _stop_server(server: ApiServer, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _drain(nc: NATS) -> None:
    if not nc.is_closed:
        await nc.drain()


async def _serve_until_signalled(settings: OnboardingSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


async def _train(settings: OnboardingSettings, promote: bool) -> int:
    data = load_credit_data(settings.data.data_dir)
    trained = await asyncio.to_thread(train_version, settings, data)
    store = open_store(settings.registry)
    if promote:
        nc = await bus.connect(settings.nats, name=f"{SERVICE_NAME}-train")
        try:
            pointer = await publish_version(nc.jetstream(), store, trained)
        finally:
            await nc.drain()
        outcome = "promoted" if pointer else "stored, not promoted (see the log)"
    else:
        name, version = trained.model.name, trained.model.version
        await store.put_version(name, version, trained.files, trained.card)
        outcome = "stored, not promoted (--no-promote)"
    print(markdown_report(trained.card))  # noqa: T201 - command-line output
    print(f"\n{trained.model.name} {trained.model.version}: {outcome}")  # noqa: T201
    return 0


async def _verify(settings: OnboardingSettings, command: str, anchors: list[str]) -> int:
    conn = await asyncpg.connect(settings.database.url.get_secret_value())
    try:
        if command == "audit-anchor":
            current = await audit.head(conn)
            print("empty" if current is None else f"{current[0]}:{current[1].hex()}")  # noqa: T201
            return 0
        if replaced := await audit.replaced_functions(conn):
            print(f"BROKEN: audit functions replaced or missing: {', '.join(replaced)}")  # noqa: T201
            return 1
        report = await audit.verify_chain(conn)
        problems = []
        for anchor in anchors:
            seq, _, digest = anchor.partition(":")
            if problem := await audit.check_anchor(conn, int(seq), bytes.fromhex(digest)):
                problems.append(problem)
    finally:
        await conn.close()
    if report.first_break is not None:
        print(f"BROKEN after {report.rows_checked} good rows: {report.first_break}")  # noqa: T201
        return 1
    if problems:
        print(f"BROKEN: {'; '.join(problems)}")  # noqa: T201
        return 1
    print(f"onboarding audit chain intact: {report.rows_checked} rows")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="chainwatch-onboarding", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "train", "verify-audit", "audit-anchor"],
    )
    parser.add_argument("--no-promote", action="store_true", help="train: store only")
    parser.add_argument(
        "--anchor", action="append", default=[], metavar="SEQ:HASH", help="verify-audit: a head"
    )
    args = parser.parse_args(argv)

    settings = OnboardingSettings()
    configure_logging("onboarding", settings.log.level, settings.log.format)
    if args.command == "serve":
        asyncio.run(_serve_until_signalled(settings))
        return
    if args.command == "train":
        sys.exit(asyncio.run(_train(settings, promote=not args.no_promote)))
    try:
        code = asyncio.run(_verify(settings, args.command, args.anchor))
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)  # noqa: T201
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
