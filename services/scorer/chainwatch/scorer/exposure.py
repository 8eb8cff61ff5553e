"""Exposure: how much of a transaction's value is traceable to illicit categories.

Direct exposure (hops 0) comes from labelled addresses: an input spending from one ("from")
or an output paying one ("to"). Indirect exposure follows the money: every output of a
transaction with "from" exposure carries a *taint* (category, hops + 1, share), and a later
transaction that spends such an output inherits it. An output paying a labelled address
carries a hops-0 taint, so spending it counts as direct even when the source gave no
prevouts.

Share of value: for "from", the value-weighted share of the inputs that trace to the
category; for "to", the share of the output value paid to it. Exposure stops propagating
after ``max_hops`` or below ``min_share``. Taints live in a ``TaintStore``: in memory
(bounded, least recently used dropped first) or in PostgreSQL, shared by scorer replicas.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import asyncpg

from chainwatch.scorer.labels import ILLICIT, LabelBook
from chainwatch.shared.schemas import Exposure, Transaction


@dataclass(frozen=True)
class Taint:
    """Exposure an output passes to whoever spends it."""

    category: str
    hops: int
    share: float
    source_txid: str
    value_sat: int


@dataclass(frozen=True)
class ExposureParams:
    max_hops: int = 4
    """Deepest hop count recorded; beyond it exposure is considered diluted."""
    min_share: float = 0.01
    """Exposure below this share of value is not propagated."""


class TaintStore(Protocol):
    async def lookup(self, outpoints: Sequence[str]) -> dict[str, tuple[Taint, ...]]: ...

    async def save(self, taints: Mapping[str, tuple[Taint, ...]]) -> None: ...


class MemoryTaintStore:
    """Taints in this process, at most ``max_outpoints``; the least recently used go first."""

    def __init__(self, max_outpoints: int = 1_000_000) -> None:
        self.max_outpoints = max_outpoints
        self._taints: OrderedDict[str, tuple[Taint, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._taints)

    async def lookup(self, outpoints: Sequence[str]) -> dict[str, tuple[Taint, ...]]:
        found = {}
        for outpoint in outpoints:
            taints = self._taints.get(outpoint)
            if taints is not None:
                self._taints.move_to_end(outpoint)
                found[outpoint] = taints
        return found

    async def save(self, taints: Mapping[str, tuple[Taint, ...]]) -> None:
        self._taints.update(taints)
        while len(self._taints) > self.max_outpoints:
            self._taints.popitem(last=False)


class PostgresTaintStore:
    """Taints in the ``exposure_taint`` table, so that every scorer replica sees them.

    Rows older than ``retention_days`` are pruned by ``prune``; exposure that old has long
    been diluted or confirmed, and the table stays the size of recent exposed traffic.
    """

    PRUNE_LOCK_ID = 0x63777470  # "cwtp": one replica prunes at a time

    def __init__(self, pool: asyncpg.Pool, retention_days: float = 30.0) -> None:
        self.pool = pool
        self.retention_days = retention_days

    async def prune(self) -> int:
        """Delete expired taints (unless another replica is doing it); return how many."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self.PRUNE_LOCK_ID):
                return 0
            status = await conn.execute(
                "DELETE FROM exposure_taint WHERE created_at < now() - make_interval(days => $1)",
                self.retention_days,
            )
        return int(status.split()[-1])

    async def lookup(self, outpoints: Sequence[str]) -> dict[str, tuple[Taint, ...]]:
        if not outpoints:
            return {}
        rows = await self.pool.fetch(
            "SELECT outpoint, taints FROM exposure_taint WHERE outpoint = ANY($1::text[])",
            list(outpoints),
        )
        return {r["outpoint"]: tuple(Taint(**t) for t in json.loads(r["taints"])) for r in rows}

    async def save(self, taints: Mapping[str, tuple[Taint, ...]]) -> None:
        if not taints:
            return
        await self.pool.execute(
            """
            INSERT INTO exposure_taint (outpoint, taints)
            SELECT * FROM unnest($1::text[], $2::jsonb[])
            ON CONFLICT (outpoint) DO NOTHING
            """,
            list(taints),
            [json.dumps([asdict(t) for t in ts]) for ts in taints.values()],
        )


@dataclass
class _Trace:
    """Value of one category flowing through a transaction, built input by input."""

    value_sat: float = 0.0
    hops: int = 1 << 30
    via_txid: str | None = None
    addresses: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)


