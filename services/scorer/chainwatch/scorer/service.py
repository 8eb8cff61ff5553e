"""The scorer service: consume raw transactions, decide, write the audit trail, publish.

Per batch: decide every transaction, write all decisions to the audit trail in one round
trip, publish the decisions (txid as message id, so a repeat is dropped by JetStream), and
only then let the consumer ack the batch. A crash anywhere before the ack means the batch
is delivered again; the audit insert skips txids already written, so nothing is recorded
twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncpg
from nats.js import JetStreamContext

from chainwatch.scorer import metrics
from chainwatch.scorer.audit import write_decisions
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.settings import ScorerSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import TransientError
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction

logger = logging.getLogger(__name__)

STAGE = "scorer"


class Scorer:
    def __init__(self, settings: ScorerSettings, js: JetStreamContext, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.js = js
        self.pool = pool
        self.labels = LabelBook(settings.data.data_dir)
        bands = RiskBands(
            medium=settings.band_medium,
            high=settings.band_high,
            severe=settings.band_severe,
            flag_from=settings.flag_from,
        )
        self.cascade = Cascade(HeuristicTier(self.labels), bands)
        self._labels_checked_at = time.monotonic()
        self.consumer = bus.BatchConsumer(
            js,
            stage=STAGE,
            stream=subjects.TX_RAW_STREAM.name,
            subject=subjects.TX_RAW,
            durable=settings.durable,
            model=RawTransaction,
            handler=self.handle,
            batch_size=settings.batch_size,
            fetch_timeout_s=settings.fetch_timeout_s,
            max_attempts=settings.max_attempts,
            ack_wait_s=settings.ack_wait_s,
            transient_errors=(*bus.TRANSIENT_ERRORS, *DATABASE_ERRORS),
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)

    async def handle(self, batch: Sequence[bus.Delivery[RawTransaction]]) -> None:
        started = time.perf_counter()
        self._maybe_reload_labels()
        decisions: list[ScoredTransaction] = []
        seqs: list[int] = []
        for delivery in batch:
            with log_context(txid=delivery.message.tx.txid, subject=subjects.TX_RAW):
                decisions.append(self.cascade.decide(delivery.message))
                seqs.append(delivery.stream_seq)

        try:
            written = await write_decisions(self.pool, decisions, seqs)
        except asyncpg.PostgresError as exc:
            if isinstance(exc, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError):
                raise
            raise TransientError(f"audit write failed: {exc}") from exc

        await asyncio.gather(
            *(bus.publish(self.js, subjects.TX_SCORED, d, msg_id=d.txid) for d in decisions)
        )
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(decisions))
        metrics.AUDIT_ROWS.inc(len(written))
        for decision in decisions:
            metrics.DECISIONS.labels(decision.band.value, decision.deciding_tier.value).inc()
            metrics.DECISION_LATENCY_SECONDS.observe(decision.latency_ms / 1000.0)
            if decision.flagged and decision.txid in written:
                with log_context(txid=decision.txid, subject=subjects.TX_SCORED):
                    logger.info(
                        "flagged band=%s risk=%.3f", decision.band.value, decision.risk_score
                    )
        logger.debug("scored batch of %d, %d new audit rows", len(decisions), len(written))

    def _maybe_reload_labels(self) -> None:
        now = time.monotonic()
        if now - self._labels_checked_at < self.settings.labels_check_s:
            return
        self._labels_checked_at = now
        if self.labels.reload_if_changed():
            logger.info("label lists changed; reloaded %d addresses", len(self.labels))
