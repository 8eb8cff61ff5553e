"""The JSON API for integrators who prefer HTTP to NATS, under ``/api/v1``.

Every endpoint needs a session (``POST /api/v1/auth/login`` sets its cookie); every
mutation also needs the session's CSRF token in the X-CSRF-Token header. The API
does what the pages do, with the same rules: an analyst cannot close an escalation here
either.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from chainwatch.dashboard import decisions
from chainwatch.dashboard.cases import store
from chainwatch.dashboard.cases.queue import AlertRow, list_alerts
from chainwatch.dashboard.deps import CsrfDep, ResourcesDep, SessionDep
from chainwatch.dashboard.operations import model_statuses
from chainwatch.dashboard.routes.alerts import alert_filter, page_number
from chainwatch.dashboard.routes.audit import audit_query
from chainwatch.dashboard.routes.cases import case_or_404
from chainwatch.dashboard.search import CSV_COLUMNS, csv_row, search
from chainwatch.dashboard.views import DecisionView
from chainwatch.shared.schemas import ScoredTransaction, Transaction
from chainwatch.shared.verdicts import (
    REASON_CODES,
    REASON_LABELS,
    ReasonCode,
    ReviewVerdict,
    Verdict,
)

router = APIRouter(prefix="/api/v1")


class RecentDecisions(BaseModel):
    """The latest decisions, newest first."""

    decisions: list[DecisionView]


@router.get(
    "/decisions/recent", name="recent_decisions", tags=["decisions"], summary="Recent decisions"
)
async def recent_decisions(
    resources: ResourcesDep,
    session: SessionDep,
    limit: Annotated[
        int, Query(ge=1, le=decisions.RECENT_LIMIT_MAX, description="How many, newest first")
    ] = 50,
    flagged: Annotated[
        bool | None, Query(description="true: only flagged decisions; false: only unflagged")
    ] = None,
) -> RecentDecisions:
    """The latest risk decisions from the audit trail, newest first."""
    found = await decisions.recent(resources.pool, limit=limit, flagged=flagged)
    return RecentDecisions(decisions=found)


class AlertOut(BaseModel):
    txid: str
    decided_at: AwareDatetime
    risk_score: float
    band: str
    deciding_tier: str
    decision_reason: str
    reasons: list[dict[str, Any]] = Field(description="Strongest first: category, rule, share")
    value_out_sat: int
    fee_sat: int | None
    status: str = Field(description="open, in_review, escalated or closed")
    disposition: str | None = Field(description="true_positive or false_positive once closed")
    assignee: str | None

    @classmethod
    def of(cls, row: AlertRow) -> AlertOut:
        return cls(
            **{k: getattr(row, k) for k in cls.model_fields if k not in ("reasons", "status")},
            reasons=[r.__dict__ for r in row.reasons],
            status=row.status.value,
        )


class AlertsOut(BaseModel):
    alerts: list[AlertOut]
    total: int = Field(description="Matching alerts, counted up to 10,001")
    page: int
    pages: int


@router.get("/alerts", name="api_alerts", tags=["alerts"], summary="The alert queue")
async def api_alerts(
    request: Request,
    resources: ResourcesDep,
    session: SessionDep,
    band: Annotated[str, Query(description="Low, Medium, High or Severe")] = "",
    tier: Annotated[str, Query(description="online, batch or heuristic")] = "",
    rule: Annotated[str, Query(description="A rule id, e.g. direct_exposure")] = "",
    category: Annotated[str, Query(description="A label category, e.g. sanctions")] = "",
    status: Annotated[
        str, Query(description="unresolved, all, open, in_review, escalated or closed")
    ] = "unresolved",
    assignee: Annotated[str, Query(description="A username, or 'me'")] = "",
    sort: Annotated[str, Query(description="newest, oldest, score or band")] = "newest",
    page: Annotated[int, Query(description="From 1, 50 alerts a page")] = 1,
) -> AlertsOut:
    """The alert queue: flagged decisions with their case state, as the queue page filters."""
    params = request.query_params
    found = await list_alerts(
        resources.pool,
        alert_filter(params, session.user.username),
        page=page_number(params),
        page_size=resources.settings.queue_page_size,
    )
    return AlertsOut(
        alerts=[AlertOut.of(row) for row in found.rows],
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


class VerdictOut(BaseModel):
    verdict_id: str
    verdict: str
    reason_code: str
    note: str
    analyst: str
    analyst_role: str
    decided_at: datetime
    published_at: datetime | None = Field(description="When it reached NATS; null while queued")


class CaseOut(BaseModel):
    decision: ScoredTransaction
    status: str
    disposition: str | None
    assignee: str | None
    audit_chain_seq: int
    audit_row_hash: str
    transaction: Transaction | None = Field(description="Null when no longer available")
    explanation: dict[str, Any] | None = Field(description="Null while pending")
    verdicts: list[VerdictOut]
    events: list[dict[str, Any]]


@router.get("/alerts/{txid}", name="api_case", tags=["alerts"], summary="One case")
async def api_case(resources: ResourcesDep, session: SessionDep, txid: str) -> CaseOut:
    """One alert with all its evidence and its history."""
    case = await case_or_404(resources, txid)
    return CaseOut(
        decision=case.decision,
        status=case.status.value,
        disposition=case.disposition,
        assignee=case.assignee,
        audit_chain_seq=case.chain_seq,
        audit_row_hash=case.row_hash,
        transaction=case.tx,
        explanation=json.loads(json.dumps(case.explanation.__dict__, default=_plain))
        if case.explanation
        else None,
        verdicts=[VerdictOut(**v.__dict__) for v in case.verdicts],
        events=[
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
            for e in case.events
        ],
    )


class AssignmentIn(BaseModel):
    assignee: str | None = Field(description="A username, or null to unassign")


class CaseStateOut(BaseModel):
    txid: str
    status: str
    disposition: str | None
    assignee: str | None


@router.post("/alerts/{txid}/assignment", name="api_assign", tags=["alerts"], summary="Assign")
async def api_assign(
    resources: ResourcesDep,
    session: CsrfDep,
    txid: str,
    body: Annotated[AssignmentIn, Body()],
) -> CaseStateOut:
    """Assign the alert; analysts may take it themselves, supervisors assign anyone."""
    state = await store.assign(resources.pool, txid, body.assignee, session.user)
    resources.hub.broadcast(json.dumps(state.frame()))
    frame = state.frame()
    return CaseStateOut(**{k: frame[k] for k in CaseStateOut.model_fields})


class VerdictIn(BaseModel):
    verdict: Verdict
    reason_code: ReasonCode
    note: str = Field("", max_length=store.NOTE_MAX_CHARS)
    verdict_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Send your own to make a retry safe"
    )


@router.post(
    "/alerts/{txid}/verdicts", name="api_verdict", tags=["alerts"], summary="Record a verdict"
)
async def api_verdict(
    resources: ResourcesDep,
    session: CsrfDep,
    txid: str,
    body: Annotated[VerdictIn, Body()],
) -> ReviewVerdict:
    """Record a verdict; it is published on chainwatch.review.verdict (the message is
    returned). Sending the same verdict_id again records nothing new."""
    recorded = await store.record_verdict(
        resources.pool,
        txid,
        verdict=body.verdict,
        reason=body.reason_code,
        note=body.note,
        actor=session.user,
        verdict_id=body.verdict_id,
    )
    if not recorded.duplicate:
        resources.outbox.wake()
        resources.hub.broadcast(json.dumps(recorded.state.frame()))
    return recorded.message


@router.get("/reason-codes", name="api_reason_codes", tags=["alerts"], summary="Reason codes")
async def api_reason_codes(session: SessionDep) -> dict[str, list[dict[str, str]]]:
    """The reason codes each verdict accepts, with their labels."""
    return {
        verdict.value: [{"code": c.value, "label": REASON_LABELS[c]} for c in codes]
        for verdict, codes in REASON_CODES.items()
    }


class AuditOut(BaseModel):
    columns: list[str]
    rows: list[list[str]] = Field(description="The CSV export's columns, newest first")


@router.get("/audit", name="api_audit", tags=["audit"], summary="Audit search")
async def api_audit(
    request: Request,
    resources: ResourcesDep,
    session: SessionDep,
    txid: Annotated[str, Query(description="A txid or its first 8+ hex digits")] = "",
    address: Annotated[str, Query(description="A Bitcoin address")] = "",
    analyst: Annotated[str, Query(description="Who recorded a verdict")] = "",
    band: Annotated[str, Query(description="Low, Medium, High or Severe")] = "",
    since: Annotated[str, Query(description="YYYY-MM-DD, UTC")] = "",
    until: Annotated[str, Query(description="YYYY-MM-DD, UTC, inclusive")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditOut:
    """Audit search over every decision, in the shape of the CSV export."""
    rows = await search(resources.pool, audit_query(request.query_params), limit=limit)
    return AuditOut(columns=list(CSV_COLUMNS), rows=[csv_row(r) for r in rows])


@router.get("/models", name="api_models", tags=["operations"], summary="Models")
async def api_models(resources: ResourcesDep, session: SessionDep) -> list[dict[str, Any]]:
    """Each model's serving version, promotion history and versions with metrics."""
    statuses = await model_statuses(resources.pool, resources.js, resources.settings.registry)
    return [json.loads(json.dumps(s.__dict__, default=_plain)) for s in statuses]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dict__"):
        return value.__dict__
    return str(value)
