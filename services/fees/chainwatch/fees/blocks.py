"""Blocks as they are mined: which transactions each held, and what fee rates they paid.

Ingest publishes a ``TxConfirmed`` per transaction of a block and then its
``BlockConnected``; they travel on one stream, but the fees service reads its subjects
apart, so a confirmation can arrive after the block. A block is therefore *ready* when it
is connected and either every one of its transactions has been confirmed or
``grace_s`` has passed since it was connected.

``BlockFees`` is a ready block's fee-rate distribution: own fee rates (fee over virtual
size) of the transactions whose fee the service knows, coinbase excluded, as the recorded
series measures them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from chainwatch.fees.book import LiveMempool
from chainwatch.fees.state import BlockRecord
from chainwatch.shared.mempool_events import BlockConnected, TxConfirmed

COINBASE_WEIGHT_WU = 1_000
"""Stand-in for a coinbase's weight when adding up a block's known weights."""
DONE_MEMORY = 10_000
"""Handed-out block hashes remembered, so a replayed confirmation does not reopen a block."""


@dataclass
class _Pending:
    block_hash: str
    height: int = -1
    block_time_ts: int = 0
    tx_count: int | None = None
    connected_at_s: float | None = None
    txids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class BlockFees:
    """A mined block's height and time, and the fee rates (sat/vB) of its known transactions."""

    block_hash: str
    height: int
    block_time_ts: int
    tx_count: int
    known_tx_count: int
    p5_fee_rate_sat_vb: float | None
    median_fee_rate_sat_vb: float | None
    weight_wu: int

    def record(self) -> BlockRecord:
        return BlockRecord(
            height=self.height,
            block_time_ts=self.block_time_ts,
            median_fee_rate_sat_vb=self.median_fee_rate_sat_vb,
            tx_count=self.tx_count,
            weight_wu=self.weight_wu,
        )


class BlockTracker:
    """Confirmations gathered by block hash until each block is ready."""

    def __init__(self, grace_s: float = 5.0) -> None:
        self.grace_s = grace_s
        self._pending: dict[str, _Pending] = {}
        self._done: dict[str, None] = {}

    def confirmed(self, event: TxConfirmed) -> None:
        if event.block_hash in self._done or event.position == 0:
            return
        pending = self._pending.setdefault(event.block_hash, _Pending(event.block_hash))
        pending.txids.add(event.txid)

    def connected(self, event: BlockConnected, now_s: float | None = None) -> None:
        if event.block_hash in self._done:
            return
        pending = self._pending.setdefault(event.block_hash, _Pending(event.block_hash))
        pending.height = event.height
        pending.block_time_ts = event.block_time_ts
        pending.tx_count = event.tx_count
        pending.connected_at_s = time.monotonic() if now_s is None else now_s

    def ready(self, mempool: LiveMempool, now_s: float | None = None) -> list[BlockFees]:
        """Blocks ready now, lowest height first; each is handed out once."""
        now_s = time.monotonic() if now_s is None else now_s
        out = []
        for block_hash, pending in list(self._pending.items()):
            if pending.tx_count is None or pending.connected_at_s is None:
                continue
            complete = len(pending.txids) >= pending.tx_count - 1
            if complete or now_s - pending.connected_at_s >= self.grace_s:
                out.append(_fees(pending, mempool))
                del self._pending[block_hash]
                self._done[block_hash] = None
                if len(self._done) > DONE_MEMORY:
                    del self._done[next(iter(self._done))]
        return sorted(out, key=lambda b: b.height)


def _fees(pending: _Pending, mempool: LiveMempool) -> BlockFees:
    facts = [f for txid in pending.txids if (f := mempool.facts_of(txid)) is not None]
    rates = np.array([f.fee_sat / f.vsize_vb for f in facts], dtype=np.float64)
    known = len(rates)
    assert pending.tx_count is not None
    return BlockFees(
        block_hash=pending.block_hash,
        height=pending.height,
        block_time_ts=pending.block_time_ts,
        tx_count=pending.tx_count,
        known_tx_count=known,
        p5_fee_rate_sat_vb=float(np.percentile(rates, 5)) if known else None,
        median_fee_rate_sat_vb=float(np.median(rates)) if known else None,
        weight_wu=COINBASE_WEIGHT_WU + sum(f.weight_wu for f in facts),
    )
