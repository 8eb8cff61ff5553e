"""The drift service: watch decisions, verdicts and the champion; record, publish, heal.

Three inputs, one lock around the state they share:

- ``chainwatch.tx.scored`` (durable consumer): every decision goes through the
  ``DecisionMonitor`` (feature, prediction and anomaly-rate drift);
- ``chainwatch.review.verdict`` (durable consumer): each labelled verdict updates the ADWIN
  detectors of the online and batch tiers' errors, from the tier scores in the audit trail;
- the champion's pointer: a promotion re-bases the reference and may close a request.

What a batch produced (references, checks, events, retraining steps) is kept as pending
until it is written and published, so a batch retried after a database or bus failure
writes it then; a redelivered message is not observed twice (stream sequences only grow).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from chainwatch.drift import metrics, store
from chainwatch.drift.checks import CheckResult
from chainwatch.drift.healing import Healer, HealingPolicy, crosses
from chainwatch.drift.monitor import DecisionMonitor, event_id
from chainwatch.drift.rates import MONITORED_TIERS, TierErrors
from chainwatch.drift.reference import ActiveReference
from chainwatch.drift.settings import DriftSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.drift import DRIFT_DETECTED, DRIFT_STREAM, DriftDetected, DriftKind
from chainwatch.shared.errors import ChainwatchError
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import (
    MODEL_CHAMPION,
    ModelPointer,
    current_pointer,
    watch_current,
)
from chainwatch.shared.schemas import ScoredTransaction, Tier
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict

logger = logging.getLogger(__name__)

STAGE = "drift"
TRANSIENT: tuple[type[BaseException], ...] = (*bus.TRANSIENT_ERRORS, *DATABASE_ERRORS)
"""Failures a retry can fix: the bus or the database away for a while."""
REBASE_ERRORS: tuple[type[BaseException], ...] = (ChainwatchError, *TRANSIENT)


class DriftService:
    def __init__(
        self, settings: DriftSettings, js: JetStreamContext, pool: asyncpg.Pool, models: ModelStore
    ) -> None:
        self.settings = settings
        self.js = js
        self.pool = pool
        self.models = models
        self.monitor = DecisionMonitor(settings)
        self.errors = TierErrors(settings.error_delta, settings.error_min_increase)
        self.policy = HealingPolicy(
            retrain_on=frozenset(DriftKind(k) for k in settings.retrain_on),
            min_features=settings.retrain_min_features,
            cooldown_s=settings.retrain_cooldown_s,
            timeout_s=settings.retrain_timeout_s,
            window_s=settings.retrain_window_s,
            after_decisions=settings.retrain_after_decisions,
        )
        self.healer = Healer(js, pool, self.policy)
        self.champion: str | None = None
        self._lock = asyncio.Lock()
        self._last_seq = 0
        self._last_verdict_seq = 0
        self._pending_references: list[ActiveReference] = []
        self._pending_checks: list[CheckResult] = []
        self._pending_events: list[DriftDetected] = []
        self._pending_healing: list[tuple[DriftDetected | None, CheckResult | None]] = []
        """For the healer, in the order observed: each check, with its event if it raised one."""
        self._pending_served: tuple[str, int, datetime] | None = None
        self._unsettled_promotion: ModelPointer | None = None
        """A promotion the healer has not been told of yet (the database was away)."""
        common: dict[str, Any] = {
            "stage": STAGE,
            "batch_size": settings.batch_size,
            "fetch_timeout_s": settings.fetch_timeout_s,
            "max_attempts": settings.max_attempts,
            "transient_errors": TRANSIENT,
        }
        self.decisions = bus.BatchConsumer(
            js,
            stream=subjects.TX_SCORED_STREAM.name,
            subject=subjects.TX_SCORED,
            durable=settings.durable,
            model=ScoredTransaction,
            handler=self.handle_decisions,
            **common,
        )
        self.verdicts = bus.BatchConsumer(
            js,
            stream=REVIEW_STREAM.name,
            subject=REVIEW_VERDICT,
            durable=settings.verdict_durable,
            model=ReviewVerdict,
            handler=self.handle_verdicts,
            **common,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and watch until ``stop`` is set."""
        await bus.ensure_streams(self.js, [subjects.TX_SCORED_STREAM, REVIEW_STREAM, DRIFT_STREAM])
        await self.healer.restore()
        pointer = await current_pointer(self.js, MODEL_CHAMPION)
        if pointer is not None:
            await self.rebase(pointer)
        metrics.BOOTSTRAPPING.set(int(self.monitor.reference.bootstrapping))
        tasks = [
            asyncio.create_task(self.watch_champion(), name="drift-watch-champion"),
            asyncio.create_task(self.poll_trainer(stop), name="drift-poll-trainer"),
        ]
        try:
            await asyncio.gather(self.decisions.run(stop), self.verdicts.run(stop))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def watch_champion(self) -> None:
        """Re-base on every promotion of the champion, for as long as the service runs."""
        async for pointer in watch_current(self.js, MODEL_CHAMPION):
            version = pointer.version if pointer else None
            if version == self.champion and pointer is not None:
                continue
            try:
                await self.rebase(pointer)
            except REBASE_ERRORS as exc:
                logger.error("re-basing on %s %s failed: %s", MODEL_CHAMPION, version, exc)

    async def rebase(self, pointer: ModelPointer | None) -> None:
        async with self._lock:
            if pointer is None:
                self.monitor.champion_changed(MODEL_CHAMPION, None, None)
            else:
                try:
                    card = (await self.models.get_version(MODEL_CHAMPION, pointer.version)).card
                except (ChainwatchError, OSError) as exc:
                    why = f"the card of {MODEL_CHAMPION} {pointer.version} cannot be read: {exc}"
                    self.monitor.champion_changed(MODEL_CHAMPION, None, None, why)
                else:
                    found = self.monitor.champion_changed(MODEL_CHAMPION, pointer.version, card)
                    if found is not None:
                        self._pending_references.append(found)
                self.errors.reset(Tier.BATCH)
            metrics.BOOTSTRAPPING.set(int(self.monitor.reference.bootstrapping))
            self.champion = pointer.version if pointer else None
            self._unsettled_promotion = pointer
            await self._settle_promotion()

    async def _settle_promotion(self) -> None:
        """Tell the healer of a promotion; retried by ``poll_trainer`` while it fails."""
        await self._flush()
        if self._unsettled_promotion is not None:
            await self.healer.on_promotion(self._unsettled_promotion)
            self._unsettled_promotion = None

    async def poll_trainer(self, stop: asyncio.Event) -> None:
        """Look for the trainer's verdict on an open request every ``retrain_poll_s``."""
        while not stop.is_set():
            try:
                async with self._lock:
                    if self._unsettled_promotion is not None:
                        await self._settle_promotion()
                    await self.healer.poll()
            except TRANSIENT as exc:
                logger.warning("cannot look up the trainer's decisions: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), self.settings.retrain_poll_s)
            except TimeoutError:
                continue

    async def handle_decisions(self, batch: Sequence[bus.Delivery[ScoredTransaction]]) -> None:
        async with self._lock:
            awaiting = self.healer.awaiting_serving
            for delivery in batch:
                if delivery.stream_seq <= self._last_seq:
                    continue  # redelivered after a failed batch: observed already
                self._last_seq = delivery.stream_seq
                decision = delivery.message
                observed = self.monitor.observe(decision, delivery.stream_seq)
                metrics.DECISIONS.inc()
                self._pending_references.extend(observed.references)
                self._pending_checks.extend(observed.checks)
                raised = {id(r): self.event(r, decision.model_versions) for r in observed.events}
                self._pending_events.extend(raised.values())
                self._pending_healing.extend((raised.get(id(c)), c) for c in observed.checks)
                served = decision.model_versions.get("batch")
                if awaiting and served == awaiting.version and self._pending_served is None:
                    self._pending_served = (served, delivery.stream_seq, decision.decided_at)
            metrics.BOOTSTRAPPING.set(int(self.monitor.reference.bootstrapping))
            await self._flush()

    async def handle_verdicts(self, batch: Sequence[bus.Delivery[ReviewVerdict]]) -> None:
        labelled = [d for d in batch if d.message.label is not None]
        scores = await store.tier_scores(self.pool, [d.message.txid for d in labelled])
        async with self._lock:
            for delivery in labelled:
                if delivery.stream_seq <= self._last_verdict_seq:
                    continue
                self._last_verdict_seq = delivery.stream_seq
                verdict = delivery.message
                assert verdict.label is not None
                metrics.VERDICTS.inc()
                for tier in MONITORED_TIERS:
                    score = tier_score(scores.get(verdict.txid), tier, verdict)
                    if score is None:
                        continue
                    result = self.errors.update(
                        tier, verdict.label, score, delivery.stream_seq, verdict.decided_at
                    )
                    if result is not None:
                        self._pending_checks.append(result)
                        raised = self.event(result, verdict.model_versions)
                        self._pending_events.append(raised)
                        self._pending_healing.append((raised, None))
            await self._flush()

    def event(self, result: CheckResult, model_versions: dict[str, str]) -> DriftDetected:
        return DriftDetected(
            event_id=event_id(result),
            kind=result.kind,
            detected_at=datetime.now(UTC),
            summary=result.summary,
            findings=result.findings,
            window=result.window,
            reference=result.reference,
            tier=result.tier,
            model_versions=model_versions,
            retrain=crosses(self.policy, result.kind, len(result.findings)),
        )

    async def _flush(self) -> None:
        """Write and publish what is pending, step by step; a failed step is retried later."""
        while self._pending_references:
            await store.record_reference(self.pool, self._pending_references[0])
            self._pending_references.pop(0)

        if self._pending_checks or self._pending_events:
            async with self.pool.acquire() as conn, conn.transaction():
                await store.record_checks(conn, self._pending_checks, datetime.now(UTC))
                await store.record_events(conn, self._pending_events)
            for check in self._pending_checks:
                metrics.CHECKS.labels(check.kind.value, str(check.drifted).lower()).inc()
                if check.headline is not None:
                    metrics.HEADLINE.labels(check.kind.value).set(check.headline)
            self._pending_checks = []

        if self._pending_events:
            await bus.publish_batch(
                self.js, DRIFT_DETECTED, [(e, e.event_id) for e in self._pending_events]
            )
            for event in self._pending_events:
                metrics.EVENTS.labels(event.kind.value).inc()
                logger.info("drift detected (%s): %s", event.kind.value, event.summary)
            self._pending_events = []

        while self._pending_healing:
            raised, checked = self._pending_healing[0]
            if raised is not None:
                await self.healer.on_event(raised)
                self._pending_healing[0] = (None, checked)  # done: not again if on_check fails
            if checked is not None:
                await self.healer.on_check(checked)
            self._pending_healing.pop(0)

        if self._pending_served is not None:
            await self.healer.on_served(*self._pending_served)
            self._pending_served = None


def tier_score(
    tiers: list[dict[str, Any]] | None, tier: Tier, verdict: ReviewVerdict
) -> float | None:
    """The score ``tier`` gave the judged decision, or None when it had no model then.

    From the audit trail's tier outputs: the batch tier's champion (the version the
    decision names, not the shadow challenger), the online model. Without the audit row,
    only the deciding tier's score is known: the decision's own.
    """
    if tiers is None:
        return verdict.risk_score if verdict.deciding_tier == tier else None
    wanted = verdict.model_versions.get(tier.value)
    for output in tiers:
        if output.get("tier") != tier.value or output.get("model_version") is None:
            continue
        if wanted is None or output.get("model_version") == wanted:
            return float(output["risk_score"])
    return None