class ExposureTracker:
    def __init__(
        self, labels: LabelBook, store: TaintStore, params: ExposureParams | None = None
    ) -> None:
        self.labels = labels
        self.store = store
        self.params = params or ExposureParams()

    async def assess(self, txs: Sequence[Transaction]) -> list[list[Exposure]]:
        """Exposure of each transaction, in order; records the taints their outputs carry.

        A transaction may spend an output created earlier in the same batch: the batch is
        walked in order with its own taints visible to what follows.
        """
        created_here = {f"{tx.txid}:{n}" for tx in txs for n in range(len(tx.vout))}
        spent = [f"{i.txid}:{i.vout}" for tx in txs for i in tx.vin if not i.is_coinbase]
        known = await self.store.lookup([o for o in spent if o not in created_here])

        new_taints: dict[str, tuple[Taint, ...]] = {}
        results = []
        for tx in txs:
            exposures, taints = self._assess_one(tx, known)
            results.append(exposures)
            known.update(taints)
            new_taints.update(taints)
        await self.store.save(new_taints)
        return results

    def _assess_one(
        self, tx: Transaction, known: Mapping[str, tuple[Taint, ...]]
    ) -> tuple[list[Exposure], dict[str, tuple[Taint, ...]]]:
        incoming: dict[str, _Trace] = defaultdict(_Trace)
        for vin in tx.vin:
            if vin.is_coinbase:
                continue
            carried = known.get(f"{vin.txid}:{vin.vout}", ())
            value = vin.prevout.value if vin.prevout is not None else None
            if value is None:
                value = max((t.value_sat for t in carried), default=0)
            # Per category, the input counts once, with its largest traced share: a labelled
            # address's own output and the exposure it carried are the same satoshis.
            traced: dict[str, float] = {}
            address = vin.prevout.scriptpubkey_address if vin.prevout is not None else None
            for label in self.labels.get(address):
                if label.category in ILLICIT:
                    traced[label.category] = 1.0
                    trace = incoming[label.category]
                    trace.hops = 0
                    trace.addresses.add(address or "")
                    trace.entities.add(label.entity)
            for taint in carried:
                traced[taint.category] = max(traced.get(taint.category, 0.0), taint.share)
                trace = incoming[taint.category]
                if taint.hops < trace.hops:
                    trace.hops, trace.via_txid = taint.hops, taint.source_txid
            for category, fraction in traced.items():
                incoming[category].value_sat += fraction * value

        outgoing: dict[str, _Trace] = defaultdict(_Trace)
        taints: dict[str, list[Taint]] = defaultdict(list)
        for n, vout in enumerate(tx.vout):
            for label in self.labels.get(vout.scriptpubkey_address):
                if label.category in ILLICIT:
                    trace = outgoing[label.category]
                    trace.value_sat += vout.value
                    trace.hops = 0
                    trace.addresses.add(vout.scriptpubkey_address or "")
                    trace.entities.add(label.entity)
                    taints[f"{tx.txid}:{n}"].append(
                        Taint(label.category, 0, 1.0, tx.txid, vout.value)
                    )

        value_in = _value_in(tx)
        value_out = tx.value_out
        exposures = []
        for category, trace in sorted(incoming.items()):
            share = min(1.0, trace.value_sat / value_in) if value_in > 0 else 1.0
            if trace.hops > self.params.max_hops or (
                trace.hops > 0 and share < self.params.min_share
            ):
                continue
            exposures.append(_exposure(category, "from", trace, share))
            if trace.hops + 1 <= self.params.max_hops and share >= self.params.min_share:
                for n, vout in enumerate(tx.vout):
                    taints[f"{tx.txid}:{n}"].append(
                        Taint(category, trace.hops + 1, share, tx.txid, vout.value)
                    )
        for category, trace in sorted(outgoing.items()):
            share = min(1.0, trace.value_sat / value_out) if value_out > 0 else 1.0
            exposures.append(_exposure(category, "to", trace, share))

        return exposures, {outpoint: tuple(ts) for outpoint, ts in taints.items()}


def _exposure(
    category: str, direction: Literal["from", "to"], trace: _Trace, share: float
) -> Exposure:
    return Exposure(
        category=category,
        direction=direction,
        hops=trace.hops,
        share_of_value=round(share, 6),
        via_txid=trace.via_txid,
        addresses=sorted(a for a in trace.addresses if a),
        entities=sorted(trace.entities),
    )


def _value_in(tx: Transaction) -> int:
    """Total input value: from prevouts when all are known, else outputs plus fee."""
    if tx.prevouts_known and not tx.is_coinbase:
        return sum(i.prevout.value for i in tx.vin if i.prevout is not None)
    return tx.value_out + (tx.fee or 0)
