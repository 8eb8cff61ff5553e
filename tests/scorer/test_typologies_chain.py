"""Peel steps that spend each other's remainder are linked into a chain across the stream."""

from __future__ import annotations

from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.peel import PeelChains
from chainwatch.scorer.typologies import detect_typologies
from chainwatch.shared.schemas import Transaction


def test_real_peel_chain_in_block_574200_is_linked(block574200: list[Transaction]) -> None:
    chains = PeelChains(min_steps=3)
    linked = {}
    for tx in block574200:
        hit = chains.link(tx, detect_typologies(tx))
        if hit is not None:
            linked[tx.txid] = int(hit.detail.split()[1])

    assert linked, "block 574,200 holds chains of peel steps"
    assert max(linked.values()) >= 5
    by_txid = {tx.txid: tx for tx in block574200}
    # A step of a linked chain spends an output of another peel step of the block.
    for txid, step in linked.items():
        parents = {i.txid for i in by_txid[txid].vin} & by_txid.keys()
        assert parents, f"step {step} spends nothing of this block"


def test_lone_peel_steps_are_not_a_chain(block277647: list[Transaction]) -> None:
    tier = HeuristicTier()
    steps = [
        tx for tx in block277647 if any(h.rule == "peel_chain_step" for h in detect_typologies(tx))
    ]
    assert steps
    isolated = [tx for tx in steps if not {i.txid for i in tx.vin} & {s.txid for s in steps}]
    results = [tier.score(tx, []) for tx in isolated]
    assert not any(h.rule == "peel_chain" for r in results for h in r.rule_hits)
    assert all(r.risk_score < 0.3 for r in results)
