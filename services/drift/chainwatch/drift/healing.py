"""Self-healing: a drift event that crosses the policy asks the trainer for a new model.

The policy: an event of a kind listed in ``retrain_on`` whose evidence is strong enough
(feature drift must name at least ``retrain_min_features`` features) publishes a
``RetrainRequest`` on ``chainwatch.trainer.retrain``; the trainer's sensor turns it into a
training run that passes the promotion gate or not. The request names the run's training
window: the transactions that arrived from ``window_s`` before the drifted window's last
decision up to when the run starts, so the new model learns from the world after the
change as well as the recent past before it.

Against retraining storms, at most one request is open at a time and two requests are at
least ``cooldown_s`` apart; the trainer's sensor would launch a run per tick, so the
guard is kept here. A drift held back by the guard is deferred, not forgotten: when the
guard lifts and the next check against the same reference still finds it, retraining is
requested then (a model that learned the old world must not serve for an hour because its
successor's drift arrived during a cool-down). A drift that begins below the policy is
followed the same way, since its alarm raises no new event as it grows. A request is open
until one of:

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
from typing import Literal

import asyncpg
from nats.js import JetStreamContext

from chainwatch.drift import metrics, store
from chainwatch.drift.checks import CheckResult
from chainwatch.drift.store import RetrainStep
from chainwatch.shared.drift import DriftDetected, DriftKind, DriftReference, DriftWindow
from chainwatch.shared.registry import MODEL_CHAMPION, ModelPointer
from chainwatch.shared.retraining import RetrainRequest, TrainingWindow, request_retraining
from chainwatch.shared.schemas import Tier

logger = logging.getLogger(__name__)

REASON_LIMIT = 500
DEFERRED = "deferred: asked for when that ends, if the drift persists"
WINDOWED = frozenset({DriftKind.FEATURE, DriftKind.PREDICTION})
"""Kinds checked on every window, whose later checks show whether a drift persists. The
ADWIN kinds (anomaly, performance) report each rise as an event of its own instead."""


@dataclass(frozen=True)
class HealingPolicy:
    retrain_on: frozenset[DriftKind]
    min_features: int
    cooldown_s: float
    timeout_s: float
    window_s: float = 7 * 86400.0
    after_decisions: int = 0
    """Decisions to wait after a drifted window before asking, so the new model has some of
    the new world to learn from."""


def crosses(policy: HealingPolicy, kind: DriftKind, drifted_subjects: int) -> bool:
    """Whether drift of ``kind`` naming ``drifted_subjects`` subjects asks for retraining."""
    if kind not in policy.retrain_on:
        return False
    return kind != DriftKind.FEATURE or drifted_subjects >= policy.min_features


def request_reason(
    event: DriftDetected, summary: str | None = None, window: DriftWindow | None = None
) -> str:
    """The request's reason: what drifted (by the latest check), over which window, against
    which reference."""
    window = window or event.window
    reference = event.reference.reference_id if event.reference else "its own past (ADWIN)"
    text = (
        f"{event.kind.value} drift {event.event_id}: {summary or event.summary}; window: decisions "
        f"{window.first_seq}-{window.last_seq} ({window.size}, {window.first_at:%Y-%m-%dT%H:%M:%SZ}"
        f" to {window.last_at:%Y-%m-%dT%H:%M:%SZ}); reference: {reference}"
    )
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def training_window(policy: HealingPolicy, drifted: DriftWindow) -> TrainingWindow:
    """The transactions to retrain on: ``window_s`` before the drifted window ends, and since."""
    return TrainingWindow(start=drifted.last_at - timedelta(seconds=policy.window_s))


def _reference_id(reference: DriftReference | None) -> str | None:
    return reference.reference_id if reference is not None else None


FollowedBecause = Literal["held", "weak", "waiting", "again"]


@dataclass(frozen=True)
class Deferred:
    """A drift followed until it asks for retraining, and why it has not asked yet: held
    back by a guard, still weak, waiting for decisions of the new world, or its last
    request was refused or timed out."""

    event: DriftDetected
    because: FollowedBecause
    since_seq: int
    """The last decision of the first drifted window: the wait for new decisions counts from it."""


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
        self.open_event: DriftDetected | None = None
        self.deferred: dict[tuple[DriftKind, Tier | None], Deferred] = {}
        """Drifts followed by ``on_check``, per kind and tier."""

    async def restore(self) -> None:
        """Pick up a request left open by an earlier run of the service."""
        self.open = await store.open_request(self.pool)
        self.last_requested_at = await store.last_request_at(self.pool)
        if self.open is not None:
            logger.info("retraining request %s still open", self.open.request_id)

    async def on_event(self, event: DriftDetected) -> None:
        """Ask for retraining if the event crosses the policy and no guard holds it back.

        An event held back is deferred, not dropped, and one of a listed kind that is still
        below the policy (too few features) is watched: its alarm stays up while the drift
        grows and raises no new event, so ``on_check`` follows the drift's later checks.
        """
        if event.kind not in self.policy.retrain_on:
            return
        key = (event.kind, event.tier)
        followable = event.kind in WINDOWED
        followed = self.deferred.get(key)
        # The wait counts from the first event of a drift followed against this reference:
        # one that persists for ``realert_s`` is reported again, which must not restart it.
        same = followed is not None and _reference_id(followed.event.reference) == _reference_id(
            event.reference
        )
        since = followed.since_seq if followed is not None and same else event.window.last_seq
        if not event.retrain:
            if followable:
                self.deferred[key] = Deferred(event, "weak", since)
            return
        if followable and self.policy.after_decisions > 0:
            self.deferred[key] = Deferred(event, "waiting", since)
            logger.info("drift %s: asking once %d more decisions show it", event.event_id,
                        self.policy.after_decisions)  # fmt: skip
            return
        now = datetime.now(UTC)
        held = self._held_back(now)
        if held:
            if followable:
                self.deferred[key] = Deferred(event, "held", since)
            detail = f"{held}; {DEFERRED if followable else 'dropped'}"
            await self._record(RetrainStep("suppressed", detail, now, event_id=event.event_id))
            logger.info("retraining not requested for %s yet: %s", event.event_id, held)
            return
        self.deferred.pop(key, None)
        await self._request(event, event.summary, event.window, now)

    async def on_check(self, check: CheckResult) -> None:
        """A later check of a deferred or watched drift: ask now if it crosses the policy.

        That is when the drift persists (or has grown to enough features) and nothing holds
        it back. Following it ends without a request when the drift clears, or when the
        reference changes (a new champion: against it, a drift that persists is a new event).
        """
        key = (check.kind, check.tier)
        followed = self.deferred.get(key)
        if followed is None or check.kind not in WINDOWED:
            return
        event = followed.event
        if _reference_id(check.reference) != _reference_id(event.reference):
            del self.deferred[key]
            logger.info("drift %s no longer followed: the reference changed", event.event_id)
            return
        if not check.drifted:
            del self.deferred[key]
            logger.info("drift %s cleared by itself", event.event_id)
            return
        now = datetime.now(UTC)
        waited = check.window.last_seq - followed.since_seq
        if waited < self.policy.after_decisions or not crosses(
            self.policy, check.kind, len(check.findings)
        ):
            return
        held = self._held_back(now)
        if held:
            if followed.because != "held":  # said once per drift, not at every check
                detail = f"{held}; {DEFERRED}"
                await self._record(RetrainStep("suppressed", detail, now, event_id=event.event_id))
                self.deferred[key] = Deferred(event, "held", followed.since_seq)  # once recorded
            return
        at = f"decisions {check.window.first_seq}-{check.window.last_seq}"
        note = {
            "held": f"deferred, still drifted at {at}",
            "weak": f"grew by {at}",
            "waiting": f"waited {waited} decisions, still drifted at {at}",
            "again": f"asked again, still drifted at {at}",
        }[followed.because]
        await self._request(event, check.summary, check.window, now, note)
        del self.deferred[key]  # only now: a request that failed is asked again on retry

    async def _request(
        self,
        event: DriftDetected,
        summary: str,
        latest: DriftWindow,
        now: datetime,
        note: str = "",
    ) -> None:
        window = training_window(self.policy, latest)
        request = RetrainRequest(
            # One id per event and check: a retried batch publishes the same request again
            # (dropped as a repeat), a drift asked for again gets a new one.
            request_id=uuid.uuid5(
                uuid.NAMESPACE_URL, f"chainwatch-drift:{event.event_id}:{latest.last_seq}"
            ).hex,
            requested_by="drift",
            reason=request_reason(event, summary, latest),
            requested_at=now,
            window=window,
        )
        await request_retraining(self.js, request)
        detail = f"{request.reason}; {note + '; ' if note else ''}training on transactions "
        step = RetrainStep(
            "requested",
            detail + window.describe(),
            now,
            request.request_id,
            event.event_id,
            self.model_name,
            event.model_versions.get("batch"),
        )
        await self._record(step)
        self.open, self.open_event, self.last_requested_at = step, event, now
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
        self.open, self.open_event = None, None

    async def poll(self) -> None:
        """Close an open request the trainer refused, or that waited too long."""
        if self.open is None:
            return
        refused = await store.refusal_since(self.pool, self.model_name, self.open.at)
        if refused is not None:
            detail = f"promotion gate refused {refused['candidate_version']}: {refused['reasons']}"
            await self._close("refused", detail[:1000], refused["decided_at"],
                              refused["candidate_version"], refused["run_id"])  # fmt: skip
            self._ask_again()
            return
        now = datetime.now(UTC)
        if (now - self.open.at).total_seconds() >= self.policy.timeout_s:
            detail = f"no promotion or refusal within {self.policy.timeout_s:.0f}s"
            await self._close("timed_out", detail, now, None, None)
            self._ask_again()

    def _ask_again(self) -> None:
        """The open request came to nothing: follow its drift again, to ask after the
        cool-down if it persists (with more of the new world to learn from by then)."""
        event, self.open, self.open_event = self.open_event, None, None
        if event is not None and event.kind in WINDOWED:
            again = Deferred(event, "again", event.window.last_seq)
            self.deferred.setdefault((event.kind, event.tier), again)

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
