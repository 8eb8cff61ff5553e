"""The case page, its two forms (assignment and verdict), and the printable report.

Every form posts back here and, once done, redirects to the case page (post, redirect,
get), so a reload never sends a form twice. A verdict form also carries a verdict id drawn
with the page: sent twice, it still records one verdict.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from chainwatch.dashboard.auth.users import Role, User, list_users
from chainwatch.dashboard.cases import store
from chainwatch.dashboard.cases.detail import CaseDetail, load_case
from chainwatch.dashboard.cases.rules import CaseStatus
from chainwatch.dashboard.deps import FormDep, Resources, ResourcesDep, SessionDep
from chainwatch.dashboard.errors import NotFoundError, UserError
from chainwatch.dashboard.report_style import REPORT_CSP, REPORT_CSS
from chainwatch.dashboard.templating import templates
from chainwatch.shared.verdicts import ReasonCode, Verdict

router = APIRouter(include_in_schema=False)

TXID_PATTERN = re.compile(r"[0-9a-f]{64}")


async def case_or_404(resources: Resources, txid: str) -> CaseDetail:
    case = None
    if TXID_PATTERN.fullmatch(txid):
        case = await load_case(resources.pool, resources.archive, txid)
    if case is None:
        raise NotFoundError(f"no alert for transaction {txid}")
    return case


@router.get("/cases/{txid}", name="case_page", response_class=HTMLResponse)
async def case_page(
    request: Request, resources: ResourcesDep, session: SessionDep, txid: str
) -> HTMLResponse:
    case = await case_or_404(resources, txid)
    users = await list_users(resources.pool, active_only=True)
    return templates.TemplateResponse(
        request,
        "case.html",
        {
            "active_route": "alerts_page",
            "case": case,
            "users": users,
            "verdict_id": uuid.uuid4(),
            "verdicts": list(Verdict),
            "can_decide": can_decide(case, session.user),
            "saved": request.query_params.get("saved", ""),
        },
    )


def can_decide(case: CaseDetail, user: User) -> bool:
    """Whether the verdict form is offered: escalated and closed cases are a supervisor's."""
    if case.status in (CaseStatus.ESCALATED, CaseStatus.CLOSED):
        return user.role.at_least(Role.SUPERVISOR)
    return True


@router.post("/cases/{txid}/assign", name="case_assign")
async def case_assign(
    resources: ResourcesDep, session: SessionDep, form: FormDep, txid: str
) -> Response:
    assignee = form.get("assignee", "").strip() or None
    if assignee == "me":
        assignee = session.user.username
    state = await store.assign(resources.pool, txid, assignee, session.user)
    resources.hub.broadcast(json.dumps(state.frame()))
    return RedirectResponse(f"/cases/{txid}?saved=assignment", status.HTTP_303_SEE_OTHER)


@router.post("/cases/{txid}/verdict", name="case_verdict")
async def case_verdict(
    resources: ResourcesDep, session: SessionDep, form: FormDep, txid: str
) -> Response:
    try:
        verdict = Verdict(form.get("verdict", ""))
        reason = ReasonCode(form.get("reason_code", ""))
        verdict_id = uuid.UUID(form.get("verdict_id", ""))
    except ValueError:
        raise UserError("choose a verdict and a reason") from None
    recorded = await store.record_verdict(
        resources.pool,
        txid,
        verdict=verdict,
        reason=reason,
        note=form.get("note", ""),
        actor=session.user,
        verdict_id=verdict_id,
    )
    if not recorded.duplicate:
        resources.outbox.wake()
        resources.hub.broadcast(json.dumps(recorded.state.frame()))
    return RedirectResponse(f"/cases/{txid}?saved=verdict", status.HTTP_303_SEE_OTHER)


@router.get("/cases/{txid}/report", name="case_report", response_class=HTMLResponse)
async def case_report(
    request: Request, resources: ResourcesDep, session: SessionDep, txid: str
) -> HTMLResponse:
    """A self-contained HTML report of the case: readable, printable and storable anywhere."""
    case = await case_or_404(resources, txid)
    response = templates.TemplateResponse(
        request,
        "report.html",
        {
            "case": case,
            "generated_at": datetime.now(UTC),
            "generated_by": session.user,
            "report_css": REPORT_CSS,
        },
    )
    # The report carries its own stylesheet inline, so a saved copy needs nothing else;
    # this page alone may use that one stylesheet, by hash, and nothing from anywhere.
    response.headers["content-security-policy"] = REPORT_CSP
    if request.query_params.get("download"):
        response.headers["content-disposition"] = (
            f'attachment; filename="chainwatch-case-{txid}.html"'
        )
    return response
