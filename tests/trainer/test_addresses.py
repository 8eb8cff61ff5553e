"""Input addresses read from unlocking scripts agree with the prevouts they spend."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.recorded import read_records, resolve_files
from chainwatch.shared.schemas import TxInput
from chainwatch.trainer.addresses import base58check, bech32_address, hash160, input_address

# BIP 173's example key: its P2WPKH and P2PKH addresses are published test vectors.
PUBKEY = bytes.fromhex("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798")


def test_encodings_match_published_vectors() -> None:
    assert bech32_address("bc", 0, hash160(PUBKEY)) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert base58check(0x00, hash160(PUBKEY)) == "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"


def test_recovered_address_is_the_prevout_address_on_real_inputs(data_dir: Path) -> None:
    outcome: Counter[str] = Counter()
    for record in read_records(resolve_files(data_dir, ["all"]), data_dir):
        if record.error is not None:
            continue
        tx = normalise(record.payload)
        for vin in tx.vin:
            if vin.prevout is None or vin.prevout.scriptpubkey_address is None:
                continue
            recovered = input_address(vin.model_copy(update={"prevout": None}))
            if recovered is None:
                outcome[f"none:{vin.prevout.scriptpubkey_type}"] += 1
            else:
                outcome["same" if recovered == vin.prevout.scriptpubkey_address else "wrong"] += 1

    assert outcome["wrong"] == 0
    assert outcome["same"] > 2000
    # Taproot keys cannot be read from a signature: those stay unknown, never guessed.
    assert {k for k in outcome if k.startswith("none:")} <= {"none:v1_p2tr", "none:v0_p2wsh"}


def test_unreadable_or_unknown_scripts_give_none() -> None:
    spend = {"txid": "ab" * 32, "vout": 0}
    assert input_address(TxInput(**spend, scriptsig="zz")) is None
    assert input_address(TxInput(**spend, witness=["01" * 64])) is None  # Taproot key path
    assert input_address(TxInput(**spend, is_coinbase=True, scriptsig="03aabbcc")) is None
