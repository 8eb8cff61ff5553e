"""Deciding on an applicant: validate, score, explain, narrate, record, answer.

``OnboardingService.handle(body, channel)`` is what both front doors call (NATS request/reply
and HTTP); it turns any body into an ``OnboardingReply`` and a status: 200 with a decision,
422 when the request is invalid (every bad field named), 503 while no model is loaded or
the audit trail cannot be written. A decision is answered only once its audit row is
written, so every answered decision is in the trail; an invalid request decides nothing
and writes nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from pydantic import ValidationError

from chainwatch.onboarding import audit, metrics
from chainwatch.onboarding.audit import Channel, DecisionRecord
from chainwatch.onboarding.errors import InvalidRequestError, NoModelError
from chainwatch.onboarding.evidence import DecisionFacts
from chainwatch.onboarding.explain import reasons
from chainwatch.onboarding.model import OnboardingModel
from chainwatch.onboarding.narrative import Narrator
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.logs import log_context
from chainwatch.shared.onboarding import (
    FieldError,
    OnboardingDecision,
    OnboardingError,
    OnboardingReply,
    OnboardingRequest,
    Outcome,
)

logger = logging.getLogger(__name__)

MAX_FIELD_ERRORS = 50


def parse_request(body: bytes) -> OnboardingRequest:
    """The request in ``body``; ``InvalidRequestError`` naming every field that is wrong."""
    try:
        return OnboardingRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            FieldError(field=".".join(str(p) for p in e["loc"]) or "body", message=e["msg"])
            for e in exc.errors(include_url=False)[:MAX_FIELD_ERRORS]
        ]
        count = exc.error_count()
        message = f"the request is not a valid applicant: {count} problem{'s' * (count > 1)}"
        raise InvalidRequestError(message, errors) from None


class OnboardingService:
    """Decides on applicants with the model it holds (swapped whole by ``serve``)."""

    def __init__(self, pool: asyncpg.Pool, narrator: Narrator, model_name: str) -> None:
        self.pool = pool
        self.narrator = narrator
        self.model_name = model_name
        self.model: OnboardingModel | None = None

    async def handle(self, body: bytes, channel: Channel) -> tuple[int, OnboardingReply]:
        """Any request body → (HTTP-style status, reply). Raises nothing it can answer."""
        try:
            request = parse_request(body)
            decision = await self.decide(request, channel)
        except InvalidRequestError as exc:
            metrics.REQUESTS.labels(channel, "invalid").inc()
            logger.info("refused a request on %s: %s", channel, exc.message)
            error = OnboardingError(
                code="invalid_request", message=exc.message, field_errors=exc.field_errors
            )
            return 422, OnboardingReply(error=error)
        except NoModelError as exc:
            metrics.REQUESTS.labels(channel, "no_model").inc()
            return 503, OnboardingReply(error=OnboardingError(code="no_model", message=str(exc)))
        except DATABASE_ERRORS as exc:
            metrics.REQUESTS.labels(channel, "unavailable").inc()
            logger.warning("audit trail unavailable, nothing decided: %s", exc)
            message = "the audit trail cannot be written; no decision was made, try again"
            return 503, OnboardingReply(error=OnboardingError(code="unavailable", message=message))
        metrics.REQUESTS.labels(channel, decision.outcome.value).inc()
        return 200, OnboardingReply(decision=decision)

    async def decide(self, request: OnboardingRequest, channel: Channel) -> OnboardingDecision:
        """Score, explain and narrate one applicant, record the decision, and return it."""
        model = self.model
        if model is None:
            raise NoModelError(self.model_name)
        started = time.perf_counter()
        decision_id = str(uuid.uuid4())

        with log_context(model_version=model.version):
            score = model.score(request.applicant)
            outcome = Outcome.REFUSE if score.refused else Outcome.ACCEPT
            facts = DecisionFacts(
                outcome=outcome,
                risk_proba=score.proba,
                threshold=model.threshold,
                cost_bad_accepted=model.cost.bad_accepted,
                cost_good_refused=model.cost.good_refused,
                base_log_odds=score.base_log_odds,
                output_log_odds=score.log_odds,
                reasons=reasons(score, request.applicant),
                model_name=model.name,
                model_version=model.version,
            )
            narrative = await self.narrator.narrate(facts)
            metrics.NARRATIVES.labels(narrative.path.value).inc()

            record = DecisionRecord(
                decision_id=decision_id,
                application_id=request.application_id,
                decided_at=datetime.now(UTC),
                channel=channel,
                outcome=outcome,
                risk_proba=score.proba,
                threshold=model.threshold,
                model_name=model.name,
                model_version=model.version,
                applicant=request.applicant,
                base_log_odds=score.base_log_odds,
                output_log_odds=score.log_odds,
                reasons=facts.reasons,
                narrative=narrative,
                latency_ms=(time.perf_counter() - started) * 1000.0,
            )
            row_hash = await audit.record(self.pool, record)
            metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
            logger.info(
                "decision %s: %s risk=%.3f on %s", decision_id, outcome.value, score.proba, channel
            )

        return OnboardingDecision(
            decision_id=decision_id,
            application_id=request.application_id,
            decided_at=record.decided_at,
            outcome=outcome,
            risk_proba=score.proba,
            threshold=model.threshold,
            expected_cost_accept=model.cost.bad_accepted * score.proba,
            expected_cost_refuse=model.cost.good_refused * (1.0 - score.proba),
            model_name=model.name,
            model_version=model.version,
            base_log_odds=score.base_log_odds,
            output_log_odds=score.log_odds,
            reasons=list(facts.reasons),
            narrative=narrative,
            audit_row_hash=row_hash,
        )
