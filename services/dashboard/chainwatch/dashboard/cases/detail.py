"""Everything known about one alert, for the case page and the regulator's report.

The decision as recorded (with its place in the hash chain), its features in words, the
transaction, the explanation when the explainer has stored one, the case's status and its
whole history: assignments and verdicts, oldest first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from chainwatch.dashboard.cases.archive import TransactionArchive
from chainwatch.dashboard.cases.explanations import Explanation, load_explanation
from chainwatch.dashboard.cases.rules import CaseStatus
from chainwatch.shared.feature_specs import FEATURE_SPECS, describe
from chainwatch.shared.schemas import ScoredTransaction, Transaction

_SPECS = {spec.name: spec for spec in FEATURE_SPECS}
_JSON_COLUMNS = ("tiers", "rule_hits", "exposure", "features", "model_versions")


@dataclass(frozen=True)
class FeatureValue:
    """One feature of the decision: its column, how people call it, its unit and value."""

    name: str
    label: str
    unit: str
    value: float | None
    text: str
    """The value in words with its unit, e.g. "fee rate 12.4 sat/vB"."""


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class VerdictEntry:
    verdict_id: str
    verdict: str
    reason_code: str
    note: str
    analyst: str
    analyst_role: str
    decided_at: datetime
    status_before: str
    status_after: str
    published_at: datetime | None
    """When the outbox put it on the bus; None while it waits (NATS away)."""


@dataclass(frozen=True)
class CaseDetail:
    decision: ScoredTransaction
    chain_seq: int
    row_hash: str
    recorded_at: datetime
    status: CaseStatus
    disposition: str | None
    assignee: str | None
    features: list[FeatureValue]
    events: list[CaseEvent]
    verdicts: list[VerdictEntry]
    explanation: Explanation | None
    tx: Transaction | None

    @property
    def txid(self) -> str:
        return self.decision.txid


async def load_case(
    pool: asyncpg.Pool, archive: TransactionArchive, txid: str
) -> CaseDetail | None:
    """The case of the flagged decision ``txid``, or None when there is no such alert."""
    row = await pool.fetchrow(
        """
        SELECT d.*, coalesce(c.status, 'open') AS case_status, c.disposition, c.assignee
        FROM audit_decision d LEFT JOIN alert_case c ON c.txid = d.txid
        WHERE d.txid = $1 AND d.flagged
        """,
        txid,
    )
    if row is None:
        return None
    decision = decision_from_record(row)

    events = await pool.fetch(
        "SELECT at, actor, action, detail FROM case_event WHERE txid = $1 ORDER BY id", txid
    )
    verdicts = await pool.fetch(
        """
        SELECT v.*, o.published_at FROM review_verdict v
        LEFT JOIN verdict_outbox o ON o.verdict_id = v.verdict_id
        WHERE v.txid = $1 ORDER BY v.id
        """,
        txid,
    )
    return CaseDetail(
        decision=decision,
        chain_seq=row["chain_seq"],
        row_hash=bytes(row["row_hash"]).hex(),
        recorded_at=row["recorded_at"],
        status=CaseStatus(row["case_status"]),
        disposition=row["disposition"],
        assignee=row["assignee"],
        features=feature_values(decision.features),
        events=[
            CaseEvent(e["at"], e["actor"], e["action"], json.loads(e["detail"])) for e in events
        ],
        verdicts=[
            VerdictEntry(
                verdict_id=str(v["verdict_id"]),
                verdict=v["verdict"],
                reason_code=v["reason_code"],
                note=v["note"],
                analyst=v["analyst"],
                analyst_role=v["analyst_role"],
                decided_at=v["decided_at"],
                status_before=v["status_before"],
                status_after=v["status_after"],
                published_at=v["published_at"],
            )
            for v in verdicts
        ],
        explanation=await load_explanation(pool, txid),
        tx=await archive.get(txid),
    )


def decision_from_record(row: asyncpg.Record) -> ScoredTransaction:
    """The decision of an ``audit_decision`` row, as it was published."""
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - a Record is no dict
    for column in _JSON_COLUMNS:
        if isinstance(values[column], str):
            values[column] = json.loads(values[column])
    return ScoredTransaction.model_validate(
        {
            **values,
            "value_out": values["value_out_sat"],
            "fee": values["fee_sat"],
        }
    )


def feature_values(features: dict[str, float | None]) -> list[FeatureValue]:
    """The decision's features in the registry's order, with label, unit and words."""
    values = []
    for name, value in features.items():
        spec = _SPECS.get(name)
        if spec is None:
            values.append(FeatureValue(name, name, "", value, f"{name} {value}"))
            continue
        number = math.nan if value is None else float(value)
        values.append(FeatureValue(name, spec.label, spec.unit, value, describe(name, number)))
    order = {spec.name: i for i, spec in enumerate(FEATURE_SPECS)}
    values.sort(key=lambda f: order.get(f.name, len(order)))
    return values
