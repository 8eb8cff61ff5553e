"""How the source is doing, and a small HTTP endpoint that says so.

``SourceHealth`` is updated by the websocket loop and the REST client. It is *healthy* when
the websocket is connected and a message arrived within ``stale_after_s``; otherwise it is
degraded, and says why (reconnecting, rate limited, silent). State changes are logged once
(WARNING when degrading, INFO when recovering), not per event.

``HealthServer`` answers on ``health_host:health_port``:

- ``GET /healthz``: 200 while the service's event loop runs (liveness);
- ``GET /readyz``: 200 when the bus is connected and the source healthy, else 503;
- ``GET /status``: the whole picture as JSON, for people and dashboards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

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
        self._last_message_s = time.monotonic()
        self._set_state("connected", "websocket open")

    def message(self) -> None:
        self._last_message_s = time.monotonic()

    def disconnected(self, reason: str) -> None:
        self.disconnects += 1
        self.last_error = reason
        self._set_state("reconnecting", reason)

    def stopped(self) -> None:
        self._set_state("stopped", "service stopping")

    def request_ok(self) -> None:
        self.requests_ok += 1

    def request_failed(self, reason: str) -> None:
        self.requests_failed += 1
        self.last_error = reason

    def rate_limited(self, retry_after_s: float) -> None:
        self.rate_limited_count += 1
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


ReadyCheck = Callable[[], dict[str, Any]]
"""Returns the readiness facts: a dict whose ``ready`` key says whether all is well."""


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/status`` over plain HTTP/1.1, one request per connection."""

    def __init__(self, host: str, port: int, ready: ReadyCheck) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self._server: asyncio.Server | None = None

    async def start(self) -> bool:
        """Listen; False (logged, not raised) when the port is taken: health is not vital."""
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            logger.warning("health endpoint not started on %s:%d: %s", self.host, self.port, exc)
            return False
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("health endpoint on http://%s:%d/healthz", self.host, self.port)
        return True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5.0):
                request_line = await reader.readline()
                while (await reader.readline()).strip():
                    pass  # headers: nothing here depends on them
            status, body = self._answer(request_line.decode("latin-1").split())
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, OSError, UnicodeDecodeError):
            pass  # a client that hangs up or dawdles gets nothing
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _answer(self, request: list[str]) -> tuple[str, dict[str, Any]]:
        path = request[1].split("?")[0] if len(request) >= 2 else ""
        if not request or request[0] != "GET":
            return "405 Method Not Allowed", {"error": "GET only"}
        if path == "/healthz":
            return "200 OK", {"alive": True}
        if path in ("/readyz", "/status"):
            facts = self.ready()
            ok = bool(facts.get("ready"))
            return ("200 OK" if ok or path == "/status" else "503 Service Unavailable"), facts
        return "404 Not Found", {"error": f"no {path}"}
