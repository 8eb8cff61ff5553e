"""The explainer service: consume decisions, explain the flagged ones, store, publish.

Per batch of ``chainwatch.tx.scored``: keep the decisions to explain (flagged, or all);
look up their audit rows (one query: the decision's row hash, and any explanation already
stored); attribute the new ones (one model call per model version, off the event loop);
write their narratives (Claude in parallel within the batch budget, else the template);
store every explanation in one round trip; publish them on ``chainwatch.tx.explained``
(txid as message id); only then let the consumer ack. A redelivered decision is not
explained again: the explanation stored for it is published as it is, so what integrators
receive is always what the audit trail holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from nats.js import JetStreamContext

from chainwatch.explainer import metrics
from chainwatch.explainer.attributor import Attributed, Attributor
from chainwatch.explainer.audit import lookup, write_explanations
from chainwatch.explainer.errors import DecisionNotAuditedError
from chainwatch.explainer.evidence import build_evidence
from chainwatch.explainer.narrator import Case, Narrator
from chainwatch.explainer.rules import rule_evidence
from chainwatch.explainer.settings import ExplainerSettings
from chainwatch.shared import bus, subjects
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import TransientError
from chainwatch.shared.explanations import ExplainedTransaction, Narrative
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import ScoredTransaction

logger = logging.getLogger(__name__)

STAGE = "explainer"


class Explainer:
    def __init__(
        self,
        settings: ExplainerSettings,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        attributor: Attributor,
        narrator: Narrator,
    ) -> None:
        self.settings = settings
        self.js = js
        self.pool = pool
        self.attributor = attributor
        self.narrator = narrator
        self.consumer = bus.BatchConsumer(
            js,
            stage=STAGE,
            stream=subjects.TX_SCORED_STREAM.name,
            subject=subjects.TX_SCORED,
            durable=settings.durable,
            model=ScoredTransaction,
            handler=self.handle,
            batch_size=settings.batch_size,
            fetch_timeout_s=settings.fetch_timeout_s,
            max_attempts=settings.max_attempts,
            ack_wait_s=settings.ack_wait_s,
            transient_errors=(*bus.TRANSIENT_ERRORS, *DATABASE_ERRORS),
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)

    def wanted(self, decision: ScoredTransaction) -> bool:
        return decision.flagged or self.settings.explain == "all"

    async def handle(self, batch: Sequence[bus.Delivery[ScoredTransaction]]) -> None:
        started = time.perf_counter()
        unique = {d.message.txid: d for d in reversed(batch) if self.wanted(d.message)}
        chosen = list(reversed(unique.values()))  # one per txid, the first delivered, in order
        if not chosen:
            return

        try:
            stored = await lookup(self.pool, [d.message.txid for d in chosen])
            for delivery in chosen:
                if delivery.message.txid not in stored:
                    raise DecisionNotAuditedError(delivery.message.txid)
            fresh = [d for d in chosen if stored[d.message.txid].explanation is None]
            explained = await self.explain(
                fresh, {t: s.decision_row_hash for t, s in stored.items()}
            )
            written: set[str] = set()
            if explained:
                seqs = [d.stream_seq for d in fresh]
                written = await write_explanations(self.pool, explained, seqs)
            if len(written) < len(explained):  # another replica stored some first: publish theirs
                stored = await lookup(self.pool, [d.message.txid for d in chosen])
        except asyncpg.PostgresError as exc:
            if isinstance(exc, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError):
                raise
            raise TransientError(f"database: {exc}") from exc

        ours = {e.txid: e for e in explained if e.txid in written}
        ready = []
        for delivery in chosen:
            txid = delivery.message.txid
            message = ours[txid] if txid in ours else stored[txid].explanation
            if message is not None:
                ready.append(message)
        await bus.publish_batch(self.js, subjects.TX_EXPLAINED, [(m, m.txid) for m in ready])

        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.REPLAYED.inc(len(ready) - len(ours))
        for message in ours.values():
            metrics.EXPLANATIONS.labels(
                message.deciding_tier.value, message.narrative.path.value
            ).inc()
            with log_context(txid=message.txid, subject=subjects.TX_EXPLAINED):
                logger.info(
                    "explained band=%s tier=%s narrative=%s",
                    message.band.value,
                    message.deciding_tier.value,
                    message.narrative.path.value,
                )

    async def explain(
        self,
        deliveries: Sequence[bus.Delivery[ScoredTransaction]],
        row_hashes: dict[str, bytes],
    ) -> list[ExplainedTransaction]:
        """Attribute, gather evidence and narrate the decisions; nothing is stored here."""
        decisions = [d.message for d in deliveries]
        attributed = await self.attributor.explain(decisions)
        cases = [_case(d, a) for d, a in zip(decisions, attributed, strict=True)]
        narratives = await self.narrator.narrate(cases)
        explained_at = datetime.now(UTC)
        return [
            _explained(case, narrative, row_hashes[case.decision.txid], explained_at)
            for case, narrative in zip(cases, narratives, strict=True)
        ]


def _case(decision: ScoredTransaction, attributed: Attributed) -> Case:
    rules = rule_evidence(decision)
    evidence = build_evidence(decision, rules, attributed.attribution, attributed.note)
    return Case(decision, rules, attributed.attribution, attributed.note, evidence)


def _explained(
    case: Case, narrative: Narrative, row_hash: bytes, explained_at: datetime
) -> ExplainedTransaction:
    decision = case.decision
    return ExplainedTransaction(
        txid=decision.txid,
        explained_at=explained_at,
        decided_at=decision.decided_at,
        risk_score=decision.risk_score,
        band=decision.band,
        flagged=decision.flagged,
        deciding_tier=decision.deciding_tier,
        decision_reason=decision.decision_reason,
        decision_row_hash=row_hash.hex(),
        attribution=case.attribution,
        attribution_note=case.attribution_note,
        rules=list(case.rules),
        evidence=case.evidence.text,
        narrative=narrative,
    )
