"""The REST half of the local mempool.space: Esplora's answers from the served chain."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from chainwatch.ingest.localserver.scenario import Record, RecordedBlock
from chainwatch.ingest.localserver.stats import RecordedStats

BLOCK_PAGE_SIZE = 25
"""Esplora pages block transactions 25 at a time; a start index must be a multiple."""


@dataclass
class Chain:
    """What the server serves: the mempool, every transaction seen, the blocks found so far.

    ``recent`` holds the newest txids to enter the mempool (``/api/mempool/recent``);
    ``replacements`` the replacement trees sent as ``rbfLatest``.
    """

    mempool: dict[str, Record] = field(default_factory=dict)
    txs: dict[str, Record] = field(default_factory=dict)
    blocks: list[RecordedBlock] = field(default_factory=list)
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    replacements: list[dict[str, Any]] = field(default_factory=list)
    sequence: int = 0


class RestApi:
    """Answers GET requests from ``chain``; one route table, matched in order."""

    def __init__(self, chain: Chain, stats: RecordedStats) -> None:
        self.chain = chain
        self.stats = stats
        self._routes = [(re.compile(pattern), handler) for pattern, handler in self._route_table()]

    def answer(self, connection: ServerConnection, path: str) -> Response:
        for pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return handler(connection, *match.groups())
        return connection.respond(404, "Not found\n")

    def _route_table(self) -> list[tuple[str, Callable[..., Response]]]:
        chain = self.chain
        hex64 = "([0-9a-f]{64})"

        def tx(connection: ServerConnection, txid: str) -> Response:
            return _json(connection, chain.txs.get(txid), "Transaction not found")

        def tx_status(connection: ServerConnection, txid: str) -> Response:
            found = chain.txs.get(txid)
            return _json(connection, found and found["status"], "Transaction not found")

        def mempool(connection: ServerConnection) -> Response:
            txs = chain.mempool.values()
            vsize = sum((tx["weight"] + 3) // 4 for tx in txs)
            fee = sum(tx.get("fee") or 0 for tx in txs)
            body = {
                "count": len(chain.mempool),
                "vsize": vsize,
                "total_fee": fee,
                "fee_histogram": [],
            }
            return _json(connection, body)

        def recent(connection: ServerConnection) -> Response:
            txs = [chain.txs[txid] for txid in chain.recent]
            return _json(connection, [_stripped(tx) for tx in txs])

        def block(
            connection: ServerConnection, block_hash: str, rest: str | None = None
        ) -> Response:
            found = next((b for b in chain.blocks if b.block_hash == block_hash), None)
            if found is None:
                return connection.respond(404, "Block not found\n")
            if rest == "/txids":
                return _json(connection, found.txids)
            if rest is None:
                return _json(connection, found.header())
            start = int(rest.rsplit("/", 1)[1])
            if start % BLOCK_PAGE_SIZE:
                return connection.respond(400, "start index must be a multiple of 25\n")
            return _json(connection, list(found.txs[start : start + BLOCK_PAGE_SIZE]))

        def height(connection: ServerConnection, value: str) -> Response:
            found = next((b for b in chain.blocks if b.height == int(value)), None)
            if found is None:
                return connection.respond(404, "Block not found\n")
            return connection.respond(200, found.block_hash)

        def tip(connection: ServerConnection, what: str) -> Response:
            if not chain.blocks:
                return connection.respond(404, "No blocks yet\n")
            last = chain.blocks[-1]
            return connection.respond(
                200, str(last.height if what == "height" else last.block_hash)
            )

        return [
            (f"/api/tx/{hex64}", tx),
            (f"/api/tx/{hex64}/status", tx_status),
            ("/api/mempool", mempool),
            ("/api/mempool/txids", lambda c: _json(c, list(chain.mempool))),
            ("/api/mempool/recent", recent),
            ("/api/blocks/tip/(height|hash)", tip),
            (f"/api/block/{hex64}(/txids|/txs/[0-9]+)?", block),
            ("/api/block-height/([0-9]+)", height),
            ("/api/v1/fees/recommended", lambda c: _json(c, self.stats.state()["fees"])),
            (
                "/api/v1/fees/mempool-blocks",
                lambda c: _json(c, self.stats.state()["mempool-blocks"]),
            ),
        ]


def _json(connection: ServerConnection, body: object, missing: str = "Not found") -> Response:
    if body is None:
        return connection.respond(404, missing + "\n")
    response = connection.respond(200, json.dumps(body, separators=(",", ":")))
    response.headers["Content-Type"] = "application/json"
    return response


def _stripped(tx: Record) -> dict[str, Any]:
    """A transaction as ``/api/mempool/recent`` lists it."""
    return {
        "txid": tx["txid"],
        "fee": tx.get("fee") or 0,
        "vsize": (tx["weight"] + 3) // 4,
        "value": sum(o["value"] for o in tx["vout"]),
    }
