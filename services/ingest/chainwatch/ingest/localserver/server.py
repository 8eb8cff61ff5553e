"""A local mempool.space: the REST and websocket API, serving recorded real data.

It speaks the subset of mempool.space's API that ingest uses, on one port, loopback only:

- REST (Esplora): ``/api/tx/:txid``, ``/api/tx/:txid/status``, ``/api/mempool``,
  ``/api/mempool/txids``, ``/api/mempool/recent``, ``/api/blocks/tip/height``,
  ``/api/blocks/tip/hash``, ``/api/block/:hash``, ``/api/block/:hash/txids``,
  ``/api/block/:hash/txs/:start``, ``/api/block-height/:height``,
  ``/api/v1/fees/recommended``, ``/api/v1/fees/mempool-blocks``;
- websocket ``/api/v1/ws``: ``want`` (``blocks``, ``mempool-blocks``, ``stats``),
  ``track-mempool``, ``track-mempool-txids``, ``track-rbf``, ``init`` and ``ping``.

The mempool it serves follows a ``Scenario`` of recorded transactions and blocks, played
at a fixed pace (``play``) or one step at a time (``advance``, for tests). Mempool state
messages (size, fees, projected blocks) are recorded mempool.space messages, sent as they
were. For tests it can drop every websocket (``drop_connections``) and answer the next
REST requests with an error such as 429 (``fail_next``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chainwatch.ingest.localserver.rest import Chain, RestApi
from chainwatch.ingest.localserver.scenario import Record, RecordedBlock, Scenario, Step
from chainwatch.ingest.localserver.stats import RecordedStats

logger = logging.getLogger(__name__)

WEBSOCKET_PATH = "/api/v1/ws"


@dataclass(eq=False)
class _Client:
    """One websocket client and what it asked for."""

    connection: ServerConnection
    wants: frozenset[str] = frozenset()
    track: str | None = None  # "mempool" or "mempool-txids"
    track_rbf: bool = False


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    websocket: bool


class LocalMempoolServer:
    """Serves ``scenario`` on ``host:port`` (port 0 picks a free one; see ``base_url``)."""

    def __init__(
        self, scenario: Scenario, stats: RecordedStats, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.scenario = scenario
        self.stats = stats
        self.host = host
        self.port = port
        self.steps_done = 0
        self.requests = 0
        self.subscriptions = 0
        self.failures_served = 0
        self.finished = asyncio.Event()
        self._chain = Chain()
        self._clients: set[_Client] = set()
        self._subscribed = asyncio.Condition()
        self._failures: deque[_Failure] = deque()
        self._server: Server | None = None
        self._rest = RestApi(self._chain, stats)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> LocalMempoolServer:
        self._server = await serve(
            self._websocket, self.host, self.port, process_request=self._http, max_size=2**20
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
        logger.info(
            "local mempool server on %s (%d steps)", self.base_url, len(self.scenario.steps)
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> LocalMempoolServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # The scenario

    async def advance(self, steps: int = 1) -> None:
        """Play the next ``steps`` steps now (fewer when the scenario ends)."""
        for _ in range(steps):
            if self.steps_done >= len(self.scenario.steps):
                break
            await self._play(self.scenario.steps[self.steps_done])
            self.steps_done += 1
        if self.steps_done >= len(self.scenario.steps):
            self.finished.set()

    async def play(self, steps_per_s: float, stop: asyncio.Event | None = None) -> None:
        """Play the remaining steps at ``steps_per_s`` until the end or ``stop``."""
        stop = stop or asyncio.Event()
        while not self.finished.is_set() and not stop.is_set():
            await self.advance()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0 / steps_per_s)

    async def wait_subscriptions(self, count: int = 1) -> None:
        """Wait until ``count`` websockets (over the server's life) asked to track the mempool."""
        async with self._subscribed:
            await self._subscribed.wait_for(lambda: self.subscriptions >= count)

    async def inject(self, data: str | bytes) -> None:
        """Send ``data`` as it is to every websocket client: for tests of hostile messages."""
        for client in list(self._clients):
            with contextlib.suppress(ConnectionClosed):
                await client.connection.send(data)

    def drop_connections(self) -> int:
        """Cut every websocket without a close handshake, as a network failure would."""
        dropped = 0
        for client in list(self._clients):
            transport = client.connection.transport
            if transport is not None:
                transport.abort()
                dropped += 1
        self._clients.clear()
        return dropped

    def fail_next(
        self,
        requests: int,
        status: int = 429,
        retry_after: str | None = "1",
        *,
        websocket: bool = False,
    ) -> None:
        """Answer the next ``requests`` HTTP requests with ``status`` (and ``Retry-After``).

        REST requests only, unless ``websocket``: then websocket handshakes only.
        """
        self._failures.extend(_Failure(status, retry_after, websocket) for _ in range(requests))

    async def _play(self, step: Step) -> None:
        chain = self._chain
        chain.sequence += 1
        delta: dict[str, Any] = {
            "sequence": chain.sequence, "added": [], "removed": [], "mined": [], "replaced": []
        }  # fmt: skip
        extra: dict[str, Any] = {}
        for tx in step.added:
            self._enter_mempool(tx)
            delta["added"].append(tx)
        for replaced_txid, replacement in step.replaced:
            chain.mempool.pop(replaced_txid, None)
            self._enter_mempool(replacement)
            delta["added"].append(replacement)
            delta["removed"].append(replaced_txid)
            delta["replaced"].append({"replaced": replaced_txid, "by": replacement})
            chain.replacements.append(_rbf_tree(replaced_txid, replacement))
        for txid in step.evicted:
            chain.mempool.pop(txid, None)
            delta["removed"].append(txid)
        if step.block is not None:
            extra = self._mine(step.block)
            delta["mined"] = step.block.txids
        await self._broadcast(delta, extra, rbf_changed=bool(step.replaced))

    def _enter_mempool(self, tx: Record) -> None:
        self._chain.mempool[tx["txid"]] = tx
        self._chain.txs[tx["txid"]] = tx
        self._chain.recent.appendleft(tx["txid"])

    def _mine(self, block: RecordedBlock) -> dict[str, Any]:
        chain = self._chain
        chain.blocks.append(block)
        for tx in block.txs:
            chain.mempool.pop(tx["txid"], None)
            chain.txs[tx["txid"]] = tx  # now with its confirmed status
        self.stats.next_projection()
        return {"block": block.header(), **self.stats.state()}

    async def _broadcast(
        self, delta: dict[str, Any], extra: dict[str, Any], rbf_changed: bool
    ) -> None:
        txids_delta = {
            **delta,
            "added": [tx["txid"] for tx in delta["added"]],
            "replaced": [
                {"replaced": r["replaced"], "by": r["by"]["txid"]} for r in delta["replaced"]
            ],
        }
        for client in list(self._clients):
            message: dict[str, Any] = {}
            if "blocks" in client.wants and "block" in extra:
                message["block"] = extra["block"]
            if "stats" in client.wants and "block" in extra:
                message.update(self.stats.stats_part())
            if "mempool-blocks" in client.wants and "block" in extra:
                message["mempool-blocks"] = extra["mempool-blocks"]
            if client.track == "mempool":
                message["mempool-transactions"] = delta
            elif client.track == "mempool-txids":
                message["mempool-txids"] = txids_delta
            if client.track_rbf and rbf_changed:
                message["rbfLatest"] = self._chain.replacements[-25:]
            if message:
                await _send(client, message)

    # The websocket

    async def _websocket(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        self._clients.add(client)
        try:
            async for data in connection:
                try:
                    request = json.loads(data)
                except (ValueError, RecursionError):
                    await connection.close(1003, "not JSON")  # as mempool.space does
                    return
                if isinstance(request, dict):
                    await self._subscribe(client, request)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    async def _subscribe(self, client: _Client, request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {}
        wanted = request.get("data")
        if request.get("action") == "want" and isinstance(wanted, list):
            names = frozenset(w for w in wanted if isinstance(w, str))  # ignore what is not a name
            new = names - client.wants
            client.wants = names
            if "blocks" in new:
                reply["blocks"] = [b.header() for b in self._chain.blocks[-8:]]
            if "mempool-blocks" in new:
                reply["mempool-blocks"] = self.stats.state()["mempool-blocks"]
            if "stats" in new:
                reply.update(self.stats.stats_part())
        for track in ("mempool", "mempool-txids"):
            if request.get(f"track-{track}") is True:
                client.track = track
        if request.get("track-rbf") in ("all", "fullRbf"):
            client.track_rbf = True
            reply["rbfLatest"] = self._chain.replacements[-25:]
        if request.get("action") == "init":
            reply.update({"blocks": [b.header() for b in self._chain.blocks[-8:]]})
            reply.update(self.stats.state())
        if request.get("action") == "ping":
            reply["pong"] = True
        if reply:
            await _send(client, reply)
        if any(f"track-{track}" in request for track in ("mempool", "mempool-txids")):
            async with self._subscribed:
                self.subscriptions += 1
                self._subscribed.notify_all()

    # REST

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?")[0]
        is_websocket = path == WEBSOCKET_PATH
        if self._failures and self._failures[0].websocket == is_websocket:
            failure = self._failures.popleft()
            self.failures_served += 1
            response = connection.respond(failure.status, f"HTTP {failure.status}\n")
            if failure.retry_after is not None:
                response.headers["Retry-After"] = failure.retry_after
            return response
        if is_websocket:
            return None
        self.requests += 1
        return self._rest.answer(connection, path)


def _rbf_tree(replaced_txid: str, replacement: Record) -> dict[str, Any]:
    """A one-level replacement tree in the shape of ``rbfLatest``."""
    return {
        "tx": {"txid": replacement["txid"], "fee": replacement.get("fee"), "rbf": True},
        "replaces": [{"tx": {"txid": replaced_txid, "rbf": True}, "replaces": []}],
        "mined": False,
    }


async def _send(client: _Client, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionClosed):
        await client.connection.send(json.dumps(message, separators=(",", ":")))
