"""``chainwatch-explainer``: run the explainer until SIGINT or SIGTERM.

``chainwatch-explainer verify`` instead walks the chain of stored explanations and exits 0
when it is whole, 1 when it is broken (the row is printed), 2 when the check could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import asyncpg

from chainwatch.explainer.attributor import Attributor
from chainwatch.explainer.audit import verify_chain
from chainwatch.explainer.claude import ClaudeWriter
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.narrator import Narrator
from chainwatch.explainer.service import Explainer
from chainwatch.explainer.settings import ExplainerSettings
from chainwatch.shared import bus, db
from chainwatch.shared.health import HealthServer
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.registry import open_store
from chainwatch.shared.settings import DatabaseSettings

logger = logging.getLogger("chainwatch.explainer")


async def serve(settings: ExplainerSettings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set; without one, until SIGINT or SIGTERM."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, name="chainwatch-explainer")
        stack.push_async_callback(nc.drain)
        js = nc.jetstream()
        await bus.ensure_streams(js)

        pool = await db.create_pool(settings.database)
        stack.push_async_callback(pool.close)
        await db.migrate(pool)

        writer = None
        if settings.claude.api_key is not None:
            writer = ClaudeWriter(settings.claude)
            stack.push_async_callback(writer.close)
        attributor = Attributor(
            ModelCache(open_store(settings.registry), settings.model_cache_size), settings.top_k
        )
        narrator = Narrator(writer, settings.narrative_budget_s)
        explainer = Explainer(settings, js, pool, attributor, narrator)

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
            "explainer ready: explaining %s decisions, narratives by %s",
            settings.explain,
            f"Claude ({settings.claude.model})" if writer else "the template (no Claude key)",
        )
        await explainer.run(stop)
    logger.info("explainer stopped")


async def verify(settings: DatabaseSettings) -> int:
    conn = await asyncpg.connect(settings.url.get_secret_value())
    try:
        report = await verify_chain(conn)
    finally:
        await conn.close()
    if report.first_break is not None:
        seq, txid, problem = report.first_break
        seq_txid = f"chain_seq={seq} txid={txid}"
        print(f"BROKEN after {report.rows_checked} good rows: {seq_txid}: {problem}")  # noqa: T201
        return 1
    print(f"explanation chain intact: {report.rows_checked} rows")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="chainwatch-explainer", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", nargs="?", choices=["run", "verify"], default="run")
    args = parser.parse_args(argv)

    if args.command == "verify":
        try:
            code = asyncio.run(verify(DatabaseSettings()))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"cannot verify: {exc}", file=sys.stderr)  # noqa: T201
            code = 2
        sys.exit(code)

    settings = ExplainerSettings()
    configure_logging("explainer", settings.log.level, settings.log.format)
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one INFO line per Claude request
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
