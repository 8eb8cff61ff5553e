"""Changing a case: assignment and verdicts, each in one transaction with its history.

A verdict is written to ``review_verdict``, to the case's events and status, and to the
outbox of ``chainwatch.review.verdict`` in one transaction: it is recorded and queued for
the learner together, or not at all. The row of the case is locked (``FOR UPDATE``) for
the transaction, so two analysts acting at once are serialised and the second sees the
first's result.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic_core import to_json

from chainwatch.dashboard.auth.users import User
from chainwatch.dashboard.cases.rules import CaseStatus, check_assign, check_verdict, status_after
from chainwatch.dashboard.errors import NotFoundError, UserError
from chainwatch.shared.schemas import RiskBand, Tier
from chainwatch.shared.verdicts import REVIEW_VERDICT, ReasonCode, ReviewVerdict, Verdict

logger = logging.getLogger(__name__)

NOTE_MAX_CHARS = 4000


@dataclass(frozen=True)
class CaseState:
    """A case as it stands after a change, for the page and the live queue."""

    txid: str
    status: CaseStatus
    disposition: str | None
    assignee: str | None
    updated_at: datetime

    def frame(self) -> dict[str, Any]:
        return {
            "type": "case",
            "txid": self.txid,
            "status": self.status.value,
            "disposition": self.disposition,
            "assignee": self.assignee,
        }


async def _lock_case(conn: asyncpg.Connection, txid: str) -> asyncpg.Record:
    """The case row of the alert ``txid``, created open if new, locked for this transaction."""
    flagged = await conn.fetchval("SELECT flagged FROM audit_decision WHERE txid = $1", txid)
    if not flagged:
        raise NotFoundError(f"no alert for transaction {txid}")
    await conn.execute(
        "INSERT INTO alert_case (txid, status) VALUES ($1, 'open') ON CONFLICT DO NOTHING", txid
    )
    row = await conn.fetchrow("SELECT * FROM alert_case WHERE txid = $1 FOR UPDATE", txid)
    assert row is not None
    return row


def _state(row: asyncpg.Record) -> CaseState:
    return CaseState(
        txid=row["txid"],
        status=CaseStatus(row["status"]),
        disposition=row["disposition"],
        assignee=row["assignee"],
        updated_at=row["updated_at"],
    )


async def assign(pool: asyncpg.Pool, txid: str, assignee: str | None, actor: User) -> CaseState:
    """Assign the case to ``assignee`` (None: nobody); an open case goes in review."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _lock_case(conn, txid)
        check_assign(actor, row["assignee"], assignee)
        if assignee is not None:
            active = await conn.fetchval(
                "SELECT active FROM dashboard_user WHERE username = $1", assignee
            )
            if not active:
                raise UserError(f"no active user {assignee!r}")
        if assignee == row["assignee"]:
            return _state(row)

        status = CaseStatus(row["status"])
        if assignee is not None and status is CaseStatus.OPEN:
            status = CaseStatus.IN_REVIEW
        elif assignee is None and status is CaseStatus.IN_REVIEW:
            status = CaseStatus.OPEN
        updated = await conn.fetchrow(
            "UPDATE alert_case SET assignee = $2, status = $3, updated_at = now()"
            " WHERE txid = $1 RETURNING *",
            txid,
            assignee,
            status.value,
        )
        await _event(
            conn,
            txid,
            "assigned" if assignee else "unassigned",
            actor.username,
            {"from": row["assignee"], "to": assignee},
        )
    assert updated is not None
    logger.info("case %s assigned to %s by %s", txid, assignee, actor.username)
    return _state(updated)


@dataclass(frozen=True)
class RecordedVerdict:
    message: ReviewVerdict
    state: CaseState
    duplicate: bool
    """True when this verdict_id was recorded before (a form sent twice): nothing changed."""


async def record_verdict(
    pool: asyncpg.Pool,
    txid: str,
    *,
    verdict: Verdict,
    reason: ReasonCode,
    note: str,
    actor: User,
    verdict_id: uuid.UUID,
) -> RecordedVerdict:
    """Record a verdict, change the case's status and queue the message for the learner."""
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise UserError(f"a note may have at most {NOTE_MAX_CHARS} characters")

    async with pool.acquire() as conn, conn.transaction():
        row = await _lock_case(conn, txid)
        known = await conn.fetchrow(
            "SELECT payload FROM verdict_outbox WHERE verdict_id = $1", verdict_id
        )
        if known is not None:
            message = ReviewVerdict.model_validate_json(known["payload"])
            return RecordedVerdict(message, _state(row), duplicate=True)

        before = CaseStatus(row["status"])
        check_verdict(before, actor.role, verdict, reason)
        after = status_after(verdict)
        decision = await conn.fetchrow(
            "SELECT risk_score, band, deciding_tier, model_versions, feature_set_version,"
            " features FROM audit_decision WHERE txid = $1",
            txid,
        )
        assert decision is not None
        decided_at = datetime.now(UTC)
        message = ReviewVerdict(
            verdict_id=str(verdict_id),
            txid=txid,
            verdict=verdict,
            label=verdict.label,
            reason_code=reason,
            has_note=bool(note),
            analyst=actor.username,
            analyst_role=actor.role.value,
            decided_at=decided_at,
            risk_score=decision["risk_score"],
            band=RiskBand(decision["band"]),
            deciding_tier=Tier(decision["deciding_tier"]),
            model_versions=json.loads(decision["model_versions"]),
            feature_set_version=decision["feature_set_version"],
            features=json.loads(decision["features"]),
        )

        await conn.execute(
            """
            INSERT INTO review_verdict (verdict_id, txid, verdict, reason_code, note, analyst,
                analyst_role, decided_at, status_before, status_after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            verdict_id,
            txid,
            verdict.value,
            reason.value,
            note,
            actor.username,
            actor.role.value,
            decided_at,
            before.value,
            after.value,
        )
        await conn.execute(
            "INSERT INTO verdict_outbox (verdict_id, subject, payload) VALUES ($1, $2, $3)",
            verdict_id,
            REVIEW_VERDICT,
            to_json(message).decode(),
        )
        disposition = None if after is CaseStatus.ESCALATED else verdict.value
        updated = await conn.fetchrow(
            "UPDATE alert_case SET status = $2, disposition = $3, updated_at = now()"
            " WHERE txid = $1 RETURNING *",
            txid,
            after.value,
            disposition,
        )
        await _event(
            conn,
            txid,
            "verdict",
            actor.username,
            {"verdict": verdict.value, "reason_code": reason.value, "verdict_id": str(verdict_id)},
        )
    assert updated is not None
    logger.info("verdict %s on %s by %s", verdict.value, txid, actor.username)
    return RecordedVerdict(message, _state(updated), duplicate=False)


async def _event(
    conn: asyncpg.Connection, txid: str, action: str, actor: str, detail: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO case_event (txid, action, actor, detail) VALUES ($1, $2, $3, $4)",
        txid,
        action,
        actor,
        json.dumps(detail),
    )
