"""The alert queue: flagged decisions with their case state, filtered, sorted and paged.

Every value reaches PostgreSQL as a bind parameter; an unset filter is a NULL parameter
that its condition lets through, so the text of the query never depends on the input.
The ``ORDER BY`` is one of the fixed clauses of ``SORTS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from chainwatch.dashboard.cases.rules import CaseStatus
from chainwatch.shared.schemas import RiskBand, Tier

StatusFilter = Literal["unresolved", "all", "open", "in_review", "escalated", "closed"]
Sort = Literal["newest", "oldest", "score", "band"]

SORTS: dict[str, str] = {
    "newest": "d.decided_at DESC, d.id DESC",
    "oldest": "d.decided_at ASC, d.id ASC",
    "score": "d.risk_score DESC, d.decided_at DESC, d.id DESC",
    "band": "array_position(ARRAY['Severe','High','Medium','Low'], d.band),"
    " d.decided_at DESC, d.id DESC",
}
COUNT_CAP = 10_000
"""Counting stops here; the queue says "10,000+" rather than scan the whole trail."""


@dataclass(frozen=True)
class AlertFilter:
    """What the queue shows; None means any."""

    band: RiskBand | None = None
    tier: Tier | None = None
    rule: str | None = None
    category: str | None = None
    status: StatusFilter = "unresolved"
    assignee: str | None = None
    sort: Sort = "newest"

    def params(self) -> list[object]:
        return [
            self.band.value if self.band else None,
            self.tier.value if self.tier else None,
            self.rule,
            self.category,
            self.status,
            self.assignee,
        ]


_FROM_WHERE = """
FROM audit_decision d LEFT JOIN alert_case c ON c.txid = d.txid
WHERE d.flagged
  AND ($1::text IS NULL OR d.band = $1)
  AND ($2::text IS NULL OR d.deciding_tier = $2)
  AND ($3::text IS NULL OR d.rule_hits @> jsonb_build_array(jsonb_build_object('rule', $3::text)))
  AND ($4::text IS NULL
       OR d.rule_hits @> jsonb_build_array(jsonb_build_object('category', $4::text))
       OR d.exposure @> jsonb_build_array(jsonb_build_object('category', $4::text)))
  AND (CASE $5::text
         WHEN 'all' THEN true
         WHEN 'unresolved' THEN coalesce(c.status, 'open') <> 'closed'
         ELSE coalesce(c.status, 'open') = $5 END)
  AND ($6::text IS NULL OR c.assignee = $6)
"""

_COLUMNS = """
d.txid, d.decided_at, d.risk_score, d.band, d.deciding_tier, d.decision_reason, d.rule_hits,
d.exposure, d.value_out_sat, d.fee_sat, d.vsize, d.anomaly_score,
coalesce(c.status, 'open') AS status, c.disposition, c.assignee
"""


@dataclass(frozen=True)
class Reason:
    """One line of why an alert was raised: "sanctions · direct_exposure · 41% of value"."""

    category: str
    rule: str
    share_of_value: float
    hops: int | None


@dataclass(frozen=True)
class AlertRow:
    txid: str
    decided_at: datetime
    risk_score: float
    band: str
    deciding_tier: str
    decision_reason: str
    reasons: list[Reason]
    value_out_sat: int
    fee_sat: int | None
    vsize: int
    anomaly_score: float | None
    status: CaseStatus
    disposition: str | None
    assignee: str | None

    @property
    def age_s(self) -> float:
        return (datetime.now(UTC) - self.decided_at).total_seconds()

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> AlertRow:
        return cls(
            txid=row["txid"],
            decided_at=row["decided_at"],
            risk_score=row["risk_score"],
            band=row["band"],
            deciding_tier=row["deciding_tier"],
            decision_reason=row["decision_reason"],
            reasons=top_reasons(_json(row["rule_hits"]), _json(row["exposure"])),
            value_out_sat=row["value_out_sat"],
            fee_sat=row["fee_sat"],
            vsize=row["vsize"],
            anomaly_score=row["anomaly_score"],
            status=CaseStatus(row["status"]),
            disposition=row["disposition"],
            assignee=row["assignee"],
        )


def top_reasons(
    rule_hits: Sequence[Mapping[str, Any]], exposure: Sequence[Mapping[str, Any]], limit: int = 3
) -> list[Reason]:
    """The strongest reasons first: rule hits by share of value, then indirect exposure."""
    reasons = [
        Reason(h["category"], h["rule"], float(h.get("share_of_value", 0.0)), None)
        for h in rule_hits
    ]
    reasons += [
        Reason(
            e["category"], f"exposure_{e.get('direction', 'from')}", e["share_of_value"], e["hops"]
        )
        for e in exposure
        if e.get("hops", 0) > 0
    ]
    reasons.sort(key=lambda r: (r.hops or 0, -r.share_of_value))
    return reasons[:limit]


@dataclass(frozen=True)
class AlertPage:
    rows: list[AlertRow]
    total: int
    """Alerts matching the filter, counted up to ``COUNT_CAP`` (then ``COUNT_CAP + 1``)."""
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // self.page_size))

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


async def list_alerts(
    pool: asyncpg.Pool, where: AlertFilter, *, page: int, page_size: int
) -> AlertPage:
    """One page (from 1) of the alerts ``where`` selects, in its sort order."""
    params = where.params()
    order = SORTS[where.sort]
    offset = (max(1, page) - 1) * page_size
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} {_FROM_WHERE} ORDER BY {order} LIMIT {page_size:d} OFFSET {offset:d}",
        *params,
    )
    total = await pool.fetchval(
        f"SELECT count(*) FROM (SELECT 1 {_FROM_WHERE} LIMIT {COUNT_CAP + 1:d}) t",  # noqa: S608
        *params,
    )
    return AlertPage([AlertRow.from_record(r) for r in rows], total, page, page_size)


async def get_alert(pool: asyncpg.Pool, txid: str) -> AlertRow | None:
    """The queue row of one alert, whatever its status; None when ``txid`` is no alert."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} {_FROM_WHERE} AND d.txid = $7",
        *AlertFilter(status="all").params(),
        txid,
    )
    return AlertRow.from_record(row) if row else None


async def filter_choices(pool: asyncpg.Pool) -> tuple[list[str], list[str]]:
    """The rule ids and categories that occur on recent alerts, for the filter menus."""
    rows = await pool.fetch(
        """
        SELECT DISTINCT h->>'rule' AS rule, h->>'category' AS category
        FROM (SELECT rule_hits FROM audit_decision WHERE flagged
              ORDER BY decided_at DESC LIMIT 5000) d,
             jsonb_array_elements(d.rule_hits) h
        """
    )
    rules = sorted({r["rule"] for r in rows if r["rule"]})
    categories = sorted({r["category"] for r in rows if r["category"]})
    return rules, categories


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
