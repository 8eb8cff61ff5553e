"""The fees service: follow the mempool on NATS, estimate, publish ``chainwatch.fees.estimate``.

It reads six subjects, each through an ordered ephemeral JetStream consumer that starts
``warmup_s`` in the past, so a restarted service rebuilds its mempool and recent blocks
from the streams: ``tx.raw`` (transactions enter the mempool), ``tx.confirmed``,
``tx.replaced`` and ``tx.evicted`` (they leave), ``block.connected`` (a block is judged and
observed once its confirmations are in) and ``mempool.snapshot`` (the source's minimum fee
and mempool size). Nothing is acknowledged: the service keeps no durable position, the
streams keep the history. A message that does not decode, or that its handler fails on,
goes to ``chainwatch.deadletter.fees`` with the reason.

An estimate is published after every judged block (once the warm-up backlog is read) and,
between blocks, every ``publish_interval_s`` when the mempool changed. Projecting the blocks
runs in a worker thread on an immutable copy of the mempool. The current ``fees-lgbm``
version is followed in the registry and swapped in when promoted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import BaseModel

from chainwatch.fees import metrics
from chainwatch.fees.blocks import BlockTracker
from chainwatch.fees.card import load_fee_model
from chainwatch.fees.estimator import FeeEstimator
from chainwatch.fees.model import MODEL_NAME
from chainwatch.fees.settings import FeesSettings
from chainwatch.fees.template import build_blocks
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import ChainwatchError, DecodeError
from chainwatch.shared.fee_events import FEES_ESTIMATE, FeeEstimate
from chainwatch.shared.logs import log_context
from chainwatch.shared.mempool_events import (
    BlockConnected,
    MempoolSnapshot,
    TxConfirmed,
    TxEvicted,
    TxReplaced,
)
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import watch_current
from chainwatch.shared.schemas import RawTransaction

logger = logging.getLogger(__name__)

STAGE = "fees"

SUBJECTS: dict[str, tuple[str, type[BaseModel]]] = {
    subjects.TX_RAW: (subjects.TX_RAW_STREAM.name, RawTransaction),
    subjects.TX_CONFIRMED: (subjects.MEMPOOL_EVENTS_STREAM.name, TxConfirmed),
    subjects.TX_REPLACED: (subjects.MEMPOOL_EVENTS_STREAM.name, TxReplaced),
    subjects.TX_EVICTED: (subjects.MEMPOOL_EVENTS_STREAM.name, TxEvicted),
    subjects.BLOCK_CONNECTED: (subjects.MEMPOOL_EVENTS_STREAM.name, BlockConnected),
    subjects.MEMPOOL_SNAPSHOT: (subjects.MEMPOOL_EVENTS_STREAM.name, MempoolSnapshot),
}
"""Subject → (stream, model) of everything the service reads."""


class FeesService:
    def __init__(
        self,
        settings: FeesSettings,
        js: JetStreamContext,
        estimator: FeeEstimator,
        store: ModelStore,
    ) -> None:
        self.settings = settings
        self.js = js
        self.estimator = estimator
        self.store = store
        self.blocks = BlockTracker(settings.block_grace_s)
        self.published = 0
        self._wake = asyncio.Event()
        self._estimating = asyncio.Lock()
        self._published_state: tuple[int, int | None, float, str | None] | None = None
        self._published_at_s = 0.0
        self._subscriptions: list[JetStreamContext.PushSubscription] = []

    async def start(self) -> None:
        """Subscribe to every subject, from ``warmup_s`` ago."""
        for subject, (stream, _) in SUBJECTS.items():
            sub = await self.js.subscribe(
                subject,
                stream=stream,
                cb=self.handle,
                ordered_consumer=True,
                config=self._consumer_config(),
            )
            self._subscriptions.append(sub)
        logger.info("following %d subjects from %.0fs ago", len(SUBJECTS), self.settings.warmup_s)

    def _consumer_config(self) -> ConsumerConfig:
        if self.settings.warmup_s <= 0:
            return ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
        start = datetime.now(UTC) - timedelta(seconds=self.settings.warmup_s)
        return ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start)

    async def stop(self) -> None:
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):  # the connection may already be closing
                await sub.unsubscribe()
        self._subscriptions.clear()

    async def run(self, stop: asyncio.Event) -> None:
        """Estimate and publish until ``stop`` is set."""
        tick_s = min(self.settings.publish_interval_s, self.settings.block_grace_s)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick_s)
            self._wake.clear()
            if stop.is_set():
                break
            await self._judge_ready_blocks()
            if time.monotonic() - self._published_at_s >= self.settings.publish_interval_s:
                await self.publish_if_changed()

    async def handle(self, msg: Msg) -> None:
        """One message: decode, apply; a failure dead-letters it and the stream goes on."""
        _, model = SUBJECTS[msg.subject]
        try:
            message = bus.decode(model, msg.data, msg.subject)
            self.apply(message)
        except DecodeError as exc:
            await self._dead_letter(msg, exc.reason, "decode")
            return
        except Exception as exc:  # the boundary: one bad message must not stop the stream
            with log_context(subject=msg.subject):
                logger.error("cannot apply message", exc_info=exc)
            await self._dead_letter(msg, f"{type(exc).__name__}: {exc!s:.500}", type(exc).__name__)
            return
        if isinstance(message, BlockConnected | TxConfirmed):
            # While replaying the warm-up backlog, rebuild the state without publishing.
            await self._judge_ready_blocks(publish=_caught_up(msg))

    def apply(self, message: BaseModel) -> None:
        """Change the state as ``message`` says."""
        mempool = self.estimator.mempool
        if isinstance(message, RawTransaction):
            mempool.add(message.tx)
        elif isinstance(message, TxConfirmed):
            mempool.remove(message.txid)
            self.blocks.confirmed(message)
        elif isinstance(message, TxReplaced):
            mempool.remove(message.replaced_txid)
        elif isinstance(message, TxEvicted):
            mempool.remove(message.txid)
        elif isinstance(message, BlockConnected):
            self.blocks.connected(message)
        elif isinstance(message, MempoolSnapshot):
            self.estimator.snapshot = message
        metrics.MEMPOOL_TXS.set(len(mempool))

    async def _judge_ready_blocks(self, *, publish: bool = True) -> None:
        ready = self.blocks.ready(self.estimator.mempool)
        for fees in ready:
            self.estimator.block_mined(fees, int(time.time()))
            outcome = self.estimator.outcomes[-1].outcome
            if outcome is not None:
                metrics.NEXT_BLOCK_OUTCOMES.labels(outcome).inc()
            logger.info(
                "block %d: %d of %d fees known, median %s sat/vB, last estimate %s",
                fees.height,
                fees.known_tx_count,
                fees.tx_count - 1,
                _rate(fees.median_fee_rate_sat_vb),
                outcome or "not judged",
            )
        if ready and publish:
            await self.publish_estimate()

    async def publish_if_changed(self) -> FeeEstimate | None:
        if self._state() == self._published_state:
            return None
        return await self.publish_estimate()

    async def publish_estimate(self) -> FeeEstimate:
        """Project the blocks, recommend, publish on ``chainwatch.fees.estimate``."""
        async with self._estimating:
            return await self._publish_estimate()

    async def _publish_estimate(self) -> FeeEstimate:
        state = self._state()
        graph = self.estimator.mempool.graph()
        started = time.perf_counter()
        blocks = await asyncio.to_thread(
            build_blocks, graph, self.settings.projected_blocks, overflow_last=True
        )
        metrics.TEMPLATE_SECONDS.observe(time.perf_counter() - started)

        estimate = self.estimator.estimate(datetime.now(UTC), graph, blocks)
        msg_id = f"fees:{estimate.tip_height}:{estimate.estimated_at.timestamp():.3f}"
        await bus.publish(self.js, FEES_ESTIMATE, estimate, msg_id=msg_id)
        self._published_state = state
        self._published_at_s = time.monotonic()
        self.published += 1
        metrics.ESTIMATES.labels(estimate.method).inc()
        logger.debug("published estimate next-block=%.2f", estimate.targets[0].fee_rate_sat_vb)
        return estimate

    def _state(self) -> tuple[int, int | None, float, str | None]:
        """What an estimate depends on; an unchanged state is not published again."""
        estimator = self.estimator
        model_version = estimator.model.version if estimator.model else None
        return (
            estimator.mempool.version,
            estimator.tip_height,
            estimator.min_fee_sat_vb,
            model_version,
        )

    async def _dead_letter(self, msg: Msg, reason: str, error_type: str) -> None:
        metrics.MESSAGES_FAILED.labels(msg.subject).inc()
        await bus.dead_letter(
            self.js,
            STAGE,
            original_subject=msg.subject,
            payload=msg.data,
            reason=reason,
            error_type=error_type,
            message_id=msg.headers.get(bus.MSG_ID_HEADER) if msg.headers else None,
        )

    async def watch_model(self) -> None:
        """Serve the current ``fees-lgbm`` version; swap when another is promoted."""
        async for pointer in watch_current(self.js, MODEL_NAME):
            current = self.estimator.model
            if pointer is None:
                self.estimator.model = None
                logger.warning("%s pointer removed; recommending from projected blocks", MODEL_NAME)
                continue
            if current is not None and current.version == pointer.version:
                continue
            try:
                loaded = await self.store.get_version(MODEL_NAME, pointer.version)
                model = await asyncio.to_thread(load_fee_model, loaded)
            except (ChainwatchError, OSError, KeyError, ValueError) as exc:
                logger.error("cannot load %s %s: %s", MODEL_NAME, pointer.version, exc)
                continue
            self.estimator.model = model
            if current is not None:
                metrics.MODEL_LOADED.labels(current.version).set(0)
            metrics.MODEL_LOADED.labels(model.version).set(1)
            logger.info("now serving %s %s", MODEL_NAME, model.version)
            self._wake.set()


async def cancel_and_wait(task: asyncio.Task[None], retry_s: float = 1.0) -> None:
    """Cancel ``task`` until it is done: a cancellation that lands while nats-py sets up a
    subscription can be swallowed, and the task would then wait on its queue for ever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_s)


def _caught_up(msg: Msg) -> bool:
    """True when nothing older is waiting behind this message in its consumer."""
    try:
        return msg.metadata.num_pending == 0
    except nats.errors.NotJSMessageError:
        return True


def _rate(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}"
