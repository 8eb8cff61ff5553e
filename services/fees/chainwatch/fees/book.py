"""The live mempool as the fees service knows it, from ``chainwatch.tx.raw`` and its events.

A transaction enters when ingest publishes it unconfirmed with a known fee; it leaves when
it is confirmed, replaced or evicted. A txid that left is remembered for a while
(``gone``), so a late or replayed ``tx.raw`` cannot bring it back. The fee, size and weight
of every transaction seen recently, mined ones included, are kept apart (``facts_of``): a
block's fee rates are read from them when the block is connected.

Past ``max_txs`` the cheapest transactions by fee rate are dropped, as a full mempool
purges its lowest fee rates.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from chainwatch.fees.sigops import sigop_cost
from chainwatch.fees.state import MempoolState, summarise_mempool
from chainwatch.fees.txgraph import TxGraph
from chainwatch.shared.schemas import Transaction

TRIM_SHARE = 0.01
"""Share of ``max_txs`` dropped at once when the mempool is over its bound."""


@dataclass(frozen=True, slots=True)
class TxFacts:
    """What the fee estimator needs of a transaction: fee (sat), size (vB), weight (WU)."""

    fee_sat: int
    vsize_vb: int
    weight_wu: int
    sigop_cost: int
    parents: tuple[str, ...]


class _Bounded(OrderedDict[str, TxFacts | None]):
    """An insertion-ordered map that forgets its oldest keys past ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def remember(self, key: str, value: TxFacts | None) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class LiveMempool:
    """Unconfirmed transactions by txid, and recent facts of every transaction seen."""

    def __init__(self, max_txs: int = 300_000, memory: int = 500_000) -> None:
        self.max_txs = max_txs
        self.entries: dict[str, TxFacts] = {}
        self.gone = _Bounded(memory)
        self.facts = _Bounded(memory)
        self.version = 0
        """Bumped by every change, so a caller can tell whether anything changed."""

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, txid: object) -> bool:
        return txid in self.entries

    def add(self, tx: Transaction) -> bool:
        """Record the transaction; True when it entered the mempool."""
        if tx.fee is None or tx.is_coinbase:
            return False
        facts = TxFacts(
            fee_sat=tx.fee,
            vsize_vb=tx.vsize,
            weight_wu=tx.weight,
            sigop_cost=sigop_cost(tx),
            parents=tuple(dict.fromkeys(i.txid for i in tx.vin)),
        )
        self.facts.remember(tx.txid, facts)
        if tx.status.confirmed or tx.txid in self.gone or tx.txid in self.entries:
            return False
        self.entries[tx.txid] = facts
        self.version += 1
        if len(self.entries) > self.max_txs:
            self._trim()
        return True

    def remove(self, txid: str) -> TxFacts | None:
        """Take the transaction out (mined, replaced or evicted); None if it was not in."""
        self.gone.remember(txid, None)
        facts = self.entries.pop(txid, None)
        if facts is not None:
            self.version += 1
        return facts

    def facts_of(self, txid: str) -> TxFacts | None:
        """Fee, size and weight of a transaction seen recently, in the mempool or not."""
        return self.entries.get(txid) or self.facts.get(txid)

    def graph(self) -> TxGraph:
        """The mempool as a ``TxGraph`` (parents that are not in the mempool are dropped)."""
        txids = list(self.entries)
        index = {txid: i for i, txid in enumerate(txids)}
        facts = list(self.entries.values())
        parents = [[index[p] for p in f.parents if p in index] for f in facts]
        return TxGraph.build(
            [f.fee_sat for f in facts],
            [f.weight_wu for f in facts],
            [f.sigop_cost for f in facts],
            parents,
            txids,
        )

    def summary(self, mempool_min_fee_sat_vb: float) -> MempoolState:
        """The fee-rate summary of the transactions held (see ``state.summarise_mempool``)."""
        fees = np.fromiter((f.fee_sat for f in self.entries.values()), np.float64, len(self))
        sizes = np.fromiter((f.vsize_vb for f in self.entries.values()), np.float64, len(self))
        return summarise_mempool(fees, sizes, mempool_min_fee_sat_vb)

    def _trim(self) -> None:
        txids = list(self.entries)
        rates = np.fromiter(
            (f.fee_sat / f.vsize_vb for f in self.entries.values()), np.float64, len(txids)
        )
        drop = max(1, int(self.max_txs * TRIM_SHARE))
        for i in np.argpartition(rates, drop)[:drop]:
            self.remove(txids[int(i)])
