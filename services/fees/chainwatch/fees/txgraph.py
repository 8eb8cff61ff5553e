"""The mempool as arrays: each transaction's fee, weight and sigop cost, and who spends whom.

A ``TxGraph`` is what the block-template builder reads. Transactions are numbered 0..n-1;
``parents[i]`` are the in-mempool transactions whose outputs transaction ``i`` spends (a
parent already mined is not a parent here). Ancestors and descendants are the transitive
closures of that relation, computed once when the graph is built.

Sizes follow Bitcoin Core: a transaction's virtual size for mining is its weight, or its
sigop cost times ``BYTES_PER_SIGOP`` when that is larger, divided by four and rounded up
(``sigop_adjusted_vsize_vb``). Fees are integer satoshis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from chainwatch.fees.errors import MempoolGraphError

BYTES_PER_SIGOP = 20
"""Core's ``-bytespersigop``: a sigop costs as much block space as 20 weight units."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def sigop_adjusted_vsize_vb(weight_wu: IntArray, sigop_cost: IntArray) -> IntArray:
    """Virtual size as Core counts it for mining: ceil(max(weight, sigops × 20) / 4), vbytes."""
    adjusted = np.maximum(weight_wu, sigop_cost * BYTES_PER_SIGOP)
    return np.asarray((adjusted + 3) // 4, dtype=np.int64)


@dataclass(frozen=True)
class TxGraph:
    """A mempool: per-transaction arrays and the in-mempool spending relation.

    ``ancestors[i]`` and ``descendants[i]`` hold indices (sorted) and are empty for a
    transaction with no in-mempool relatives, which is most of them.
    """

    fee_sat: IntArray
    weight_wu: IntArray
    sigop_cost: IntArray
    parents: tuple[tuple[int, ...], ...]
    txids: tuple[str, ...] | None = None
    vsize_vb: IntArray = field(init=False)
    ancestors: tuple[tuple[int, ...], ...] = field(init=False)
    descendants: tuple[tuple[int, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.fee_sat)
        for name in ("weight_wu", "sigop_cost"):
            if len(getattr(self, name)) != n:
                raise MempoolGraphError(f"{name} has {len(getattr(self, name))} rows, fee has {n}")
        if len(self.parents) != n or (self.txids is not None and len(self.txids) != n):
            raise MempoolGraphError(f"parents or txids do not have {n} rows")
        if n and int(self.weight_wu.min()) <= 0:
            raise MempoolGraphError("every transaction needs a positive weight")
        object.__setattr__(
            self, "vsize_vb", sigop_adjusted_vsize_vb(self.weight_wu, self.sigop_cost)
        )
        ancestors = _ancestor_sets(self.parents)
        object.__setattr__(self, "ancestors", ancestors)
        object.__setattr__(self, "descendants", _invert(ancestors, n))

    @classmethod
    def build(
        cls,
        fee_sat: Sequence[int] | IntArray,
        weight_wu: Sequence[int] | IntArray,
        sigop_cost: Sequence[int] | IntArray,
        parents: Sequence[Sequence[int]],
        txids: Sequence[str] | None = None,
    ) -> TxGraph:
        """A graph from plain sequences; repeated parents are merged, self-loops refused."""
        clean = []
        for i, tx_parents in enumerate(parents):
            unique = tuple(sorted(set(tx_parents)))
            if i in unique:
                raise MempoolGraphError(f"transaction {i} lists itself as a parent")
            clean.append(unique)
        return cls(
            fee_sat=np.asarray(fee_sat, dtype=np.int64),
            weight_wu=np.asarray(weight_wu, dtype=np.int64),
            sigop_cost=np.asarray(sigop_cost, dtype=np.int64),
            parents=tuple(clean),
            txids=tuple(txids) if txids is not None else None,
        )

    def __len__(self) -> int:
        return len(self.fee_sat)

    @property
    def fee_rate_sat_vb(self) -> FloatArray:
        """Each transaction's own fee rate, sat/vB (sigop-adjusted size)."""
        return np.asarray(self.fee_sat / self.vsize_vb, dtype=np.float64)

    @property
    def total_vsize_vb(self) -> int:
        return int(self.vsize_vb.sum())

    def subset(self, keep: npt.NDArray[np.bool_]) -> TxGraph:
        """The graph of the transactions where ``keep`` is True; parents outside it are dropped."""
        new_index = np.full(len(self), -1, dtype=np.int64)
        kept = np.flatnonzero(keep)
        new_index[kept] = np.arange(len(kept))
        parents = [
            tuple(int(new_index[p]) for p in self.parents[i] if new_index[p] >= 0) for i in kept
        ]
        txids = [self.txids[i] for i in kept] if self.txids is not None else None
        return TxGraph.build(
            self.fee_sat[kept], self.weight_wu[kept], self.sigop_cost[kept], parents, txids
        )


def _ancestor_sets(parents: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """Transitive closure of ``parents`` in topological order (Kahn); refuses a cycle."""
    n = len(parents)
    with_parents = [i for i in range(n) if parents[i]]
    if not with_parents:
        return tuple(() for _ in range(n))

    children: dict[int, list[int]] = {}
    pending = {}
    for i in with_parents:
        pending[i] = len(parents[i])
        for p in parents[i]:
            if not 0 <= p < n:
                raise MempoolGraphError(f"transaction {i} has parent {p}, outside 0..{n - 1}")
            children.setdefault(p, []).append(i)

    ancestors: list[frozenset[int]] = [frozenset()] * n
    ready = [p for p in children if p not in pending]
    done = 0
    while ready:
        node = ready.pop()
        for child in children.get(node, ()):
            pending[child] -= 1
            if pending[child] == 0:
                closure: set[int] = set()
                for p in parents[child]:
                    closure.add(p)
                    closure.update(ancestors[p])
                ancestors[child] = frozenset(closure)
                ready.append(child)
                done += 1
    if done != len(with_parents):
        raise MempoolGraphError(f"{len(with_parents) - done} transactions sit on a parent cycle")
    return tuple(tuple(sorted(a)) for a in ancestors)


def _invert(ancestors: Sequence[Sequence[int]], n: int) -> tuple[tuple[int, ...], ...]:
    descendants: list[list[int]] = [[] for _ in range(n)]
    for i, tx_ancestors in enumerate(ancestors):
        for a in tx_ancestors:
            descendants[a].append(i)
    return tuple(tuple(d) for d in descendants)
