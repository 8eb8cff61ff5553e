"""Audit search: every decision, flagged or not, by txid, address, analyst, band and date.

An address matches a decision when it is one of the labelled addresses of its rule hits or
exposure, or an input or output address of its archived transaction (flagged decisions;
see ``cases.archive``). Each result carries the case's status and the latest verdict. The
CSV export runs the same query through a server-side cursor, so a large export streams.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from chainwatch.shared.schemas import RiskBand

_SELECT = """
SELECT d.txid, d.decided_at, d.risk_score, d.band, d.flagged, d.deciding_tier,
       d.decision_reason, d.rule_hits, d.value_out_sat, d.fee_sat, d.model_versions,
       d.chain_seq, d.row_hash,
       CASE WHEN d.flagged THEN coalesce(c.status, 'open') END AS status, c.disposition,
       c.assignee, v.verdict, v.reason_code, v.analyst, v.decided_at AS verdict_at
FROM audit_decision d
LEFT JOIN alert_case c ON c.txid = d.txid
LEFT JOIN LATERAL (
    SELECT verdict, reason_code, analyst, decided_at FROM review_verdict r
    WHERE r.txid = d.txid ORDER BY r.id DESC LIMIT 1
) v ON true
WHERE ($1::text IS NULL OR d.txid LIKE $1 || '%')
  AND ($2::text IS NULL
       OR d.rule_hits @> jsonb_build_array(jsonb_build_object('addresses', jsonb_build_array($2)))
       OR d.exposure @> jsonb_build_array(jsonb_build_object('addresses', jsonb_build_array($2)))
       OR d.txid IN (SELECT txid FROM case_transaction WHERE addresses @> ARRAY[$2::text]))
  AND ($3::text IS NULL OR EXISTS (
       SELECT 1 FROM review_verdict r WHERE r.txid = d.txid AND r.analyst = $3))
  AND ($4::text IS NULL OR d.band = $4)
  AND ($5::timestamptz IS NULL OR d.decided_at >= $5)
  AND ($6::timestamptz IS NULL OR d.decided_at < $6)
  AND (NOT $7::bool OR d.flagged)
ORDER BY d.decided_at DESC, d.id DESC
"""

CSV_COLUMNS = (
    "txid",
    "decided_at",
    "band",
    "risk_score",
    "flagged",
    "deciding_tier",
    "decision_reason",
    "rules",
    "value_out_sat",
    "fee_sat",
    "model_versions",
    "case_status",
    "disposition",
    "assignee",
    "latest_verdict",
    "verdict_reason_code",
    "verdict_analyst",
    "verdict_at",
    "audit_chain_seq",
    "audit_row_hash",
)


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; None (or False) means any."""

    txid: str | None = None
    """A txid, or the start of one (at least 8 hex digits)."""
    address: str | None = None
    analyst: str | None = None
    band: RiskBand | None = None
    since: date | None = None
    until: date | None = None
    """Inclusive: decisions on this UTC day are found."""
    flagged_only: bool = False

    @property
    def is_empty(self) -> bool:
        criteria = (self.txid, self.address, self.analyst, self.band, self.since, self.until)
        return not any(criteria) and not self.flagged_only

    def params(self) -> list[object]:
        return [
            self.txid,
            self.address,
            self.analyst,
            self.band.value if self.band else None,
            datetime.combine(self.since, time(), UTC) if self.since else None,
            datetime.combine(self.until, time(), UTC) + timedelta(days=1) if self.until else None,
            self.flagged_only,
        ]


async def search(
    pool: asyncpg.Pool, query: AuditQuery, *, limit: int, offset: int = 0
) -> list[asyncpg.Record]:
    """Up to ``limit`` decisions matching ``query``, newest first."""
    rows: list[asyncpg.Record] = await pool.fetch(
        f"{_SELECT} LIMIT {limit:d} OFFSET {offset:d}",
        *query.params(),
    )
    return rows


async def export_csv(pool: asyncpg.Pool, query: AuditQuery, *, max_rows: int) -> AsyncIterator[str]:
    """The CSV of every decision matching ``query`` (at most ``max_rows``), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async with pool.acquire() as conn, conn.transaction():
        cursor = conn.cursor(f"{_SELECT} LIMIT {max_rows:d}", *query.params())
        async for row in cursor:
            writer.writerow(csv_row(row))
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def csv_row(row: Mapping[str, Any]) -> list[str]:
    rules = "; ".join(
        f"{h['rule']}:{h['category']}:{h['share_of_value']:.2f}" for h in _json(row["rule_hits"])
    )
    versions = "; ".join(f"{k}={v}" for k, v in sorted(_json(row["model_versions"]).items()))
    values: list[object] = [
        row["txid"],
        row["decided_at"].astimezone(UTC).isoformat(),
        row["band"],
        f"{row['risk_score']:.6f}",
        str(row["flagged"]).lower(),
        row["deciding_tier"],
        row["decision_reason"],
        rules,
        row["value_out_sat"],
        "" if row["fee_sat"] is None else row["fee_sat"],
        versions,
        row["status"] or "",
        row["disposition"] or "",
        row["assignee"] or "",
        row["verdict"] or "",
        row["reason_code"] or "",
        row["analyst"] or "",
        row["verdict_at"].astimezone(UTC).isoformat() if row["verdict_at"] else "",
        row["chain_seq"],
        bytes(row["row_hash"]).hex(),
    ]
    return [spreadsheet_safe(str(v)) for v in values]


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ gets a quote mark."""
    if cell and cell[0] in "=+-@\t\r":
        return "'" + cell
    return cell


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
