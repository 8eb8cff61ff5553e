"""The block-template builder on the real July 2023 mempool, against Core's own template."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from chainwatch.fees.errors import MempoolGraphError
from chainwatch.fees.snapshot import RecordedMempool, scaled_mempool
from chainwatch.fees.template import BlockLimits, TemplateBlock, build_blocks
from chainwatch.fees.txgraph import TxGraph

LIMITS = BlockLimits()


def test_first_block_is_cores_template(recorded: RecordedMempool) -> None:
    graph = recorded.graph
    started = time.perf_counter()
    first = build_blocks(graph, 1)[0]
    build_s = time.perf_counter() - started

    ours = {graph.txids[i] for i in first.tx_index}  # type: ignore[index]
    core = set(recorded.core_template_txids)
    index = {txid: i for i, txid in enumerate(recorded.txids)}
    core_fee_sat = sum(int(graph.fee_sat[index[t]]) for t in core)
    assert len(core) == 1767
    assert len(ours & core) / len(core) >= 0.99
    assert first.fee_sat / core_fee_sat >= 0.99
    assert build_s < 2.0


def _check_limits(blocks: Sequence[TemplateBlock], graph: TxGraph, limits: BlockLimits) -> None:
    for block in blocks:
        weight = int(graph.weight_wu[block.tx_index].sum())
        sigops = int(graph.sigop_cost[block.tx_index].sum())
        assert weight == block.weight_wu and sigops == block.sigop_cost
        assert limits.coinbase_reserve_wu + weight < limits.max_weight_wu <= 4_000_000
        assert limits.coinbase_reserve_sigops + sigops < limits.max_sigop_cost


def test_every_block_respects_weight_and_sigop_limits(recorded: RecordedMempool) -> None:
    blocks = build_blocks(recorded.graph, 8)
    _check_limits(blocks, recorded.graph, LIMITS)
    assert all(b.weight_wu > 3_900_000 for b in blocks[:-1])  # full until the mempool runs out


def test_sigop_limit_binds_when_sigops_are_dear(recorded: RecordedMempool) -> None:
    graph = recorded.graph
    dear = TxGraph.build(
        graph.fee_sat, graph.weight_wu, graph.sigop_cost * 40, graph.parents, graph.txids
    )
    blocks = build_blocks(dear, 4)
    _check_limits(blocks, dear, LIMITS)
    # A block closed by its sigops: nearly all of them used, weight to spare.
    assert any(
        b.sigop_cost > 0.99 * LIMITS.max_sigop_cost and b.weight_wu < 3_500_000 for b in blocks
    )

    unlimited = build_blocks(dear, 4, BlockLimits(max_sigop_cost=2**62))
    assert max(b.sigop_cost for b in unlimited) > LIMITS.max_sigop_cost


def test_ancestors_come_before_descendants(recorded: RecordedMempool) -> None:
    graph = recorded.graph
    position: dict[int, int] = {}
    for block in build_blocks(graph, 8, overflow_last=True):
        for i in block.tx_index:
            position[int(i)] = len(position)
    assert len(position) == len(graph)
    for child, parents in enumerate(graph.parents):
        assert all(position[p] < position[child] for p in parents)


def test_package_fee_rates_descend_except_after_cpfp(recorded: RecordedMempool) -> None:
    """A package's rate may exceed the one before only when an ancestor of it was selected
    earlier (its package shrank): Core's modified-entry re-ranking."""
    graph = recorded.graph
    selected: set[int] = set()
    rises = 0
    for block in build_blocks(graph, 8):
        starts = np.flatnonzero(np.diff(block.package_id, prepend=-1))
        rates = block.effective_fee_rate_sat_vb[starts]
        for j, start in enumerate(starts):
            members = block.tx_index[start : starts[j + 1] if j + 1 < len(starts) else None]
            head = int(members[-1])
            if j and rates[j] > rates[j - 1] + 1e-9:
                rises += 1
                assert set(graph.ancestors[head]) & selected, f"rate rose at tx {head}"
            selected.update(int(m) for m in members)
    assert rises < 0.01 * len(selected)


def test_matches_a_brute_force_selection_on_a_real_subset(recorded: RecordedMempool) -> None:
    graph = recorded.graph
    families = {i for i in range(len(graph)) if graph.parents[i] or graph.descendants[i]}
    rng = np.random.default_rng(3)
    singles = rng.choice([i for i in range(len(graph)) if i not in families], 300, replace=False)
    keep = np.zeros(len(graph), dtype=bool)
    keep[list(families)] = True
    keep[singles] = True
    subset = graph.subset(keep)
    small = BlockLimits(max_weight_wu=400_000, coinbase_reserve_wu=4_000)

    fast = build_blocks(subset, 1, small)[0]
    assert [int(i) for i in fast.tx_index] == _brute_force_block(subset, small)


def _brute_force_block(graph: TxGraph, limits: BlockLimits) -> list[int]:
    """Every step, score every candidate's whole package afresh; no heap, no updates."""
    fee, vsize, sigops = graph.fee_sat, graph.vsize_vb, graph.sigop_cost
    assert graph.txids is not None
    tiebreak = [bytes.fromhex(t)[::-1] for t in graph.txids]
    chosen: list[int] = []
    taken: set[int] = set()
    failed: set[int] = set()
    weight, sigop_total = limits.coinbase_reserve_wu, limits.coinbase_reserve_sigops
    while True:
        best = None
        for i in range(len(graph)):
            if i in taken or i in failed:
                continue
            package = [a for a in graph.ancestors[i] if a not in taken] + [i]
            rate = fee[package].sum() / vsize[package].sum()
            key = (min(fee[i] / vsize[i], rate), tiebreak[i])
            if (
                best is None
                or key[0] > best[0][0]
                or (key[0] == best[0][0] and key[1] < best[0][1])
            ):
                best = (key, i, package)
        if best is None:
            return chosen
        _, i, package = best
        if (
            weight + 4 * int(vsize[package].sum()) >= limits.max_weight_wu
            or sigop_total + int(sigops[package].sum()) >= limits.max_sigop_cost
        ):
            failed.add(i)
            continue
        package.sort(key=lambda t: len(graph.ancestors[t]))
        chosen.extend(package)
        taken.update(package)
        weight += int(graph.weight_wu[package].sum())
        sigop_total += int(sigops[package].sum())


def test_a_scaled_real_mempool_of_over_100k_builds_in_seconds(recorded: RecordedMempool) -> None:
    big = scaled_mempool(recorded.graph, copies=6)
    assert len(big) > 100_000
    started = time.perf_counter()
    blocks = build_blocks(big, 8)
    assert time.perf_counter() - started < 5.0
    assert len(blocks) == 8
    _check_limits(blocks, big, LIMITS)


def test_a_parent_cycle_is_refused() -> None:
    with pytest.raises(MempoolGraphError, match="cycle"):
        TxGraph.build([100, 100], [400, 400], [0, 0], [[1], [0]])


def test_a_parent_out_of_range_is_refused() -> None:
    with pytest.raises(MempoolGraphError, match="outside"):
        TxGraph.build([100], [400], [0], [[5]])


def test_sigop_heavy_transactions_are_sized_by_their_sigops() -> None:
    graph = TxGraph.build([1000, 1000], [400, 400], [0, 100], [[], []])
    assert list(graph.vsize_vb) == [100, 500]  # 100 sigops × 20 = 2,000 WU → 500 vB
