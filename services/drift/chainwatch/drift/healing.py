"""Self-healing: a drift event that crosses the policy asks the trainer for a new model.

The policy: an event of a kind listed in ``retrain_on`` whose evidence is strong enough
(feature drift must name at least ``retrain_min_features`` features) publishes a
``RetrainRequest`` on ``chainwatch.trainer.retrain``; the trainer's sensor turns it into a
training run that passes the promotion gate or not.

Against retraining storms, at most one request is open at a time and two requests are at
least ``cooldown_s`` apart; the trainer's sensor would launch a run per tick, so the
guard is kept here. A request is open until one of:

- ``promoted``: the champion's pointer moved after the request;
- ``refused``: the trainer recorded a refusal of a drift-triggered candidate since then
  (table ``training_run``);
- ``timed_out``: neither within ``timeout_s``.

After a promotion, ``serving`` is recorded at the first decision the new version made.
Every step, and every suppressed request, is a row of ``drift_retrain``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from nats.js import JetStreamContext

from chainwatch.drift import metrics, store
from chainwatch.drift.store import RetrainStep
from chainwatch.shared.drift import DriftDetected, DriftKind
from chainwatch.shared.registry import MODEL_CHAMPION, ModelPointer
from chainwatch.shared.retraining import RetrainRequest, request_retraining

logger = logging.getLogger(__name__)

REASON_LIMIT = 500


@dataclass(frozen=True)
class HealingPolicy:
    retrain_on: frozenset[DriftKind]
    min_features: int
    cooldown_s: float
    timeout_s: float


def crosses(policy: HealingPolicy, kind: DriftKind, drifted_subjects: int) -> bool:
    """Whether drift of ``kind`` naming ``drifted_subjects`` subjects asks for retraining."""
    if kind not in policy.retrain_on:
        return False
    return kind != DriftKind.FEATURE or drifted_subjects >= policy.min_features


def request_reason(event: DriftDetected) -> str:
    """The request's reason: what drifted, over which window, against which reference."""
    window = event.window
    reference = event.reference.reference_id if event.reference else "its own past (ADWIN)"
    text = (
        f"{event.kind.value} drift {event.event_id}: {event.summary}; window: decisions "
        f"{window.first_seq}-{window.last_seq} ({window.size}, {window.first_at:%Y-%m-%dT%H:%M:%SZ}"
        f" to {window.last_at:%Y-%m-%dT%H:%M:%SZ}); reference: {reference}"
    )
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Promoted:
    request_id: str
    version: str
    requested_at: datetime
    promoted_at: datetime


class Healer:
    def __init__(
        self,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        policy: HealingPolicy,
        model_name: str = MODEL_CHAMPION,
    ) -> None:
        self.js = js
        self.pool = pool
        self.policy = policy
        self.model_name = model_name
        self.open: RetrainStep | None = None
        self.last_requested_at: datetime | None = None
        self.awaiting_serving: Promoted | None = None

    async def restore(self) -> None:
        """Pick up a request left open by an earlier run of the service."""
        self.open = await store.open_request(self.pool)
        self.last_requested_at = await store.last_request_at(self.pool)
        if self.open is not None:
            logger.info("retraining request %s still open", self.open.request_id)

    async def on_event(self, event: DriftDetected) -> None:
        """Ask for retraining if the event crosses the policy and no guard holds it back."""
        if not event.retrain:
            return
        now = datetime.now(UTC)
        held = self._held_back(now)
        if held:
            await self._record(RetrainStep("suppressed", held, now, event_id=event.event_id))
            logger.info("retraining not requested for %s: %s", event.event_id, held)
            return

        request = RetrainRequest(
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"chainwatch-drift:{event.event_id}").hex,
            requested_by="drift",
            reason=request_reason(event),
            requested_at=now,
        )
        await request_retraining(self.js, request)
        step = RetrainStep(
            "requested",
            request.reason,
            now,
            request.request_id,
            event.event_id,
            self.model_name,
            event.model_versions.get("batch"),
        )
        await self._record(step)
        self.open, self.last_requested_at = step, now
        logger.info("retraining requested (%s) for drift %s", request.request_id, event.event_id)

    def _held_back(self, now: datetime) -> str:
        if self.open is not None:
            return f"request {self.open.request_id} of {self.open.at:%H:%M:%S} is still open"
        if self.last_requested_at is not None:
            until = self.last_requested_at + timedelta(seconds=self.policy.cooldown_s)
            if now < until:
                return f"cool-down after the last request until {until:%Y-%m-%dT%H:%M:%SZ}"
        return ""

    async def on_promotion(self, pointer: ModelPointer) -> None:
        """The champion moved: that closes an open request made before it."""
        if self.open is None or self.open.request_id is None:
            return
        if pointer.promoted_at < self.open.at:
            return
        detail = (
            f"{self.model_name} {pointer.version} promoted by run {pointer.run_id}, "
            f"{(pointer.promoted_at - self.open.at).total_seconds():.1f}s after the request"
        )
        await self._close("promoted", detail, pointer.promoted_at, pointer.version, pointer.run_id)
        self.awaiting_serving = Promoted(
            self.open.request_id, pointer.version, self.open.at, pointer.promoted_at
        )
        self.open = None

    async def poll(self) -> None:
        """Close an open request the trainer refused, or that waited too long."""
        if self.open is None:
            return
        refused = await store.refusal_since(self.pool, self.model_name, self.open.at)
        if refused is not None:
            detail = f"promotion gate refused {refused['candidate_version']}: {refused['reasons']}"
            await self._close("refused", detail[:1000], refused["decided_at"],
                              refused["candidate_version"], refused["run_id"])  # fmt: skip
            self.open = None
            return
        now = datetime.now(UTC)
        if (now - self.open.at).total_seconds() >= self.policy.timeout_s:
            detail = f"no promotion or refusal within {self.policy.timeout_s:.0f}s"
            await self._close("timed_out", detail, now, None, None)
            self.open = None

    async def on_served(self, version: str | None, seq: int, decided_at: datetime) -> None:
        """Record ``serving`` at the first decision made by the version promoted on request."""
        awaiting = self.awaiting_serving
        if awaiting is None or version != awaiting.version:
            return
        since_request = (decided_at - awaiting.requested_at).total_seconds()
        detail = (
            f"first decision by {awaiting.version} at sequence {seq}: {since_request:.1f}s after "
            f"the request, {(decided_at - awaiting.promoted_at).total_seconds():.1f}s after "
            "promotion"
        )
        step = RetrainStep("serving", detail, decided_at, awaiting.request_id, None,
                           self.model_name, awaiting.version)  # fmt: skip
        await self._record(step)
        metrics.DRIFT_TO_SERVING_SECONDS.observe(since_request)
        self.awaiting_serving = None
        logger.info("retrained model serving: %s", detail)

    async def _close(
        self, step: str, detail: str, at: datetime, version: str | None, run_id: str | None
    ) -> None:
        assert self.open is not None
        await self._record(RetrainStep(step, detail, at, self.open.request_id, self.open.event_id,
                                       self.model_name, version, run_id))  # fmt: skip
        logger.info("retraining request %s %s: %s", self.open.request_id, step, detail)

    async def _record(self, step: RetrainStep) -> None:
        await store.record_step(self.pool, step)
        metrics.RETRAIN_STEPS.labels(step.step).inc()
