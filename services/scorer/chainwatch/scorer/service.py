"""The scorer service: consume raw transactions, decide, write the audit trail, publish.

Per batch: trace exposure (one taint lookup for the whole batch), decide every transaction
through the cascade, write all decisions to the audit trail in one round trip, publish the
decisions (txid as message id, so JetStream drops a repeat), and only then let the consumer
ack the batch. A crash anywhere before the ack means the batch is delivered again; the
audit insert skips txids already written, so nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncpg
from nats.js import JetStreamContext

from chainwatch.scorer import metrics
from chainwatch.scorer.audit import read_decisions, write_decisions
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade, CascadePolicy
from chainwatch.scorer.exposure import (
    ExposureParams,
    ExposureTracker,
    MemoryTaintStore,
    PostgresTaintStore,
    TaintStore,
)
from chainwatch.scorer.heuristics import HeuristicParams, HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.settings import ScorerSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import TransientError
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction

logger = logging.getLogger(__name__)

STAGE = "scorer"
PRUNE_EVERY_S = 600.0


def build_cascade(settings: ScorerSettings) -> Cascade:
    bands = RiskBands(
        medium=settings.band_medium,
        high=settings.band_high,
        severe=settings.band_severe,
        flag_from=settings.flag_from,
    )
    policy = CascadePolicy(
        online_min_verdicts=settings.online_min_verdicts,
        online_min_per_class=settings.online_min_per_class,
        rules_floor=settings.rules_floor,
    )
    heuristic = HeuristicTier(HeuristicParams(decay_per_hop=settings.exposure_decay_per_hop))
    return Cascade(heuristic, bands, policy)


class Scorer:
    def __init__(
        self,
        settings: ScorerSettings,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        labels: LabelBook | None = None,
    ) -> None:
        self.settings = settings
        self.js = js
        self.pool = pool
        self.labels = labels or LabelBook(settings.data.data_dir)
        store: TaintStore = (
            PostgresTaintStore(pool, settings.taint_retention_days)
            if settings.taint_store == "postgres"
            else MemoryTaintStore(settings.taint_memory_outpoints)
        )
        self._pruned_at = time.monotonic()
        self.exposure = ExposureTracker(
            self.labels, store, ExposureParams(max_hops=settings.exposure_max_hops)
        )
        self.cascade = build_cascade(settings)
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
        await self._maybe_prune_taints()
        raws = [d.message for d in batch]

        try:
            exposures = await self.exposure.assess([raw.tx for raw in raws])
            decisions = self.cascade.decide_batch(raws, exposures)
            written = await write_decisions(self.pool, decisions, [d.stream_seq for d in batch])
            decisions = await self._as_recorded(decisions, written, batch)
        except asyncpg.PostgresError as exc:
            if isinstance(exc, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError):
                raise
            raise TransientError(f"database: {exc}") from exc

        await bus.publish_batch(self.js, subjects.TX_SCORED, [(d, d.txid) for d in decisions])

        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(decisions))
        metrics.AUDIT_ROWS.inc(len(written))
        for decision in decisions:
            metrics.DECISIONS.labels(decision.band.value, decision.deciding_tier.value).inc()
            metrics.DECISION_LATENCY_SECONDS.observe(decision.latency_ms / 1000.0)
            if decision.flagged and decision.txid in written:
                with log_context(txid=decision.txid, subject=subjects.TX_SCORED):
                    logger.info(
                        "flagged band=%s risk=%.3f tier=%s",
                        decision.band.value,
                        decision.risk_score,
                        decision.deciding_tier.value,
                    )

    async def _as_recorded(
        self,
        decisions: list[ScoredTransaction],
        written: set[str],
        batch: Sequence[bus.Delivery[RawTransaction]],
    ) -> list[ScoredTransaction]:
        """Replace each decision the audit trail already held with the recorded one."""
        earlier = [d.txid for d in decisions if d.txid not in written]
        if not earlier:
            return decisions
        recorded = await read_decisions(self.pool, earlier)
        first_seen = {d.message.tx.txid for d in batch if d.num_delivered == 1}
        for txid in earlier:
            if txid in first_seen:  # not a redelivery: someone decided this txid before us
                with log_context(txid=txid, subject=subjects.TX_RAW):
                    logger.warning("txid already in the audit trail; publishing that decision")
        return [recorded.get(d.txid, d) for d in decisions]

    async def _maybe_prune_taints(self) -> None:
        store = self.exposure.store
        now = time.monotonic()
        if not isinstance(store, PostgresTaintStore) or now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        if removed := await store.prune():
            logger.info("pruned %d expired exposure taints", removed)

    def _maybe_reload_labels(self) -> None:
        now = time.monotonic()
        if now - self._labels_checked_at < self.settings.labels_check_s:
            return
        self._labels_checked_at = now
        if self.labels.reload_if_changed():
            logger.info("label lists changed; reloaded %d addresses", len(self.labels))
