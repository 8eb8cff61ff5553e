"""``chainwatch-fees``: run the fees service until SIGINT or SIGTERM.

Exit status: 0 stopped, 1 the bus was unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chainwatch.fees.book import LiveMempool
from chainwatch.fees.estimator import FeeEstimator
from chainwatch.fees.http import FeesHttpServer
from chainwatch.fees.model import MODEL_NAME
from chainwatch.fees.service import FeesService, cancel_and_wait
from chainwatch.fees.settings import FeesSettings
from chainwatch.fees.train import default_version, gate, register, train_fee_model
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import TransientError
from chainwatch.shared.fee_events import FEES_ESTIMATE, FEES_STREAM
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import current_pointer, open_store

logger = logging.getLogger("chainwatch.fees")

FEES_STREAMS = (
    subjects.TX_RAW_STREAM,
    subjects.DEADLETTER_STREAM,
    subjects.MEMPOOL_EVENTS_STREAM,
    FEES_STREAM,
)
"""Declared at start-up: what the service reads (ingest declares them too) and writes."""


async def serve(settings: FeesSettings, stop: asyncio.Event) -> None:
    async with contextlib.AsyncExitStack() as stack:
        nc = await bus.connect(settings.nats, "chainwatch-fees")
        stack.push_async_callback(_drain, nc)
        js = nc.jetstream()
        await bus.ensure_streams(js, FEES_STREAMS)

        store = open_store(settings.registry)
        estimator = FeeEstimator(LiveMempool(settings.max_mempool_txs))
        service = FeesService(settings, js, estimator, store)

        async def nats_connected() -> bool:
            return nc.is_connected

        http = FeesHttpServer(
            settings.health_host, settings.health_port, {"nats": nats_connected}, estimator
        )
        await http.start()
        stack.push_async_callback(http.stop)

        watcher = asyncio.create_task(service.watch_model(), name="watch-fees-model")
        stack.push_async_callback(cancel_and_wait, watcher)
        if settings.train_if_missing:
            trainer = asyncio.create_task(_train_if_missing(settings, js, store))
            stack.push_async_callback(cancel_and_wait, trainer)

        await service.start()
        stack.push_async_callback(service.stop)
        logger.info("fees ready: estimates on %s", FEES_ESTIMATE)
        await service.run(stop)
    logger.info("fees stopped")


async def _train_if_missing(
    settings: FeesSettings, js: JetStreamContext, store: ModelStore
) -> None:
    """Train and promote a first version when none is current (development convenience)."""
    if await current_pointer(js, MODEL_NAME) is not None:
        return
    data_dir = settings.data.data_dir
    logger.info("no %s version is current; training one on %s", MODEL_NAME, data_dir)
    try:
        result = await asyncio.to_thread(train_fee_model, data_dir, default_version())
    except (OSError, ValueError) as exc:
        logger.warning("cannot train %s (%s); recommending from projected blocks", MODEL_NAME, exc)
        return
    reasons = gate(result.card)
    if reasons:
        logger.warning("trained %s refused by its gate: %s", MODEL_NAME, "; ".join(reasons))
    await register(result, store, None if reasons else js)


async def _drain(nc: NATS) -> None:
    with contextlib.suppress(nats.errors.ConnectionClosedError):
        await nc.drain()


async def _main(settings: FeesSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(settings, stop)
    except TransientError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    return 0


def main() -> None:
    settings = FeesSettings()
    configure_logging("fees", settings.log.level, settings.log.format)
    sys.exit(asyncio.run(_main(settings)))


if __name__ == "__main__":
    main()
