"""How the source is doing.

``SourceHealth`` is updated by the websocket loop and the REST client. It is *healthy* when
the websocket is connected and a message arrived within ``stale_after_s``; otherwise it is
degraded, and says why (reconnecting, rate limited, silent). State changes are logged once
(WARNING when degrading, INFO when recovering), not per event, and counted in the metrics.
The service's ``/readyz`` (``chainwatch.shared.health``) is ready only while it is healthy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from chainwatch.ingest import metrics

logger = logging.getLogger(__name__)

SourceState = Literal["starting", "connected", "reconnecting", "rate_limited", "stopped"]


@dataclass(frozen=True)
class HealthReport:
    """A snapshot of the source's health; ``*_age_s`` are seconds ago, None when never."""

    healthy: bool
    state: SourceState
    reason: str
    last_message_age_s: float | None
    connects: int
    disconnects: int
    requests_ok: int
    requests_failed: int
    rate_limited: int
    last_error: str | None
    checked_at: str


class SourceHealth:
    """Counters and state of one source, updated as things happen (all methods are cheap)."""

    def __init__(self, name: str, stale_after_s: float = 120.0) -> None:
        self.name = name
        self.stale_after_s = stale_after_s
        self.state: SourceState = "starting"
        self.connects = 0
        self.disconnects = 0
        self.requests_ok = 0
        self.requests_failed = 0
        self.rate_limited_count = 0
        self.last_error: str | None = None
        self._last_message_s: float | None = None
        self._rate_limited_until_s = 0.0

    def connected(self) -> None:
        self.connects += 1
        metrics.SOURCE_CONNECTS.inc()
        self._last_message_s = time.monotonic()
        self._set_state("connected", "websocket open")

    def message(self) -> None:
        self._last_message_s = time.monotonic()

    def disconnected(self, reason: str) -> None:
        self.disconnects += 1
        metrics.SOURCE_DISCONNECTS.inc()
        self.last_error = reason
        self._set_state("reconnecting", reason)

    def stopped(self) -> None:
        self._set_state("stopped", "service stopping")

    def request_ok(self) -> None:
        self.requests_ok += 1
        metrics.REST_REQUESTS.labels("ok").inc()

    def request_failed(self, reason: str) -> None:
        self.requests_failed += 1
        metrics.REST_REQUESTS.labels("failed").inc()
        self.last_error = reason

    def rate_limited(self, retry_after_s: float) -> None:
        self.rate_limited_count += 1
        metrics.REST_REQUESTS.labels("rate_limited").inc()
        self.last_error = f"HTTP 429, retry after {retry_after_s:.1f}s"
        self._rate_limited_until_s = time.monotonic() + retry_after_s

    def report(self) -> HealthReport:
        now_s = time.monotonic()
        age_s = None if self._last_message_s is None else now_s - self._last_message_s
        state: SourceState = self.state
        if state == "connected" and now_s < self._rate_limited_until_s:
            state = "rate_limited"
        healthy, reason = state == "connected", str(state)
        if healthy and age_s is not None and age_s > self.stale_after_s:
            healthy, reason = False, f"no message for {age_s:.0f}s"
        return HealthReport(
            healthy=healthy,
            state=state,
            reason=reason,
            last_message_age_s=None if age_s is None else round(age_s, 3),
            connects=self.connects,
            disconnects=self.disconnects,
            requests_ok=self.requests_ok,
            requests_failed=self.requests_failed,
            rate_limited=self.rate_limited_count,
            last_error=self.last_error,
            checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def _set_state(self, state: SourceState, reason: str) -> None:
        if state == self.state:
            return
        was, self.state = self.state, state
        if state == "reconnecting":
            logger.warning("source %s %s -> %s: %s", self.name, was, state, reason)
        else:
            logger.info("source %s %s -> %s", self.name, was, state)
