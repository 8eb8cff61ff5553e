"""The citation check: what a text cites, and what a narrative may not cite."""

from __future__ import annotations

import pytest

from chainwatch.explainer.citations import cite, unsupported

TXID = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"
OTHER_TXID = "0" * 63 + "1"
ADDRESS = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"

EVIDENCE = cite(
    f"""DECISION
txid: {TXID}
decided at: 2026-01-01 12:00:00 UTC
risk score: 0.874 (87.4%)
value out: 1.2345 BTC (123,450,000 sat)
fee: 12,345 sat; fee rate 54.9 sat/vB
inputs: 2; outputs: 1
1. direct exposure to sanctions: value was paid to addresses labelled sanctions; hops: 0
(direct); share of value: 35.0%; addresses: {ADDRESS}, {BECH32}
2. indirect exposure to darknet market; hops: 2; via transaction {OTHER_TXID}
model output: log-odds +1.940 (probability 87.4%)
1. fee rate 54.9 sat/vB: -1.230 log-odds (-20.1 percentage points)"""
)


@pytest.mark.parametrize(
    "narrative",
    [
        f"Transaction {TXID} scored 0.874 (87.4%).",
        "It scored 0.87, or 87%, moving 1.23 BTC and paying 12,345 sats (54.9 sat/vB).",
        "It moved 123,450,000 satoshis across 2 inputs and 1 output.",
        f"35% went directly to sanctioned address {ADDRESS} and to {BECH32.upper()}.",
        f"Darknet market exposure two hops away (2 hops) came via {OTHER_TXID[-12:]}.",
        "The fee rate lowered the log-odds by 1.23 (-1.230), about -20 percentage points.",
        "It was decided on 2026-01-01 at 12:00:00.",
        "Model output was +1.940 in log\u2011odds, a probability of 87.4\u00a0%.",
    ],
)
def test_faithful_sentences_pass(narrative: str) -> None:
    assert unsupported(cite(narrative), EVIDENCE) == []


@pytest.mark.parametrize(
    ("narrative", "problem"),
    [
        ("It also moved 3.5 BTC.", "amount 3.5 BTC"),
        ("It paid 12,346 sat in fees.", "amount 12,346 sat"),
        ("It moved 1.24 BTC.", "amount 1.24 BTC"),
        ("Worth about $80,000 at the time.", "fiat amount $80,000"),
        ("Worth about 80,000 USD.", "fiat amount 80,000 USD"),
        (
            "Funds went on to 1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e.",
            "address 1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e",
        ),
        (f"See transaction {'ab' * 32}.", f"txid {'ab' * 32}"),
        ("See transaction 9f8e7d6c5b4a39.", "txid fragment 9f8e7d6c5b4a39"),
        ("It scored 0.91.", "figure 0.91"),
        ("It was 3 hops from the source.", "figure 3"),
        ("Exposure was 40% of its value.", "percentage 40%"),
        ("The fee rate raised the log-odds by +1.230.", "figure +1.230"),
        ("It is linked to ransomware.", "category ransomware"),
        ("It shows signs of money laundering through a mixer.", "category mixer"),
        ("It was decided on 2026-01-02.", "date or time 2026-01-02"),
    ],
)
def test_invented_citations_are_named(narrative: str, problem: str) -> None:
    assert problem in unsupported(cite(narrative), EVIDENCE)


def test_figures_inside_addresses_and_txids_are_not_read_as_numbers() -> None:
    facts = cite(f"{ADDRESS} {BECH32} {TXID} model xgb-2026")
    assert facts.addresses == {ADDRESS, BECH32} and facts.txids == {TXID}
    assert [n.value for n in facts.numbers] == [2026.0]


def test_fee_rates_are_not_amounts() -> None:
    facts = cite("fee rate 54.9 sat/vB, fee 1,000 sat")
    assert [a.value for a in facts.amounts] == [1000.0]
    assert [n.value for n in facts.numbers] == [54.9]
