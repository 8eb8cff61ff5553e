"""Weak labels on the real recorded data, and each label source on a chain built for it."""

from __future__ import annotations

import asyncio
import hashlib

from chainwatch.scorer.labels import LabelBook
from chainwatch.shared.features import exposure_context
from chainwatch.shared.schemas import Transaction, TxInput, TxOutput, TxStatus
from chainwatch.trainer.dataset import TimedTransaction
from chainwatch.trainer.labels import LabelPolicy, LabelSource, label_transactions
from chainwatch.trainer.screening import LabelledData, assess_exposures

SANCTIONED_TX = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"
SANCTIONED = "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"  # first line of the OFAC SDN XBT list
EXCHANGE = "3LYJfcfHPXYJreMsASk2jkn69LWEYKzexb"  # exchange-tier1: Binance
PLAIN = "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"


def test_real_data_gives_few_positives_all_accounted_for(real_labelled: LabelledData) -> None:
    counts = real_labelled.labelled.counts()
    by_txid = {r.txid: r for r in real_labelled.labelled.rows}

    # What the recorded data holds (see the model card's caveats): one transaction paying
    # an OFAC address in block 574,200, three spending from OFAC addresses whose prevouts
    # the block does not give (found through their unlocking scripts) in block 540,107,
    # and thirty more spending from the same wallet (common-input ownership).
    assert counts["direct_exposure"] == {"rows": 1, "positives": 1}
    assert counts["input_script"] == {"rows": 3, "positives": 3}
    assert counts["entity_cluster"] == {"rows": 30, "positives": 30}
    assert counts["exchange_or_pool"]["positives"] == 0
    assert by_txid[SANCTIONED_TX].source == LabelSource.DIRECT_EXPOSURE
    assert by_txid[SANCTIONED_TX].categories == ("sanctions",)
    assert counts.get("indirect_exposure") is None  # nothing in the data spends them


def test_training_context_is_the_exposure_the_scorer_sees(real_labelled: LabelledData) -> None:
    exposed = [e for e in real_labelled.exposures if e]
    assert exposed
    for exposures in exposed:
        context = exposure_context(exposures)  # the one definition training and serving share
        for exposure in exposures:
            share = getattr(context, f"exposure_{exposure.category}")
            assert share >= exposure.share_of_value
        assert context.exposure_min_hops == min(e.hops for e in exposures)


def _tx(name: str, vin: list[TxInput], pay_to: str, time_ts: int) -> TimedTransaction:
    txid = hashlib.sha256(name.encode()).hexdigest()
    tx = Transaction(
        txid=txid,
        version=2,
        locktime=0,
        vin=vin,
        vout=[TxOutput(scriptpubkey_type="p2pkh", scriptpubkey_address=pay_to, value=90_000)],
        size=200,
        weight=800,
        vsize=200,
        status=TxStatus(confirmed=True, block_time=time_ts),
    )
    return TimedTransaction(tx, time_ts, "constructed")


def _spend(parent: TimedTransaction | None, address: str) -> TxInput:
    txid = parent.tx.txid if parent else "cd" * 32
    prevout = TxOutput(scriptpubkey_type="p2pkh", scriptpubkey_address=address, value=100_000)
    return TxInput(txid=txid, vout=0, prevout=prevout)


def test_each_label_source_on_a_constructed_chain(label_book: LabelBook) -> None:
    from_sanctioned = _tx("a", [_spend(None, SANCTIONED)], PLAIN, 1)
    hop_one = _tx("b", [_spend(from_sanctioned, PLAIN)], PLAIN, 2)
    hop_two = _tx("c", [_spend(hop_one, PLAIN)], PLAIN, 3)
    to_exchange = _tx("d", [_spend(None, PLAIN)], EXCHANGE, 4)
    nothing_known = _tx("e", [_spend(None, PLAIN)], PLAIN, 5)
    analysed = _tx("f", [_spend(None, PLAIN)], PLAIN, 6)
    txs = [from_sanctioned, hop_one, hop_two, to_exchange, nothing_known, analysed]
    exposures = asyncio.run(assess_exposures(txs, label_book))

    labelled = label_transactions(txs, exposures, label_book, {analysed.tx.txid: True})
    rows = [(r.source, r.label, r.hops) for r in labelled.rows]

    assert rows == [
        (LabelSource.DIRECT_EXPOSURE, 1, 0),
        (LabelSource.INDIRECT_EXPOSURE, 1, 1),
        (LabelSource.INDIRECT_EXPOSURE, 1, 2),
        (LabelSource.EXCHANGE_OR_POOL, 0, None),
        (LabelSource.UNLABELLED, 0, None),
        (LabelSource.VERDICT, 1, None),
    ]
    strict = LabelPolicy(include_unlabelled=False, min_verdicts=1, min_verdict_positives=1)
    only_verdicts = label_transactions(txs, exposures, label_book, {analysed.tx.txid: True}, strict)
    assert [r.source for r in only_verdicts.rows] == [LabelSource.VERDICT]
    assert only_verdicts.verdicts_only


def test_entity_cluster_is_one_wallet_in_block_540107(real_labelled: LabelledData) -> None:
    cluster_txids = {
        r.txid for r in real_labelled.labelled.rows if r.source == LabelSource.ENTITY_CLUSTER
    }
    shapes = {
        (t.tx.status.block_height, len(t.tx.vout))
        for t in real_labelled.txs
        if t.tx.txid in cluster_txids
    }

    # Consolidations of one wallet: many inputs into one output, all in one block.
    assert shapes == {(540107, 1)}
