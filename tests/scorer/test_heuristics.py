"""The heuristic tier and the cascade on real transactions."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import Category, LabelBook
from chainwatch.shared.schemas import RawTransaction, RiskBand, Tier, Transaction

# A real transaction of block 574,200 (2019-05-02) that pays an OFAC-listed address.
SANCTIONED_TXID = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"


@pytest.fixture(scope="module")
def labels(data_dir: Path) -> LabelBook:
    return LabelBook(data_dir)


@pytest.fixture(scope="module")
def cascade(labels: LabelBook) -> Cascade:
    return Cascade(HeuristicTier(labels), RiskBands())


def _block574200_tx(data_dir: Path, txid: str) -> dict[str, object]:
    path = data_dir / "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz"
    with gzip.open(path, "rt") as lines:
        for line in lines:
            if txid in line[:80]:
                record: dict[str, object] = json.loads(line)
                return record
    raise LookupError(txid)


def _raw(record: dict[str, object]) -> RawTransaction:
    record = dict(record)
    record.setdefault("vsize", -(-int(record["weight"]) // 4))  # type: ignore[call-overload]
    tx = Transaction.model_validate(record)
    return RawTransaction(source="test", observed_at=datetime.now(UTC), tx=tx)


def test_label_book_reads_every_category(labels: LabelBook) -> None:
    assert set(labels.count_by_category()) == {c.value for c in Category}
    assert len(labels) > 10_000


def test_transaction_paying_sanctioned_address_is_severe(cascade: Cascade, data_dir: Path) -> None:
    decision = cascade.decide(_raw(_block574200_tx(data_dir, SANCTIONED_TXID)))

    assert decision.band is RiskBand.SEVERE
    assert decision.flagged
    assert decision.deciding_tier is Tier.HEURISTIC
    hit = next(h for h in decision.rule_hits if h.category == "sanctions")
    assert hit.rule == "direct_exposure"
    assert hit.addresses
    assert 0.0 < hit.share_of_value <= 1.0


def test_transactions_paying_no_labelled_address_are_low(cascade: Cascade, data_dir: Path) -> None:
    block = json.loads(
        (data_dir / "mempool_api/derived/block277647_txs_with_prevouts.json").read_text()
    )
    decisions = [cascade.decide(_raw(tx)) for tx in block]

    assert len(decisions) == 213
    assert all(d.band is RiskBand.LOW and not d.flagged and not d.rule_hits for d in decisions)


def test_exposure_share_counts_only_the_labelled_outputs(labels: LabelBook, data_dir: Path) -> None:
    record = _block574200_tx(data_dir, SANCTIONED_TXID)
    tx = _raw(record).tx
    sanctioned_sat = sum(
        o.value
        for o in tx.vout
        if any(lb.category is Category.SANCTIONS for lb in labels.get(o.scriptpubkey_address))
    )
    result = HeuristicTier(labels).score(tx)

    hit = next(h for h in result.rule_hits if h.category == "sanctions")
    assert result.sanctioned
    assert hit.share_of_value == pytest.approx(sanctioned_sat / tx.value_out)


def test_labels_reload_when_a_list_changes(tmp_path: Path) -> None:
    sanctions = tmp_path / "sanctions"
    sanctions.mkdir()
    listing = sanctions / "ofac_sanctioned_addresses_XBT.txt"
    listing.write_text("1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n")
    book = LabelBook(tmp_path)
    assert not book.get("1dice8EMZmqKvrGE4Qc9bUFf9PX3xaYDp")

    listing.write_text("1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n1dice8EMZmqKvrGE4Qc9bUFf9PX3xaYDp\n")
    os.utime(listing, (1e9, 2e9))
    assert book.reload_if_changed()
    assert book.get("1dice8EMZmqKvrGE4Qc9bUFf9PX3xaYDp")[0].category is Category.SANCTIONS
    assert not book.reload_if_changed()


def test_band_thresholds_must_rise() -> None:
    with pytest.raises(ValueError, match="must rise"):
        RiskBands(medium=0.5, high=0.4, severe=0.9)
    bands = RiskBands()
    assert [bands.band(s) for s in (0.0, 0.3, 0.6, 0.85, 1.0)] == [
        RiskBand.LOW,
        RiskBand.MEDIUM,
        RiskBand.HIGH,
        RiskBand.SEVERE,
        RiskBand.SEVERE,
    ]
