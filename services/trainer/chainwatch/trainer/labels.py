"""Labels for training: analyst verdicts where there are any, weak labels until there are enough.

Every row records where its label came from (``LabelSource``), in this order of precedence:

================== ===== ==================================================================
source             label meaning
================== ===== ==================================================================
verdict            0/1   an analyst's verdict from the audit trail (true/false positive)
direct_exposure    1     the scorer's exposure tracker: spends from or pays a labelled
                         illicit address (hops 0), as the scorer sees it
indirect_exposure  1     the tracker: spends an output of an exposed transaction (hops >= 1)
input_script       1     an input's address, read from its unlocking script because its
                         prevout is unknown (``addresses``), is labelled illicit: exposure
                         the scorer cannot see
entity_cluster     1     an input or output address belongs to a cluster of addresses
                         spent together (common-input ownership, coinjoins excluded) that
                         holds an illicit address: the same entity, unlabelled addresses
exchange_or_pool   0     touches exchange or mining-pool addresses and nothing illicit
unlabelled         0     nothing known: presumed licit (positive-unlabelled learning);
                         dropped when ``LabelPolicy.include_unlabelled`` is false
================== ===== ==================================================================

Weak labels are facts about addresses, not judgements about transactions: a positive
means "exposed to an illicit category", and the model learns to recognise such exposure
where the address lists do not reach. Once ``LabelPolicy.verdicts_suffice`` holds, only
verdicts are trained on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from chainwatch.scorer.labels import ILLICIT, Category, LabelBook
from chainwatch.scorer.typologies import detect_typologies
from chainwatch.shared.schemas import Exposure
from chainwatch.trainer.addresses import input_address
from chainwatch.trainer.dataset import TimedTransaction


class LabelSource(StrEnum):
    VERDICT = "verdict"
    DIRECT_EXPOSURE = "direct_exposure"
    INDIRECT_EXPOSURE = "indirect_exposure"
    INPUT_SCRIPT = "input_script"
    ENTITY_CLUSTER = "entity_cluster"
    EXCHANGE_OR_POOL = "exchange_or_pool"
    UNLABELLED = "unlabelled"


CONTEXT_CATEGORIES = frozenset({Category.EXCHANGE, Category.MINING_POOL})
"""Labelled, but not illicit: a transaction touching only these is a negative weak label."""


@dataclass(frozen=True)
class LabelPolicy:
    """Which weak labels are used, and when verdicts alone are enough."""

    use_input_scripts: bool = True
    use_entity_clusters: bool = True
    include_unlabelled: bool = True
    min_verdicts: int = 500
    """Verdicts needed (with ``min_verdict_positives`` true positives) to drop weak labels."""
    min_verdict_positives: int = 50

    def verdicts_suffice(self, verdicts: Mapping[str, bool]) -> bool:
        positives = sum(verdicts.values())
        return len(verdicts) >= self.min_verdicts and positives >= self.min_verdict_positives


DEFAULT_POLICY = LabelPolicy()


@dataclass(frozen=True)
class LabelledRow:
    """One training row: its transaction (by index), label (1 illicit) and why."""

    index: int
    txid: str
    time_ts: int
    label: int
    source: LabelSource
    hops: int | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class LabelledSet:
    rows: Sequence[LabelledRow]
    verdicts_only: bool
    verdicts_available: int

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows and positives per label source."""
        rows = Counter(r.source.value for r in self.rows)
        positives = Counter(r.source.value for r in self.rows if r.label == 1)
        return {s: {"rows": rows[s], "positives": positives[s]} for s in sorted(rows)}


