"""Typology rules on recorded real transactions: the labelled ones, and everything else."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.recorded import read_records, resolve_files
from chainwatch.scorer.typologies import (
    DEFAULT_PARAMS,
    TypologyParams,
    detect_typologies,
    thresholds_from_fiat,
    typology_risk,
)
from chainwatch.shared.schemas import RuleHit, Transaction

FIXTURES = "replay:mempool_api/am-i-exposed_fixtures"
WHIRLPOOL = "323df21f0b0756f98336437aa3d2fb87e02b59f1946b714a7b09df04d429dec2"
WABISABI = "fb596c9f675471019c60e984b569f9020dac3b2822b16396042b50c890b45e5e"
JOINMARKET = "4f112abd2eefe3484a7bbf7c1731f784cba19de677468835145e9c448fb18b7d"
DUST_555 = "655c533bf059721cec9d3d70b3171a07997991a02fedfa1c9b593abc645e1cc5"
BATCH_143 = "3d81a6b95903dd457d45a2fc998acc42fe96f59ef01157bdcbc331fe451c8d9e"
SIMPLE_P2PKH = "0b6461de422c46a221db99608fcbe0326e4f2325ebf2a47c9faf660ed61ee6a4"
# Block 574,200: the first of a 25-step chain, each step peeling a payment off the remainder
# of the one before (25 is the mempool's limit on a chain of unconfirmed descendants).
PEEL_CHAIN_START = "dc64b67937f445c0d93fe85a9b392bb4bd33d9d6b0f29a65df4ebb0185d966f7"

COINJOINS = {
    WHIRLPOOL: "coinjoin_whirlpool",
    WABISABI: "coinjoin_equal_outputs",
    JOINMARKET: "coinjoin_joinmarket",
}


@pytest.fixture(scope="module")
def located(data_dir: Path) -> list[tuple[str, Transaction]]:
    """Every recorded real transaction with the file it came from."""
    files = resolve_files(data_dir, ["all"])
    return [
        (r.file_label, normalise(r.payload))
        for r in read_records(files, data_dir)
        if r.error is None
    ]


@pytest.fixture(scope="module")
def hits(located: list[tuple[str, Transaction]]) -> dict[str, list[RuleHit]]:
    return {tx.txid: detect_typologies(tx) for _, tx in located}


@pytest.fixture(scope="module")
def by_txid(located: list[tuple[str, Transaction]]) -> dict[str, Transaction]:
    return {tx.txid: tx for _, tx in located}


def _categories(found: list[RuleHit]) -> set[str]:
    return {h.category for h in found}


def _flagged(hits: dict[str, list[RuleHit]], category: str) -> set[str]:
    return {txid for txid, found in hits.items() if category in _categories(found)}


def test_the_three_coinjoin_fixtures_and_nothing_else_are_coinjoins(
    hits: dict[str, list[RuleHit]],
) -> None:
    assert _flagged(hits, "coinjoin") == set(COINJOINS)  # recall 3/3, precision 3/3
    for txid, rule in COINJOINS.items():
        (hit,) = [h for h in hits[txid] if h.category == "coinjoin"]
        assert hit.rule == rule


def test_whirlpool_hit_names_the_pool_and_mixes_all_the_value(
    hits: dict[str, list[RuleHit]],
) -> None:
    (hit,) = hits[WHIRLPOOL]
    assert hit.share_of_value == 1.0
    assert len(hit.addresses) == 5
    assert "5,000,000 sat pool" in hit.detail


def test_joinmarket_mixes_only_the_equal_outputs(
    hits: dict[str, list[RuleHit]], by_txid: dict[str, Transaction]
) -> None:
    (hit,) = [h for h in hits[JOINMARKET] if h.category == "coinjoin"]
    tx = by_txid[JOINMARKET]
    assert hit.share_of_value == pytest.approx(2 * 100_420 / tx.value_out)
    assert sorted(hit.addresses) == sorted(
        str(o.scriptpubkey_address) for o in tx.vout if o.value == 100_420
    )


def test_the_dust_attack_fixture_and_nothing_else_is_a_dust_attack(
    hits: dict[str, list[RuleHit]],
) -> None:
    assert _flagged(hits, "dust_attack") == {DUST_555}
    (hit,) = hits[DUST_555]
    assert hit.addresses == ["19z6WynrjHeD5MMv6919BuQRwybuen1sRv"]  # not the change address
    assert hit.share_of_value == pytest.approx(555 / (555 + 33_532))


def test_dust_without_a_change_output_is_no_attack(by_txid: dict[str, Transaction]) -> None:
    tx = by_txid[DUST_555]
    stranger_paid = tx.model_copy(
        update={"vout": [tx.vout[0], tx.vout[1].model_copy(update={"scriptpubkey_address": "x"})]}
    )
    assert detect_typologies(stranger_paid) == []  # a payment beside the dust: not an attack
    only_dust = tx.model_copy(update={"vout": [tx.vout[0]]})
    assert detect_typologies(only_dust) == []  # a small coin spent whole: no change, no attack


def test_batch_withdrawal_is_a_fan_out(hits: dict[str, list[RuleHit]]) -> None:
    assert _categories(hits[BATCH_143]) == {"fan_out"}
    assert "1 inputs into 143 outputs" in hits[BATCH_143][0].detail


def test_the_200_input_consolidations_of_block_540107(
    located: list[tuple[str, Transaction]], hits: dict[str, list[RuleHit]]
) -> None:
    block = [tx for label, tx in located if "block540107" in label]
    merges = [tx for tx in block if len(tx.vin) == 200 and len(tx.vout) == 1]

    assert len(merges) == 33
    assert all(_categories(hits[tx.txid]) == {"consolidation"} for tx in merges)
    assert {tx.txid for tx in block} & _flagged(hits, "consolidation") == {
        tx.txid for tx in block if len(tx.vin) >= 10 and len(tx.vout) <= 2
    }


def test_simple_payment_and_most_of_block_277647_show_no_illicit_shape(
    located: list[tuple[str, Transaction]], hits: dict[str, list[RuleHit]]
) -> None:
    # A 1-in, 2-out payment peeling 0.4 BTC off 830 BTC has a peel step's shape, and only that.
    assert _categories(hits[SIMPLE_P2PKH]) == {"peel_chain"}

    block = [tx.txid for label, tx in located if "block277647" in label]
    shapes = Counter(c for txid in block for c in _categories(hits[txid]))
    assert not shapes.keys() & {"coinjoin", "dust_attack", "structuring"}
    assert sum(1 for txid in block if not hits[txid]) / len(block) > 0.7


def test_hodlhodl_escrow_transactions_are_neither_coinjoins_nor_dust(
    located: list[tuple[str, Transaction]], hits: dict[str, list[RuleHit]]
) -> None:
    escrow = [tx.txid for label, tx in located if "hodlhodl" in label]
    assert len(escrow) == 98
    assert not any(_categories(hits[t]) & {"coinjoin", "dust_attack"} for t in escrow)


def test_a_real_25_step_peel_chain_is_a_peel_step_at_every_hop(
    located: list[tuple[str, Transaction]], hits: dict[str, list[RuleHit]]
) -> None:
    spender = {(i.txid, i.vout): tx for _, tx in located for i in tx.vin}
    step: Transaction | None = next(tx for _, tx in located if tx.txid == PEEL_CHAIN_START)

    chain = []
    while step is not None:
        (hit,) = [h for h in hits[step.txid] if h.category == "peel_chain"]
        chain.append(step.txid)
        values = [o.value for o in step.vout]
        remainder = values.index(max(values))
        assert f"remainder {values[remainder]:,} sat at vout {remainder}" in hit.detail
        step = spender.get((step.txid, remainder))

    assert len(chain) == 25


def test_structuring_fires_on_outputs_just_below_thresholds(
    located: list[tuple[str, Transaction]], by_txid: dict[str, Transaction]
) -> None:
    # No real transaction in the data structures; this reshapes a real one's outputs.
    assert not any("structuring" in _categories(detect_typologies(tx)) for _, tx in located)
    base = by_txid[SIMPLE_P2PKH]
    template = base.vout[0]

    def paying(*values: int) -> Transaction:
        outputs = [
            template.model_copy(update={"value": v, "scriptpubkey_address": f"addr{k}"})
            for k, v in enumerate(values)
        ]
        return base.model_copy(update={"vout": outputs})

    structured = detect_typologies(paying(9_950_000, 9_900_000, 2_990_000, 50_000_000))
    (hit,) = [h for h in structured if h.category == "structuring"]
    assert hit.addresses == ["addr0", "addr1", "addr2"]
    assert hit.share_of_value == pytest.approx(22_840_000 / 72_840_000)

    at_threshold = detect_typologies(paying(10_000_000, 10_000_000, 3_000_000, 50_000_000))
    assert "structuring" not in _categories(at_threshold)


def test_weights_keep_benign_shapes_low_and_parameters_are_checked() -> None:
    weights = DEFAULT_PARAMS.weights
    assert max(weights["consolidation"], weights["fan_out"]) < 0.05
    assert weights["peel_chain"] < weights["coinjoin"] < weights["structuring"]

    hits = [RuleHit(rule="fan_out", category="fan_out", share_of_value=1.0)]
    assert typology_risk(hits) == weights["fan_out"]
    assert typology_risk([]) == 0.0

    with pytest.raises(ValueError, match="weights must name"):
        TypologyParams(weights={"coinjoin": 0.5})
    with pytest.raises(ValueError, match="structuring_band"):
        TypologyParams(structuring_band=1.5)
    assert thresholds_from_fiat((10_000.0, 1_000.0), 100_000.0) == (10_000_000, 1_000_000)


def test_parameters_move_the_rules(by_txid: dict[str, Transaction]) -> None:
    strict = TypologyParams(fan_out_min_outputs=200, dust_max_sat=500)
    assert detect_typologies(by_txid[BATCH_143], strict) == []
    assert detect_typologies(by_txid[DUST_555], strict) == []


def test_rules_are_fast_on_real_traffic(located: list[tuple[str, Transaction]]) -> None:
    block = [tx for label, tx in located if "block574200" in label]
    started = time.perf_counter()
    for tx in block:
        detect_typologies(tx)
    per_tx_us = (time.perf_counter() - started) / len(block) * 1e6
    assert per_tx_us < 100, f"{per_tx_us:.1f} us per transaction"
