"""Sigop cost counted from real transactions' scripts."""

from __future__ import annotations

from chainwatch.fees.sigops import count_sigops, sigop_cost
from chainwatch.shared.schemas import Transaction


def test_a_p2pkh_payment_costs_four_per_output(block277647: list[Transaction]) -> None:
    spends = [tx for tx in block277647[1:] if all(o.scriptpubkey_type == "p2pkh" for o in tx.vout)]
    assert spends
    for tx in spends:
        assert sigop_cost(tx) == 4 * len(tx.vout)  # the inputs' scriptSigs only push data


def test_wrapped_segwit_multisig_counts_its_keys(block574200: list[Transaction]) -> None:
    """P2SH-P2WSH 2-of-3 inputs cost 3 each (witness script, counted accurately)."""
    found = 0
    for tx in block574200[1:]:
        for vin in tx.vin:
            script = bytes.fromhex(vin.witness[-1]) if vin.witness else b""
            if (
                vin.scriptsig.startswith("220020")
                and script[:1] == b"\x52"
                and script[-2:] == b"\x53\xae"
            ):
                assert count_sigops(script, accurate=True) == 3
                assert count_sigops(script, accurate=False) == 20
                found += 1
    assert found > 0


def test_a_truncated_push_stops_the_count() -> None:
    assert count_sigops(bytes.fromhex("ac4cff"), accurate=False) == 1