def label_transactions(
    txs: Sequence[TimedTransaction],
    exposures: Sequence[Sequence[Exposure]],
    book: LabelBook,
    verdicts: Mapping[str, bool],
    policy: LabelPolicy = DEFAULT_POLICY,
) -> LabelledSet:
    """Label ``txs`` (time-ordered); ``exposures[i]`` is what the tracker found for ``txs[i]``.

    ``verdicts`` maps txid to True (illicit) or False (licit). Raises ``ValueError`` when
    ``exposures`` is not aligned with ``txs``.
    """
    if len(exposures) != len(txs):
        raise ValueError(f"{len(txs)} transactions but {len(exposures)} exposure lists")
    verdicts_only = policy.verdicts_suffice(verdicts)
    tainted = _tainted_clusters(txs, book) if policy.use_entity_clusters else None

    rows = []
    for index, (timed, found) in enumerate(zip(txs, exposures, strict=True)):
        txid = timed.tx.txid
        row: _Label | None
        if txid in verdicts:
            row = (int(verdicts[txid]), LabelSource.VERDICT, None, ())
        elif verdicts_only:
            continue
        else:
            row = _weak_label(timed, found, book, tainted, policy)
        if row is None:
            continue
        label, source, hops, categories = row
        rows.append(LabelledRow(index, txid, timed.time_ts, label, source, hops, categories))
    return LabelledSet(rows, verdicts_only, len(verdicts))


_Label = tuple[int, LabelSource, int | None, tuple[str, ...]]
"""Label, source, hops to the exposure (when known), categories."""


def _weak_label(
    timed: TimedTransaction,
    exposures: Sequence[Exposure],
    book: LabelBook,
    tainted: _Clusters | None,
    policy: LabelPolicy,
) -> _Label | None:
    if exposures:
        hops = min(e.hops for e in exposures)
        categories = tuple(sorted({e.category for e in exposures}))
        source = LabelSource.DIRECT_EXPOSURE if hops == 0 else LabelSource.INDIRECT_EXPOSURE
        return 1, source, hops, categories

    tx = timed.tx
    recovered = [input_address(v) for v in tx.vin if v.prevout is None]
    inputs = [input_address(v) for v in tx.vin]
    addresses = [a for a in (*inputs, *(v.scriptpubkey_address for v in tx.vout)) if a]

    if policy.use_input_scripts:
        illicit = {
            label.category.value
            for address in recovered
            for label in book.get(address)
            if label.category in ILLICIT
        }
        if illicit:
            return 1, LabelSource.INPUT_SCRIPT, 0, tuple(sorted(illicit))
    if tainted is not None and any(tainted.is_tainted(a) for a in addresses):
        return 1, LabelSource.ENTITY_CLUSTER, None, ()

    seen = {label.category for a in addresses for label in book.get(a)}
    if seen and seen <= CONTEXT_CATEGORIES:
        return 0, LabelSource.EXCHANGE_OR_POOL, None, tuple(sorted(c.value for c in seen))
    if policy.include_unlabelled:
        return 0, LabelSource.UNLABELLED, None, ()
    return None


class _Clusters:
    """Union-find over addresses; a cluster is tainted when it holds an illicit address."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.tainted_roots: set[str] = set()

    def find(self, address: str) -> str:
        self.parent.setdefault(address, address)
        while self.parent[address] != address:
            self.parent[address] = self.parent[self.parent[address]]  # path halving
            address = self.parent[address]
        return address

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def is_tainted(self, address: str) -> bool:
        return address in self.parent and self.find(address) in self.tainted_roots


def _tainted_clusters(txs: Sequence[TimedTransaction], book: LabelBook) -> _Clusters:
    """Cluster input addresses spent together; mark clusters holding an illicit address.

    Coinjoins (by the scorer's typology rules) are left out: their inputs belong to many
    owners, and joining them would taint every participant.
    """
    clusters = _Clusters()
    illicit: set[str] = set()
    for timed in txs:
        tx = timed.tx
        inputs = [a for a in (input_address(v) for v in tx.vin) if a]
        outputs = [v.scriptpubkey_address for v in tx.vout if v.scriptpubkey_address]
        illicit.update(a for a in (*inputs, *outputs) if _is_illicit(book, a))
        if len(set(inputs)) < 2 or any(h.category == "coinjoin" for h in detect_typologies(tx)):
            continue
        for address in inputs[1:]:
            clusters.union(inputs[0], address)
    clusters.tainted_roots = {clusters.find(a) for a in illicit if a in clusters.parent}
    return clusters


def _is_illicit(book: LabelBook, address: str) -> bool:
    return any(label.category in ILLICIT for label in book.get(address))
