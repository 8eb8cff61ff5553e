"""Projected blocks: ancestor-package (CPFP) selection from the mempool, as Core's miner does.

``build_blocks(graph, n_blocks)`` fills one block after another from a ``TxGraph``:

1. Every transaction is a candidate with its *package*: itself plus its ancestors not yet
   selected. Candidates are ranked by ``min(own fee rate, package fee rate)``, so a poor
   child cannot ride on a rich parent, and a rich child lifts a poor parent (CPFP). Equal
   scores go in the order Core gives them (by txid as a 256-bit number).
2. The best candidate's package goes in whole, ancestors first, if it fits: block weight
   plus four times the package's virtual size below the block's maximum weight, and sigop
   cost below the sigop limit. A package that does not fit is skipped for this block.
3. Selecting a package changes the packages of its descendants (their ancestors are now in
   the block); those are re-ranked with their new package fee rate.
4. A block closes when no candidate is left, or when it is within 4,000 WU of full and the
   last 1,000 candidates all failed to fit. Skipped candidates try again in the next block.

Limits follow Core's ``BlockAssembler``: a block of at most 3,996,000 WU
(``-blockmaxweight``, 4,000 WU under consensus' 4,000,000 for the coinbase) starts with
4,000 WU and 400 sigops already reserved for the coinbase; consensus allows 80,000 sigops.
The last of ``n_blocks`` can take all that remains (``overflow_last``), as mempool.space
draws its last projected block. Every selected transaction's *effective* fee rate is the
package fee rate it was selected at, in sat/vB.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from chainwatch.fees.txgraph import FloatArray, IntArray, TxGraph

MAX_BLOCK_WEIGHT_WU = 4_000_000
MAX_BLOCK_SIGOP_COST = 80_000


@dataclass(frozen=True)
class BlockLimits:
    """Core's block assembler limits and coinbase reserve (defaults are Core's)."""

    max_weight_wu: int = MAX_BLOCK_WEIGHT_WU - 4_000
    coinbase_reserve_wu: int = 4_000
    max_sigop_cost: int = MAX_BLOCK_SIGOP_COST
    coinbase_reserve_sigops: int = 400
    max_consecutive_failures: int = 1_000
    near_full_margin_wu: int = 4_000

    @property
    def tx_weight_capacity_wu(self) -> int:
        """Weight left for transactions once the coinbase is reserved."""
        return self.max_weight_wu - self.coinbase_reserve_wu


UNLIMITED = BlockLimits(max_weight_wu=2**62, max_sigop_cost=2**62)


@dataclass(frozen=True)
class TemplateBlock:
    """One projected block: the transactions selected, in block order.

    ``tx_index`` indexes the graph the block was built from; ``effective_fee_rate_sat_vb``
    and ``package_id`` are per selected transaction (``package_id`` counts packages from 0
    within the block). Totals exclude the coinbase.
    """

    tx_index: IntArray
    effective_fee_rate_sat_vb: FloatArray
    package_id: IntArray
    weight_wu: int
    vsize_vb: int
    sigop_cost: int
    fee_sat: int

    @property
    def tx_count(self) -> int:
        return len(self.tx_index)

    def package_fee_rates_sat_vb(self) -> FloatArray:
        """The fee rate of each package, in the order the packages were selected."""
        if not len(self.package_id):
            return np.zeros(0)
        starts = np.flatnonzero(np.diff(self.package_id, prepend=-1))
        return self.effective_fee_rate_sat_vb[starts]


class _Selection:
    """The mutable state of one run of the builder: packages as they change, and the heap."""

    def __init__(self, graph: TxGraph) -> None:
        self.graph = graph
        self.fee: list[int] = graph.fee_sat.tolist()
        self.vsize: list[int] = graph.vsize_vb.tolist()
        self.weight: list[int] = graph.weight_wu.tolist()
        self.sigops: list[int] = graph.sigop_cost.tolist()
        self.own_rate: list[float] = [f / v for f, v in zip(self.fee, self.vsize, strict=True)]
        n = len(graph)
        # Package state: the transaction plus its unselected ancestors.
        self.pkg_fee = list(self.fee)
        self.pkg_vsize = list(self.vsize)
        self.pkg_sigops = list(self.sigops)
        for i, ancestors in enumerate(graph.ancestors):
            for a in ancestors:
                self.pkg_fee[i] += self.fee[a]
                self.pkg_vsize[i] += self.vsize[a]
                self.pkg_sigops[i] += self.sigops[a]
        self.selected = [False] * n
        self.version = [0] * n
        self.tiebreak = _tiebreak_ranks(graph)
        self.heap = [(-self._score(i), self.tiebreak[i], i, 0) for i in range(n)]
        heapq.heapify(self.heap)

    def _score(self, i: int) -> float:
        package_rate = self.pkg_fee[i] / self.pkg_vsize[i]
        own = self.own_rate[i]
        return own if own < package_rate else package_rate

    def push(self, i: int) -> None:
        self.version[i] += 1
        heapq.heappush(self.heap, (-self._score(i), self.tiebreak[i], i, self.version[i]))

    def package_of(self, i: int) -> list[int]:
        """``i`` and its unselected ancestors, ancestors first (by ancestor count, as Core)."""
        ancestors = self.graph.ancestors
        members = [a for a in ancestors[i] if not self.selected[a]]
        members.append(i)
        if len(members) > 2:
            members.sort(key=lambda t: len(ancestors[t]))
        return members

    def select(self, members: list[int]) -> None:
        """Mark ``members`` selected and re-rank every descendant whose package changed."""
        touched: set[int] = set()
        descendants = self.graph.descendants
        for t in members:
            self.selected[t] = True
        for t in members:
            for d in descendants[t]:
                if self.selected[d]:
                    continue
                self.pkg_fee[d] -= self.fee[t]
                self.pkg_vsize[d] -= self.vsize[t]
                self.pkg_sigops[d] -= self.sigops[t]
                touched.add(d)
        for d in touched:
            self.push(d)


def _tiebreak_ranks(graph: TxGraph) -> list[int]:
    """Equal scores are ordered as Core orders them: by txid, compared as a 256-bit number
    in its internal (little-endian) byte order; by index when txids are unknown."""
    if graph.txids is None:
        return list(range(len(graph)))
    order = sorted(range(len(graph)), key=lambda i: bytes.fromhex(graph.txids[i])[::-1])  # type: ignore[index]
    ranks = [0] * len(graph)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return ranks


def build_blocks(
    graph: TxGraph,
    n_blocks: int = 8,
    limits: BlockLimits | None = None,
    *,
    overflow_last: bool = False,
) -> list[TemplateBlock]:
    """Project up to ``n_blocks`` blocks from ``graph``; fewer when the mempool runs out.

    With ``overflow_last`` the last block has no limits and takes everything left.
    """
    limits = limits or BlockLimits()
    state = _Selection(graph)
    blocks: list[TemplateBlock] = []
    for number in range(n_blocks):
        if not state.heap:
            break
        last = overflow_last and number == n_blocks - 1
        block = _fill_block(state, UNLIMITED if last else limits)
        if block.tx_count == 0:
            break
        blocks.append(block)
    return blocks


def _fill_block(state: _Selection, limits: BlockLimits) -> TemplateBlock:
    """Select packages into one block; skipped candidates go back on the heap afterwards."""
    heap = state.heap
    block_weight = limits.coinbase_reserve_wu
    block_sigops = limits.coinbase_reserve_sigops
    order: list[int] = []
    rates: list[float] = []
    packages: list[int] = []
    skipped: list[int] = []
    skipped_set: set[int] = set()
    failures = 0
    package_count = 0
    weight_sum = vsize_sum = sigop_sum = fee_sum = 0

    while heap:
        _, _, i, version = heapq.heappop(heap)
        if state.selected[i] or version != state.version[i] or i in skipped_set:
            continue
        package_vsize = state.pkg_vsize[i]
        package_sigops = state.pkg_sigops[i]
        if (
            block_weight + 4 * package_vsize >= limits.max_weight_wu
            or block_sigops + package_sigops >= limits.max_sigop_cost
        ):
            skipped.append(i)
            skipped_set.add(i)
            failures += 1
            near_full = block_weight > limits.max_weight_wu - limits.near_full_margin_wu
            if failures > limits.max_consecutive_failures and near_full:
                break
            continue

        failures = 0
        package_rate = state.pkg_fee[i] / package_vsize
        members = state.package_of(i)
        for t in members:
            order.append(t)
            rates.append(package_rate)
            packages.append(package_count)
            weight_sum += state.weight[t]
            vsize_sum += state.vsize[t]
            sigop_sum += state.sigops[t]
            fee_sum += state.fee[t]
        package_count += 1
        block_weight += sum(state.weight[t] for t in members)
        block_sigops += package_sigops
        state.select(members)

    for i in skipped:
        state.push(i)
    return TemplateBlock(
        tx_index=np.asarray(order, dtype=np.int64),
        effective_fee_rate_sat_vb=np.asarray(rates, dtype=np.float64),
        package_id=np.asarray(packages, dtype=np.int64),
        weight_wu=weight_sum,
        vsize_vb=vsize_sum,
        sigop_cost=sigop_sum,
        fee_sat=fee_sum,
    )
