"""The live source's connection: subscribe, read, and come back after every failure.

One websocket to ``<base>/api/v1/ws`` asks for blocks, projected blocks and mempool state
(``want``), for every mempool change (``track-mempool``, or ``track-mempool-txids`` for the
lighter id-only feed) and for replacement trees (``track-rbf``). Each connection starts
with a REST resynchronisation, so what arrived while disconnected is not lost.

Reading and handling are apart: the reader only queues messages, so a slow block fetch
never stops it answering pings; one worker handles the queue in order. A connection that
fails, closes, or stays silent for ``stale_after_s`` is replaced after a backoff with
jitter; a 429 on the websocket handshake waits for its ``Retry-After``. The source knows
only its base URL: mempool.space, a self-hosted instance, or the local replay server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Literal

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus, WebSocketException

from chainwatch.ingest.errors import SourceError
from chainwatch.ingest.health import SourceHealth
from chainwatch.ingest.live.backoff import Backoff
from chainwatch.ingest.live.client import parse_retry_after
from chainwatch.ingest.live.handler import LiveHandler
from chainwatch.ingest.live.messages import MAX_MESSAGE_BYTES
from chainwatch.ingest.replay import wait_or_stop

logger = logging.getLogger(__name__)

TrackMode = Literal["mempool", "mempool-txids"]


def websocket_url(base_url: str) -> str:
    """``https://host/path`` -> ``wss://host/path/api/v1/ws`` (http -> ws)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/api/v1/ws"
    if base.startswith("http://"):
        return "ws://" + base.removeprefix("http://") + "/api/v1/ws"
    raise ValueError(f"base URL must start with http:// or https://: {base_url!r}")


@dataclass(frozen=True)
class ConnectionPolicy:
    """How the websocket is opened, kept and replaced."""

    want: tuple[str, ...] = ("blocks", "mempool-blocks", "stats")
    track: TrackMode = "mempool"
    track_rbf: bool = True
    open_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    stale_after_s: float = 120.0
    max_queued_messages: int = 1_000
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class _Resync:
    """Queued after each (re)connection: ask REST for what the websocket did not say."""


_Queue = asyncio.Queue[str | bytes | _Resync | None]


class LiveSource:
    """Runs the websocket of one base URL until stopped; hands every message to ``handler``."""

    def __init__(
        self,
        base_url: str,
        handler: LiveHandler,
        health: SourceHealth,
        policy: ConnectionPolicy | None = None,
    ) -> None:
        self.base_url = base_url
        self.ws_url = websocket_url(base_url)
        self.handler = handler
        self.health = health
        self.policy = policy or ConnectionPolicy()
        self.messages_read = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, read, reconnect, until ``stop`` is set; the message in hand is finished."""
        queue: _Queue = asyncio.Queue(self.policy.max_queued_messages)
        worker = asyncio.create_task(self._work(queue, stop), name="live-worker")
        failures = 0
        try:
            while not stop.is_set():
                read_before = self.messages_read
                delay_s = await self._connection(queue, stop)
                if stop.is_set():
                    break
                failures = 0 if self.messages_read > read_before else failures + 1
                delay_s = max(delay_s, self.policy.backoff.delay_s(failures))
                logger.info("reconnecting to %s in %.1fs", self.ws_url, delay_s)
                await wait_or_stop(stop, delay_s)
        finally:
            self.health.stopped()
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)  # when full, the worker sees ``stop`` at its next item
            await worker

    async def _connection(self, queue: _Queue, stop: asyncio.Event) -> float:
        """One connection, from opening to closing; returns a minimum wait before the next."""
        try:
            async with websockets.connect(
                self.ws_url,
                open_timeout=self.policy.open_timeout_s,
                ping_interval=self.policy.ping_interval_s,
                ping_timeout=self.policy.ping_interval_s,
                close_timeout=2.0,
                max_size=MAX_MESSAGE_BYTES,
                user_agent_header="chainwatch-ingest",
            ) as ws:
                self.health.connected()
                logger.info("connected to %s", self.ws_url)
                await self._subscribe(ws)
                await queue.put(_Resync())
                await self._read(ws, queue, stop)
        except InvalidStatus as exc:
            status = exc.response.status_code
            self.health.disconnected(f"websocket handshake answered HTTP {status}")
            if status == 429:
                retry_after_s = parse_retry_after(exc.response.headers.get("Retry-After"))
                self.health.rate_limited(retry_after_s)
                return retry_after_s
        except TimeoutError:
            self.health.disconnected(f"no message for {self.policy.stale_after_s:.0f}s")
        except (OSError, WebSocketException) as exc:
            self.health.disconnected(f"{type(exc).__name__}: {exc}")
        return 0.0

    async def _subscribe(self, ws: ClientConnection) -> None:
        await ws.send(json.dumps({"action": "want", "data": list(self.policy.want)}))
        await ws.send(json.dumps({f"track-{self.policy.track}": True}))
        if self.policy.track_rbf:
            await ws.send(json.dumps({"track-rbf": "all"}))

    async def _read(self, ws: ClientConnection, queue: _Queue, stop: asyncio.Event) -> None:
        """Queue messages until the connection ends or ``stop`` is set (which closes it)."""
        closer = asyncio.create_task(_close_when(stop, ws))
        try:
            while not stop.is_set():
                async with asyncio.timeout(self.policy.stale_after_s):
                    data = await ws.recv()
                self.messages_read += 1
                self.health.message()
                await queue.put(data)
        except websockets.ConnectionClosedOK:
            if not stop.is_set():
                self.health.disconnected("server closed the websocket")
        finally:
            closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closer

    async def _work(self, queue: _Queue, stop: asyncio.Event) -> None:
        """Handle queued messages in order until stopped. One failure never ends the loop.

        Messages still queued at a stop are dropped: the next start resynchronises.
        """
        while (item := await queue.get()) is not None and not stop.is_set():
            try:
                if isinstance(item, _Resync):
                    await self.handler.resync()
                else:
                    await self.handler.handle_raw(item, self.ws_url)
            except SourceError as exc:
                logger.warning("source request failed: %s", exc)
            except Exception:
                # The boundary of one message: log it with its trace, keep the source alive.
                logger.exception("handling a message from %s failed", self.ws_url)


async def _close_when(stop: asyncio.Event, ws: ClientConnection) -> None:
    await stop.wait()
    await ws.close()
