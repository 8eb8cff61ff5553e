"""Indirect exposure follows real in-block spends of block 574,200, hop by hop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from chainwatch.scorer.exposure import (
    ExposureParams,
    ExposureTracker,
    MemoryTaintStore,
    PostgresTaintStore,
    Taint,
)
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.shared.schemas import Exposure, Transaction


def _spend_chain(block: list[Transaction], length: int) -> list[Transaction]:
    """A chain of in-block spends, oldest first, each spending the one before, whose
    transactions pay no address twice (so exposure can only travel by spending)."""
    by_txid = {tx.txid: tx for tx in block}
    parent = {tx.txid: next((i.txid for i in tx.vin if i.txid in by_txid), None) for tx in block}
    for tip in reversed(block):
        chain = [tip.txid]
        while (p := parent[chain[-1]]) is not None:
            chain.append(p)
        txs = [by_txid[t] for t in reversed(chain)][:length]
        addresses = [o.scriptpubkey_address for tx in txs for o in tx.vout]
        if len(txs) == length and len(set(addresses)) == len(addresses):
            return txs
    raise LookupError(f"no in-block spend chain of {length} with distinct addresses")


@pytest.fixture(scope="module")
def chain(block574200: list[Transaction]) -> list[Transaction]:
    return _spend_chain(block574200, 7)


@pytest.fixture
def ransomware_book(tmp_path: Path, chain: list[Transaction]) -> LabelBook:
    """Label the address of chain[0]'s output that chain[1] spends, as ransomware."""
    spent = next(i for i in chain[1].vin if i.txid == chain[0].txid)
    address = chain[0].vout[spent.vout].scriptpubkey_address
    assert address is not None
    curated = tmp_path / "address_labels/am-i-exposed_curated"
    curated.mkdir(parents=True)
    (curated / "ransomware-addresses.csv").write_text(
        f"address,entity,source\n{address},Test Locker,test\n"
    )
    return LabelBook(tmp_path)


def _from(exposures: list[Exposure]) -> Exposure | None:
    return next((e for e in exposures if e.direction == "from"), None)


async def test_hops_count_along_a_real_spend_chain(
    block574200: list[Transaction], chain: list[Transaction], ransomware_book: LabelBook
) -> None:
    tracker = ExposureTracker(ransomware_book, MemoryTaintStore(), ExposureParams(max_hops=4))
    results: dict[str, list[Exposure]] = {}
    for start in range(0, len(block574200), 500):  # several batches, as the scorer sees them
        batch = block574200[start : start + 500]
        for tx, exposures in zip(batch, await tracker.assess(batch), strict=True):
            results[tx.txid] = exposures

    paid = results[chain[0].txid]
    assert [(e.direction, e.hops, e.category) for e in paid] == [("to", 0, "ransomware")]
    inherited = [_from(results[tx.txid]) for tx in chain[1:]]
    assert [e.hops if e else None for e in inherited] == [0, 1, 2, 3, 4, None]
    found = [e for e in inherited if e is not None]
    assert all(e.category == "ransomware" for e in found)
    assert [e.via_txid for e in found[1:]] == [t.txid for t in chain[1:5]]

    scores = [HeuristicTier().exposure_risk(e) for e in found]
    assert scores == sorted(scores, reverse=True), "risk decays with every hop"


async def test_share_is_value_weighted(
    chain: list[Transaction], ransomware_book: LabelBook
) -> None:
    tracker = ExposureTracker(ransomware_book, MemoryTaintStore())
    results = await tracker.assess(chain[:3])
    for tx, exposures in zip(chain[1:3], results[1:3], strict=True):
        exposure = _from(exposures)
        assert exposure is not None
        tainted_sat = sum(
            i.prevout.value
            for i in tx.vin
            if i.prevout is not None and i.txid in {c.txid for c in chain}
        )
        total_sat = sum(i.prevout.value for i in tx.vin if i.prevout is not None)
        assert exposure.share_of_value == pytest.approx(tainted_sat / total_sat, abs=1e-6)


@pytest.fixture
async def taint_pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    assert pool is not None
    yield pool
    await pool.close()


async def test_replicas_share_taints_through_postgres(
    chain: list[Transaction], ransomware_book: LabelBook, taint_pool: asyncpg.Pool
) -> None:
    first = ExposureTracker(ransomware_book, PostgresTaintStore(taint_pool))
    second = ExposureTracker(ransomware_book, PostgresTaintStore(taint_pool))

    await first.assess(chain[:3])
    later = await second.assess(chain[3:5])

    assert [
        (_from(e) or Exposure(category="-", hops=99, share_of_value=0)).hops for e in later
    ] == [2, 3]
    rows = await taint_pool.fetchval("SELECT count(*) FROM exposure_taint")
    assert rows >= 4


async def test_memory_store_is_bounded() -> None:
    store = MemoryTaintStore(max_outpoints=1000)
    taint = (Taint("mixer", 1, 1.0, "ab" * 32, 1000),)
    await store.save({f"{n:064x}:0": taint for n in range(1500)})
    assert len(store) == 1000
    assert await store.lookup([f"{0:064x}:0"]) == {}
    assert await store.lookup([f"{1499:064x}:0"])


async def test_expired_taints_are_pruned(taint_pool: asyncpg.Pool) -> None:
    store = PostgresTaintStore(taint_pool, retention_days=1)
    taint = (Taint("mixer", 1, 1.0, "cd" * 32, 1000),)
    await store.save({f"{'ab' * 32}:0": taint, f"{'ab' * 32}:1": taint})
    await taint_pool.execute(
        "UPDATE exposure_taint SET created_at = now() - interval '2 days' WHERE outpoint LIKE '%:0'"
    )

    assert await store.prune() == 1
    assert list(await store.lookup([f"{'ab' * 32}:0", f"{'ab' * 32}:1"])) == [f"{'ab' * 32}:1"]


async def test_an_input_counts_once_per_category(
    chain: list[Transaction], ransomware_book: LabelBook
) -> None:
    """chain[1] spends the labelled output: the label and the output's taint are one input."""
    tracker = ExposureTracker(ransomware_book, MemoryTaintStore())
    results = await tracker.assess(chain[:2])

    exposure = _from(results[1])
    assert exposure is not None and exposure.hops == 0
    tx = chain[1]
    labelled_sat = sum(
        i.prevout.value for i in tx.vin if i.prevout is not None and i.txid == chain[0].txid
    )
    total_sat = sum(i.prevout.value for i in tx.vin if i.prevout is not None)
    assert exposure.share_of_value == pytest.approx(labelled_sat / total_sat, abs=1e-6)
