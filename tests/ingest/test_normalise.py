"""Normalisation over every recorded real transaction, and its refusals of bad records."""

from __future__ import annotations

import copy
import gzip
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.normalise import normalise, normalise_json
from chainwatch.ingest.scripts import classify_script
from chainwatch.shared.schemas import Transaction

EXPECTED_COUNTS = {
    "derived/block277647_txs_with_prevouts.json": 213,
    "derived/block540107_txs_esplora_like.jsonl.gz": 230,
    "derived/block574200_txs_esplora_like.jsonl.gz": 3315,
    "am-i-exposed_fixtures/hodlhodl-tp.json": 48,
    "am-i-exposed_fixtures/hodlhodl-fp.json": 50,
    "am-i-exposed_fixtures/satoshi-genesis-txs.json": 50,
    "mempool_repo_fixtures/backend_transactions-random.json": 4,
}
"""Transaction counts PROVENANCE.md states, read here independently of the replay reader."""


def recorded_transactions(mempool_api: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every transaction object under ``mempool_api/``, with the file it came from."""
    for path in sorted(mempool_api.glob("*/*.json")):
        content = json.loads(path.read_text())
        for item in content if isinstance(content, list) else [content]:
            tx = item.get("tx", item) if isinstance(item, dict) else None
            if isinstance(tx, dict) and "vin" in tx:
                yield str(path.relative_to(mempool_api)), tx
    for path in sorted(mempool_api.glob("derived/*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            for line in lines:
                yield str(path.relative_to(mempool_api)), json.loads(line)


@pytest.fixture(scope="module")
def recorded(data_dir: Path) -> list[tuple[str, dict[str, Any], Transaction]]:
    return [
        (name, record, normalise(record))
        for name, record in recorded_transactions(data_dir / "mempool_api")
    ]


@pytest.fixture(scope="module")
def by_file(recorded: list[tuple[str, dict[str, Any], Transaction]]) -> dict[str, list[Any]]:
    files: dict[str, list[Any]] = {}
    for name, record, tx in recorded:
        files.setdefault(name, []).append((record, tx))
    return files


def test_every_recorded_transaction_normalises(recorded: list[Any]) -> None:
    counts = Counter(name for name, _, _ in recorded)
    for name, expected in EXPECTED_COUNTS.items():
        assert counts[name] == expected, name
    assert len(recorded) == 3928
    assert all(record["txid"] == tx.txid for _, record, tx in recorded)


def test_weight_and_fee_match_the_recorded_values(recorded: list[Any]) -> None:
    fees_checked = 0
    for name, record, tx in recorded:
        assert tx.weight == record["weight"], (name, tx.txid)
        assert tx.size == record["size"], (name, tx.txid)
        # "fee": 0 on a non-coinbase is "not recorded" (the HodlHodl fixtures); null is unknown.
        if record.get("fee") or tx.is_coinbase:
            assert tx.fee == record["fee"], (name, tx.txid)
            fees_checked += 1
    assert fees_checked > 1000


def test_vsize_is_bip141_and_agrees_with_every_recorded_vsize(recorded: list[Any]) -> None:
    rounded_down: list[str] = []
    for _, record, tx in recorded:
        assert tx.vsize == math.ceil(tx.weight / 4)
        if "vsize" in record and record["vsize"] != tx.vsize:
            # mempool.space's backend rounds weight / 4 to the nearest vbyte, not up.
            assert record["vsize"] == round(record["weight"] / 4)
            rounded_down.append(tx.txid)
    assert len(rounded_down) == 3


def test_fee_is_computed_from_prevouts_when_not_recorded(by_file: dict[str, list[Any]]) -> None:
    hodlhodl = by_file["am-i-exposed_fixtures/hodlhodl-tp.json"]
    for record, tx in hodlhodl:
        assert record["fee"] == 0
        expected = sum(i["prevout"]["value"] for i in record["vin"]) - sum(
            o["value"] for o in record["vout"]
        )
        assert tx.fee == expected > 0


def test_unknown_prevouts_stay_unknown_in_raw_blocks(by_file: dict[str, list[Any]]) -> None:
    block = [tx for _, tx in by_file["derived/block574200_txs_esplora_like.jsonl.gz"]]
    unknown = [tx for tx in block if not tx.prevouts_known]
    assert len(unknown) == 3315 - 912 - 1  # PROVENANCE: 912 fees known, plus the coinbase
    assert all(tx.fee is None for tx in unknown)
    # An input spending an output of the same block keeps its prevout; the others stay null.
    assert sum(1 for tx in block for i in tx.vin if i.prevout is not None) > 0
    assert all(tx.fee is not None for tx in block if tx.prevouts_known)


def test_coinbase_pays_no_fee(by_file: dict[str, list[Any]]) -> None:
    for name in EXPECTED_COUNTS:
        if not name.startswith("derived/"):
            continue
        coinbase = by_file[name][0][1]
        assert coinbase.is_coinbase and coinbase.fee == 0 and coinbase.vin[0].prevout is None


def test_the_notable_real_transactions(by_file: dict[str, list[Any]]) -> None:
    def one(name: str) -> Transaction:
        [(_, tx)] = by_file[f"am-i-exposed_fixtures/{name}.json"]
        assert isinstance(tx, Transaction)
        return tx

    assert (len(one("wabisabi-coinjoin").vin), len(one("wabisabi-coinjoin").vout)) == (327, 279)
    assert len(one("batch-withdrawal-143").vout) == 143
    assert "multisig" in {o.scriptpubkey_type for o in one("bare-multisig").vout} | {
        i.prevout.scriptpubkey_type for i in one("bare-multisig").vin if i.prevout
    }
    assert "op_return" in {o.scriptpubkey_type for o in one("op-return-charley").vout}
    script_path = one("taproot-script-path")
    assert {i.prevout.scriptpubkey_type for i in script_path.vin if i.prevout} == {"v1_p2tr"}
    # One key-path spend (a signature) and one script-path spend (+ script, control block).
    assert sorted(len(i.witness) for i in script_path.vin) == [1, 3]
    assert min(o.value for o in one("dust-attack-555").vout) <= 555


def test_taproot_input_with_annex_normalises(by_file: dict[str, list[Any]]) -> None:
    [(record, tx)] = by_file["mempool_repo_fixtures/backend_non-standard-txs.json"]
    annexed = [i for i in tx.vin if len(i.witness) > 1 and i.witness[-1].startswith("50")]
    assert annexed, "the fixture's Taproot input carries an annex (last item 0x50...)"
    assert tx.fee == record["fee"]


def test_core_script_names_become_esplora_names(by_file: dict[str, list[Any]]) -> None:
    types = {
        output.scriptpubkey_type
        for _, tx in by_file["am-i-exposed_fixtures/hodlhodl-fp.json"]
        for output in [*tx.vout, *(i.prevout for i in tx.vin if i.prevout is not None)]
    }
    assert {"p2sh", "p2pkh", "v0_p2wsh"} <= types
    assert not types & {"scripthash", "pubkeyhash", "witness_v0_scripthash"}


def test_first_seen_and_rbf_signal_from_mempool_space(by_file: dict[str, list[Any]]) -> None:
    for record, tx in by_file["mempool_repo_fixtures/backend_transactions-rbfs.json"]:
        assert tx.first_seen == record.get("firstSeen")
        assert tx.status.confirmed is False
    replaced = [tx for _, tx in by_file["mempool_repo_fixtures/backend_transactions-replaced.json"]]
    assert any(tx.signals_rbf for tx in replaced)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("76a914" + "00" * 20 + "88ac", "p2pkh"),
        ("a914" + "11" * 20 + "87", "p2sh"),
        ("0014" + "22" * 20, "v0_p2wpkh"),
        ("0020" + "33" * 32, "v0_p2wsh"),
        ("5120" + "44" * 32, "v1_p2tr"),
        ("21" + "02" + "55" * 32 + "ac", "p2pk"),
        ("51" + "21" + "03" + "66" * 32 + "51ae", "multisig"),
        ("6a0568656c6c6f", "op_return"),
        ("", "empty"),
        ("52534b", "unknown"),
    ],
)
def test_script_types_are_read_from_the_script(script: str, expected: str) -> None:
    assert classify_script(script) == expected


# Refusals: each bad record raises NormaliseError naming what is wrong.

GOOD: dict[str, Any] = {
    "txid": "ab" * 32,
    "version": 2,
    "locktime": 0,
    "vin": [
        {
            "txid": "cd" * 32,
            "vout": 1,
            "prevout": {"scriptpubkey": "0014" + "22" * 20, "value": 10_000},
            "scriptsig": "",
            "witness": ["30", "02"],
            "is_coinbase": False,
            "sequence": 0xFFFFFFFD,
        }
    ],
    "vout": [{"scriptpubkey": "a914" + "11" * 20 + "87", "value": 9_000}],
    "size": 222,
    "weight": 561,
    "status": {"confirmed": False},
}


def bad(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(GOOD)
    for path, value in changes.items():
        target: Any = record
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return record


def test_good_record_gets_fee_vsize_types_and_rbf() -> None:
    tx = normalise(GOOD)
    assert (tx.fee, tx.vsize, tx.fee_rate_sat_vb) == (1_000, 141, 1_000 / 141)
    assert tx.vin[0].prevout is not None and tx.vin[0].prevout.scriptpubkey_type == "v0_p2wpkh"
    assert tx.vout[0].scriptpubkey_type == "p2sh"
    assert tx.signals_rbf


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([GOOD], "not an object"),
        (bad(vin=[]), "vin: empty"),
        (bad(vout="none"), "vout: expected an array"),
        (bad(vin=[1]), "vin.0: expected an object"),
        (bad(txid="xyz"), "txid:"),
        (bad(vout__0__value=1.5), "vout.0.value"),
        (bad(vout__0__value=True), "vout.0.value"),
        (bad(vout__0__value=-1), "vout.0.value"),
        (bad(vout__0__value=21_000_000 * 10**8 + 1), "vout.0.value"),
        (bad(vout__0__value=20_000), "outputs exceed prevouts by 10000 sat"),
        (bad(fee=999), "fee: 999 disagrees with prevouts (1000)"),
        (bad(fee="1000"), "fee: '1000' is not a satoshi amount"),
        (bad(weight=0), "weight: 0 is not in"),
        (bad(weight=None), "weight: missing"),
        (bad(vsize=100), "vsize: 100 disagrees with weight 561"),
        (bad(vin__0__witness="30"), "vin.0.witness"),
        (bad(status=[]), "status"),
        (bad(vin__0__scriptsig="zz"), "vin.0.scriptsig: not hex"),
        (bad(vin__0__witness=["abc"]), "vin.0.witness.0: not hex"),
        (bad(vout__0__scriptpubkey_address="1\ud800" * 10), "vout.0.scriptpubkey_address"),
        (bad(status={"confirmed": True, "block_hash": "x"}), "status.block_hash"),
    ],
)
def test_bad_records_are_refused_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(NormaliseError) as caught:
        normalise(record)
    assert reason in caught.value.reason


def test_refusal_names_the_txid_when_it_has_one() -> None:
    with pytest.raises(NormaliseError) as caught:
        normalise(bad(fee=1))
    assert caught.value.txid == GOOD["txid"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"value": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b" " * (9 * 1024 * 1024), "over the"),
    ],
)
def test_undecodable_bytes_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(NormaliseError) as caught:
        normalise_json(data)
    assert reason in caught.value.reason
