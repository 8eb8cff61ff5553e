"""The heuristic tier and the cascade's rules path on real transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import Category, LabelBook
from chainwatch.shared.schemas import RiskBand, Tier, Transaction

from .conftest import raw

# A real transaction of block 574,200 (2019-05-02) that pays an OFAC-listed address.
SANCTIONED_TXID = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"


def test_label_book_reads_every_category(labels: LabelBook) -> None:
    assert set(labels.count_by_category()) == {c.value for c in Category}
    assert len(labels) > 10_000


async def test_transaction_paying_sanctioned_address_is_severe(
    labels: LabelBook, block574200: list[Transaction]
) -> None:
    tx = next(t for t in block574200 if t.txid == SANCTIONED_TXID)
    exposures = await ExposureTracker(labels, MemoryTaintStore()).assess([tx])
    decision = Cascade(HeuristicTier(), RiskBands()).decide_batch([raw(tx)], exposures)[0]

    assert decision.band is RiskBand.SEVERE and decision.flagged
    assert decision.deciding_tier is Tier.HEURISTIC
    assert decision.decision_reason.startswith("sanctions exposure")
    hit = next(h for h in decision.rule_hits if h.category == "sanctions")
    assert hit.rule == "direct_exposure"
    sanctioned_sat = sum(
        o.value
        for o in tx.vout
        if any(lb.category is Category.SANCTIONS for lb in labels.get(o.scriptpubkey_address))
    )
    assert hit.share_of_value == pytest.approx(sanctioned_sat / tx.value_out, abs=1e-6)
    assert decision.features["exposure_sanctions"] == pytest.approx(hit.share_of_value)
    assert decision.features["exposure_min_hops"] == 0.0


async def test_transactions_touching_no_labelled_address_are_low(
    labels: LabelBook, block277647: list[Transaction]
) -> None:
    exposures = await ExposureTracker(labels, MemoryTaintStore()).assess(block277647)
    decisions = Cascade(HeuristicTier(), RiskBands()).decide_batch(
        [raw(tx) for tx in block277647], exposures
    )

    assert len(decisions) == 213
    assert all(d.band is RiskBand.LOW and not d.flagged for d in decisions)
    assert not any(h.rule.endswith("_exposure") for d in decisions for h in d.rule_hits)
    assert all(d.deciding_tier is Tier.HEURISTIC for d in decisions)
    assert all("no batch model" in d.decision_reason for d in decisions)


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
