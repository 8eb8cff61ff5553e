"""The services whose panels the dashboard draws: fees, Lightning and onboarding.

Each is reached over HTTP at the base URL of its setting (``CHAINWATCH_DASHBOARD_FEES_URL``
and so on), from the server, never from the browser: a page fetches the service's JSON,
checks it against the shared wire model and renders it. An empty URL means the service is
not configured on this deployment; a service that does not answer in time, answers with a
server error or with JSON of the wrong shape is *unavailable*. Either way the page says so
and the dashboard answers 200: a panel's service never takes a dashboard page down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from chainwatch.dashboard.settings import DashboardSettings

logger = logging.getLogger(__name__)


class UpstreamUnavailable(Exception):
    """The service did not give a usable answer; ``reason`` says why, for the page."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """A service's answer: its HTTP status and its body as parsed JSON."""

    status_code: int
    body: Any


@dataclass(frozen=True)
class Upstream:
    """One service's HTTP API at ``base_url`` (empty: not configured)."""

    name: str
    base_url: str
    timeout_s: float

    @property
    def configured(self) -> bool:
        return bool(self.base_url.strip())

    async def get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        return await self._call("GET", path, params=params)

    async def post_json(self, path: str, body: Any) -> Answer:
        return await self._call("POST", path, json=body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        """The answer to one request; raises ``UpstreamUnavailable`` on anything but JSON
        with a status below 500."""
        url = self.base_url.rstrip("/") + path
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
                response = await client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise UpstreamUnavailable(self.name, f"no answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            logger.warning("%s %s %s: %s", self.name, method, url, exc)
            raise UpstreamUnavailable(self.name, "cannot connect") from None

        if response.status_code >= 500:
            raise UpstreamUnavailable(self.name, _server_error(response))
        try:
            body = response.json()
        except ValueError:
            raise UpstreamUnavailable(
                self.name, f"answered HTTP {response.status_code} without JSON"
            ) from None
        return Answer(response.status_code, body)


def _server_error(response: httpx.Response) -> str:
    """A server error in words: its own message when it sent one as JSON."""
    reason = f"answered HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return reason
    message = body.get("message") or body.get("detail") if isinstance(body, dict) else None
    return f"{reason}: {message}" if isinstance(message, str) else reason


def upstreams(settings: DashboardSettings) -> tuple[Upstream, Upstream, Upstream]:
    """The fees, lightning and onboarding services, as configured."""
    timeout_s = settings.upstream_timeout_s
    return (
        Upstream("fees", settings.fees_url, timeout_s),
        Upstream("lightning", settings.lightning_url, timeout_s),
        Upstream("onboarding", settings.onboarding_url, timeout_s),
    )
