"""REST calls to a mempool.space or Esplora instance, each bounded, retried and rate-aware.

Every request has a total deadline (``timeout_s``: connect, send, wait and read together)
and a body size limit. Timeouts, refused connections and 5xx answers are retried with
backoff and jitter, up to ``max_attempts``. An HTTP 429 pauses *every* request of this
client until its ``Retry-After`` has passed (seconds or an HTTP date; a default when
absent), so one rate-limited call does not turn into a burst of them. A 404 is an answer,
not a failure: the transaction or block is not (or no longer) there.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from chainwatch.ingest.errors import NormaliseError, RateLimitedError, SourceError
from chainwatch.ingest.health import SourceHealth
from chainwatch.ingest.live.backoff import Backoff
from chainwatch.ingest.normalise import parse_json

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_S = 30.0
"""Wait after a 429 that gave no usable Retry-After."""

MAX_RETRY_AFTER_S = 600.0
"""Longest Retry-After honoured; a larger one is capped, so the source comes back at all."""


def parse_retry_after(value: str | None, now_ts: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now_ts if now_ts is not None else datetime.now(UTC).timestamp()
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER_S)


class MempoolRest:
    """The REST API of one mempool.space / Esplora instance, at ``base_url`` (no ``/api``)."""

    def __init__(
        self,
        base_url: str,
        *,
        health: SourceHealth,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        max_concurrent: int = 4,
        max_response_bytes: int = 32 * 1024 * 1024,
        backoff: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.health = health
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_response_bytes = max_response_bytes
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=15.0)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._paused_until_s = 0.0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": "chainwatch-ingest"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def tx_bytes(self, txid: str) -> bytes | None:
        """``GET /api/tx/:txid`` as raw bytes (parsed by the caller); None when not found."""
        return await self.get(f"/api/tx/{txid}")

    async def mempool_recent(self) -> list[Any]:
        """``GET /api/mempool/recent``: the newest mempool transactions, stripped."""
        return _list(await self.get_json("/api/mempool/recent"), "/api/mempool/recent")

    async def mempool_txids(self) -> list[Any]:
        """``GET /api/mempool/txids``: every txid in the mempool."""
        return _list(await self.get_json("/api/mempool/txids"), "/api/mempool/txids")

    async def block_txids(self, block_hash: str) -> list[Any]:
        """``GET /api/block/:hash/txids``: the block's txids in block order."""
        path = f"/api/block/{block_hash}/txids"
        return _list(await self.get_json(path), path)

    async def block_txs(self, block_hash: str, start_index: int) -> list[Any]:
        """``GET /api/block/:hash/txs/:start``: up to 25 full transactions from ``start_index``."""
        path = f"/api/block/{block_hash}/txs/{start_index}"
        return _list(await self.get_json(path), path)

    async def get_json(self, path: str) -> Any:
        """GET ``path`` and decode it; None for a 404. Raises ``SourceError`` on bad JSON."""
        body = await self.get(path)
        if body is None:
            return None
        try:
            return parse_json(body, max_bytes=self.max_response_bytes)
        except NormaliseError as exc:
            raise SourceError(self.base_url + path, f"answer refused: {exc.reason}") from None

    async def get(self, path: str) -> bytes | None:
        """GET ``path``, retrying what a retry can fix; None for a 404.

        Raises ``SourceError`` once ``max_attempts`` are spent, or at once for a 4xx other
        than 404 and 429.
        """
        url = self.base_url + path
        for attempt in range(self.max_attempts):
            await self._wait_while_paused()
            try:
                async with self._slots, asyncio.timeout(self.timeout_s):
                    body = await self._fetch(path)
            except RateLimitedError as exc:
                self._pause(exc.retry_after_s)
                self.health.rate_limited(exc.retry_after_s)
                logger.warning("rate limited by %s; pausing requests %.1fs", url, exc.retry_after_s)
                continue
            except (TimeoutError, httpx.TransportError, SourceError) as exc:
                reason = _describe(exc)
                if isinstance(exc, SourceError) and not _retryable(exc.status):
                    self.health.request_failed(reason)
                    raise
                self.health.request_failed(reason)
                if attempt + 1 < self.max_attempts:
                    delay_s = self.backoff.delay_s(attempt)
                    logger.info("GET %s failed (%s); retry in %.1fs", url, reason, delay_s)
                    await asyncio.sleep(delay_s)
                continue
            self.health.request_ok()
            return body
        raise SourceError(url, f"gave up after {self.max_attempts} attempts")

    async def _fetch(self, path: str) -> bytes | None:
        url = self.base_url + path
        async with self._http.stream("GET", path) as response:
            if response.status_code == 404:
                return None
            if response.status_code == 429:
                raise RateLimitedError(url, parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code != 200:
                raise SourceError(url, f"HTTP {response.status_code}", status=response.status_code)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise SourceError(url, f"answer over {self.max_response_bytes} bytes", 200)
            return bytes(body)

    def _pause(self, delay_s: float) -> None:
        self._paused_until_s = max(self._paused_until_s, time.monotonic() + delay_s)

    async def _wait_while_paused(self) -> None:
        # A later 429 may push the pause further while this one waits: look again after.
        while (remaining_s := self._paused_until_s - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining_s)


def _retryable(status: int | None) -> bool:
    """Worth another try: no status (transport), a server error, or a request timeout."""
    return status is None or status >= 500 or status == 408


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, SourceError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(path, f"expected a JSON array, got {type(value).__name__}")
    return value
