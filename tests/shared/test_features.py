"""The feature set on every recorded real transaction, checked against hand computations."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.recorded import read_records, resolve_files
from chainwatch.scorer.labels import ILLICIT
from chainwatch.shared import feature_specs
from chainwatch.shared import features as F
from chainwatch.shared.schemas import Transaction

FIXTURES = "mempool_api/am-i-exposed_fixtures"
BATCH_143 = "3d81a6b95903dd457d45a2fc998acc42fe96f59ef01157bdcbc331fe451c8d9e"
WHIRLPOOL = "323df21f0b0756f98336437aa3d2fb87e02b59f1946b714a7b09df04d429dec2"
DUST_555 = "655c533bf059721cec9d3d70b3171a07997991a02fedfa1c9b593abc645e1cc5"
OP_RETURN_CHARLEY = "8bae12b5f4c088d940733dcd1455efc6a3a69cf9340e17a981286d3778615684"
COINBASE_277647 = "0fc1f998e6fc1fa43a879cea4a54fe9947e02b925ebc46237a2406c50e0f07ea"
# Block 540,107: p2sh inputs paying one p2sh output (the change) and one p2pkh output.
UNIQUE_TYPE_CHANGE = "11e2facce4f2e8e168445b225a9aff68e1611649cbc49e2bf616eb0100b55e74"
# Block 574,200: two inputs, only one of them spending an output of the same block.
PARTIAL_PREVOUTS = "3a37a383368d85d46589746ffc77c966a79f6d2dc0a6530d5f1bcaa1f45c3a92"

FINGERPRINTS = {"tx-features-1": "eecda08f859f"}
"""FEATURE_SET_VERSION -> hash of the names and units it stands for: renaming, reordering or
re-uniting a feature without a new version fails here."""

NEEDS_ALL_PREVOUTS = ("value_in_log10", "input_value_min_log10", "input_value_max_log10")
NEEDS_A_PREVOUT = (
    *(f"in_share_{t}" for t in (*feature_specs.INPUT_TYPES, "other")),
    "change_unique_input_type",
    "input_address_output_share",
)
NEEDS_FEE = ("fee_log10", "fee_rate_sat_vb")
NAN_BY_DEFAULT = ("exposure_min_hops", "anomaly_score")


@pytest.fixture(scope="module")
def real(data_dir: Path) -> list[Transaction]:
    """Every recorded real transaction: the three derived blocks, then the API fixtures."""
    files = resolve_files(data_dir, ["all"])
    return [normalise(r.payload) for r in read_records(files, data_dir) if r.error is None]


@pytest.fixture(scope="module")
def by_txid(real: list[Transaction]) -> dict[str, Transaction]:
    return {tx.txid: tx for tx in real}


@pytest.fixture(scope="module")
def matrix(real: list[Transaction]) -> np.ndarray:
    return F.feature_matrix(real)


def _fixture_json(data_dir: Path, name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((data_dir / FIXTURES / f"{name}.json").read_text())
    return record


def _value(tx: Transaction, name: str) -> float:
    return float(F.intrinsic_features(tx)[F.feature_index(name)])


def test_names_are_unique_and_every_spec_explains_itself() -> None:
    assert len(set(F.FEATURE_NAMES)) == len(F.FEATURE_NAMES) == F.N_FEATURES
    assert F.N_INTRINSIC + F.N_CONTEXT == F.N_FEATURES
    assert 35 <= F.N_INTRINSIC <= 50
    for spec in F.FEATURE_SPECS:
        assert spec.unit and spec.label and spec.description, spec.name
        assert spec.name.isidentifier() and spec.name == spec.name.lower()
    assert [F.feature_index(n) for n in F.FEATURE_NAMES] == list(range(F.N_FEATURES))
    with pytest.raises(KeyError):
        F.feature_index("no_such_feature")


def test_version_pins_the_names_and_units() -> None:
    listing = "\n".join(f"{s.name}|{s.unit}" for s in F.FEATURE_SPECS)
    assert hashlib.sha256(listing.encode()).hexdigest()[:12] == FINGERPRINTS[F.FEATURE_SET_VERSION]


def test_exposure_columns_are_the_scorers_illicit_categories() -> None:
    assert set(F.EXPOSURE_CATEGORIES) == {c.value for c in ILLICIT}
    context_names = [s.name for s in F.CONTEXT_SPECS]
    assert context_names[: len(F.EXPOSURE_CATEGORIES)] == [
        f"exposure_{c}" for c in F.EXPOSURE_CATEGORIES
    ]
    assert [f.name for f in dataclasses.fields(F.FeatureContext)] == context_names


def test_context_from_exposure_shares() -> None:
    context = F.FeatureContext.from_exposure({"mixer": 0.3, "darknet_market": 0.1}, min_hops=2)
    values = dict(zip([s.name for s in F.CONTEXT_SPECS], context.values(), strict=True))

    assert values["exposure_mixer"] == 0.3 and values["exposure_darknet_market"] == 0.1
    assert values["exposure_sanctions"] == 0.0 and values["exposure_min_hops"] == 2
    assert math.isnan(values["anomaly_score"])
    with pytest.raises(ValueError, match="exchange"):
        F.FeatureContext.from_exposure({"exchange": 0.5})


def test_every_real_row_is_finite_except_documented_nans(
    real: list[Transaction], matrix: np.ndarray
) -> None:
    assert matrix.shape == (len(real), F.N_FEATURES) and matrix.dtype == np.float64
    assert len(real) > 3900

    allowed_nan = {*NEEDS_ALL_PREVOUTS, *NEEDS_A_PREVOUT, *NEEDS_FEE, *NAN_BY_DEFAULT}
    for name in F.FEATURE_NAMES:
        if name not in allowed_nan:
            assert np.isfinite(matrix[:, F.feature_index(name)]).all(), name

    for tx, row in zip(real, matrix, strict=True):
        known = [i.prevout is not None for i in tx.vin if not i.is_coinbase]
        for name in NEEDS_ALL_PREVOUTS:
            assert math.isnan(row[F.feature_index(name)]) == (not known or not all(known))
        for name in NEEDS_A_PREVOUT:
            assert math.isnan(row[F.feature_index(name)]) == (not any(known)), (tx.txid, name)
        for name in NEEDS_FEE:
            assert math.isnan(row[F.feature_index(name)]) == (tx.fee is None)
    for name in NAN_BY_DEFAULT:
        assert np.isnan(matrix[:, F.feature_index(name)]).all()


def test_shares_are_fractions_and_type_mixes_add_up(matrix: np.ndarray) -> None:
    for spec in F.FEATURE_SPECS:
        if spec.unit == feature_specs.FRACTION:
            column = matrix[:, F.feature_index(spec.name)]
            assert ((column[~np.isnan(column)] >= 0) & (column[~np.isnan(column)] <= 1)).all()

    out_mix = [i for i, n in enumerate(F.FEATURE_NAMES) if n.startswith("out_share_")]
    np.testing.assert_allclose(matrix[:, out_mix].sum(axis=1), 1.0)
    in_mix = [i for i, n in enumerate(F.FEATURE_NAMES) if n.startswith("in_share_")]
    known = ~np.isnan(matrix[:, in_mix[0]])
    np.testing.assert_allclose(matrix[known][:, in_mix].sum(axis=1), 1.0)


def test_matrix_rows_equal_single_rows(real: list[Transaction], matrix: np.ndarray) -> None:
    for tx, row in zip(real, matrix, strict=True):
        np.testing.assert_array_equal(row[: F.N_INTRINSIC], F.intrinsic_features(tx))
        np.testing.assert_array_equal(row, F.feature_row(tx))


def test_context_fills_the_last_columns(real: list[Transaction]) -> None:
    contexts = [
        F.FeatureContext(exposure_mixer=0.25, exposure_min_hops=2.0),
        F.FeatureContext(exposure_sanctions=1.0, exposure_min_hops=0.0, anomaly_score=0.9),
    ]
    rows = F.feature_matrix(real[:2], contexts)

    assert rows[0, F.feature_index("exposure_mixer")] == 0.25
    assert rows[0, F.feature_index("exposure_min_hops")] == 2.0
    assert math.isnan(rows[0, F.feature_index("anomaly_score")])
    assert rows[1, F.feature_index("exposure_sanctions")] == 1.0
    assert rows[1, F.feature_index("anomaly_score")] == 0.9
    np.testing.assert_array_equal(rows[1], F.feature_row(real[1], contexts[1]))
    with pytest.raises(ValueError, match="2 transactions but 1 contexts"):
        F.feature_matrix(real[:2], contexts[:1])
    assert F.feature_matrix([]).shape == (0, F.N_FEATURES)


@pytest.mark.parametrize(
    "fields",
    [{"exposure_scam": 1.5}, {"exposure_min_hops": -1.0}, {"anomaly_score": 2.0}],
)
def test_context_refuses_values_out_of_range(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        F.FeatureContext(**fields)


def test_batch_withdrawal_143_by_hand(data_dir: Path, by_txid: dict[str, Transaction]) -> None:
    record = _fixture_json(data_dir, "batch-withdrawal-143")
    values = [o["value"] for o in record["vout"]]
    tx = by_txid[BATCH_143]

    assert _value(tx, "output_count") == 143 == len(values)
    assert _value(tx, "input_count") == 1
    assert _value(tx, "value_out_log10") == pytest.approx(math.log10(1 + sum(values)))
    assert _value(tx, "output_value_min_log10") == pytest.approx(math.log10(1 + min(values)))
    assert _value(tx, "fee_rate_sat_vb") == pytest.approx(
        record["fee"] / math.ceil(record["weight"] / 4)
    )
    assert _value(tx, "largest_output_share") == pytest.approx(max(values) / sum(values))
    repeats = Counter(values)
    assert _value(tx, "equal_output_max_group") == max(repeats.values()) == 2
    assert _value(tx, "equal_output_group_count") == sum(1 for n in repeats.values() if n > 1)
    assert _value(tx, "dust_1000_output_count") == sum(1 for v in values if v < 1000) == 0
    p2sh = sum(1 for o in record["vout"] if o["scriptpubkey_type"] == "p2sh")
    assert _value(tx, "out_share_p2sh") == pytest.approx(p2sh / 143)


def test_whirlpool_five_by_five_by_hand(data_dir: Path, by_txid: dict[str, Transaction]) -> None:
    record = _fixture_json(data_dir, "whirlpool-coinjoin")
    tx = by_txid[WHIRLPOOL]

    assert _value(tx, "equal_output_max_group") == 5
    assert _value(tx, "equal_output_max_group_share") == 1.0
    assert _value(tx, "round_1e6_output_share") == 1.0  # 5 x 5,000,000 sat
    assert _value(tx, "in_share_v0_p2wpkh") == _value(tx, "segwit_input_share") == 1.0
    assert _value(tx, "rbf_signalled") == 0.0  # every sequence is 0xffffffff
    assert _value(tx, "version") == 1.0
    assert _value(tx, "locktime_set") == _value(tx, "locktime_height_type") == 0.0
    base = (record["weight"] - record["size"]) / 3
    assert _value(tx, "witness_byte_share") == pytest.approx(1 - base / record["size"])


def test_dust_attack_555_by_hand(by_txid: dict[str, Transaction]) -> None:
    tx = by_txid[DUST_555]  # 34,313 sat in; 555 sat to a stranger, 33,532 back to the sender

    assert _value(tx, "dust_1000_output_count") == 1
    assert _value(tx, "dust_546_output_count") == 0  # 555 is just above the relay limit
    assert _value(tx, "input_address_output_share") == pytest.approx(33_532 / (555 + 33_532))
    assert _value(tx, "fee_rate_sat_vb") == pytest.approx(226 / 225)
    assert _value(tx, "change_unique_input_type") == 0.0  # both outputs are p2pkh
    assert _value(tx, "rbf_signalled") == 1.0
    assert _value(tx, "locktime_set") == _value(tx, "locktime_height_type") == 1.0
    assert _value(tx, "witness_byte_share") == 0.0


def test_change_and_op_return_and_coinbase(by_txid: dict[str, Transaction]) -> None:
    assert _value(by_txid[UNIQUE_TYPE_CHANGE], "change_unique_input_type") == 1.0

    charley = by_txid[OP_RETURN_CHARLEY]
    assert _value(charley, "op_return_present") == 1.0
    assert _value(charley, "out_share_op_return") == 0.5
    assert _value(charley, "round_1e5_output_share") == 1.0  # 200,000 sat; OP_RETURN left out

    coinbase = by_txid[COINBASE_277647]
    assert _value(coinbase, "is_coinbase") == 1.0
    assert math.isnan(_value(coinbase, "value_in_log10"))
    assert _value(coinbase, "fee_rate_sat_vb") == 0.0

    partial = by_txid[PARTIAL_PREVOUTS]
    assert _value(partial, "prevouts_known") == 0.0
    assert math.isnan(_value(partial, "value_in_log10"))
    assert not math.isnan(_value(partial, "in_share_p2pkh"))  # from the one known prevout


def test_describe_renders_values_with_their_units() -> None:
    assert F.describe("fee_rate_sat_vb", 12.44) == "fee rate 12.4 sat/vB"
    assert F.describe("value_out_log10", math.log10(1 + 1e8)) == "value out 1 BTC"
    assert F.describe("output_value_min_log10", math.log10(556)) == "smallest output 555 sat"
    assert F.describe("round_1e5_output_share", 0.25) == "round outputs 25%"
    assert F.describe("rbf_signalled", 1.0) == "RBF signalled: yes"
    assert F.describe("output_count", 143.0) == "outputs 143"
    assert F.describe("fee_log10", math.nan) == "fee unknown"
    assert F.describe("exposure_min_hops", 0.0) == "hops to exposure: direct"
    assert F.describe("exposure_sanctions", 0.5) == "exposure to sanctions 50%"
    with pytest.raises(KeyError):
        F.describe("no_such_feature", 1.0)


def test_a_typical_transaction_costs_well_under_100_microseconds(
    real: list[Transaction],
) -> None:
    typical = [tx for tx in real if len(tx.vin) <= 3 and len(tx.vout) <= 3]
    F.feature_matrix(typical)  # warm up

    started = time.perf_counter()
    F.feature_matrix(typical)
    per_tx_us = (time.perf_counter() - started) / len(typical) * 1e6

    assert per_tx_us < 100, f"{per_tx_us:.1f} us per transaction"
