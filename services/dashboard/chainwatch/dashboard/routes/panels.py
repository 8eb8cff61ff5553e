"""The service panels: Fees, Lightning and Onboarding, each drawn from its service's JSON.

A panel whose service is not configured or does not answer still renders (200), saying so;
see ``upstreams``. Scoring an applicant changes something (a decision is written to the
onboarding audit trail), so it is a CSRF-checked form of a signed-in analyst.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from chainwatch.dashboard import panel_charts
from chainwatch.dashboard.auth.users import Role
from chainwatch.dashboard.deps import FormDep, ResourcesDep, require_role
from chainwatch.dashboard.panels import (
    applicant_request,
    fees_view,
    field_errors_by_name,
    form_fields,
    lightning_view,
    reason_contributions,
    recent_decisions,
    recorded_decision,
    score_applicant,
)
from chainwatch.dashboard.templating import templates
from chainwatch.dashboard.upstreams import Upstream, UpstreamUnavailable, upstreams
from chainwatch.shared.onboarding import OnboardingDecision, OnboardingError

router = APIRouter(include_in_schema=False)

AnalystDep = Depends(require_role(Role.ANALYST))


def _upstream(resources: ResourcesDep, index: int) -> Upstream:
    return upstreams(resources.settings)[index]


def _page(request: Request, name: str, route: str, upstream: Upstream, **context: Any) -> Any:
    return templates.TemplateResponse(
        request,
        name,
        {
            "active_route": route,
            "service": upstream.name,
            "configured": upstream.configured,
            "charts": panel_charts,
            **context,
        },
    )


@router.get("/fees", name="fees_page", response_class=HTMLResponse, dependencies=[AnalystDep])
async def fees_page(request: Request, resources: ResourcesDep) -> HTMLResponse:
    """Recommended fee rates per confirmation target, and how they fared in recent blocks."""
    fees = _upstream(resources, 0)
    context: dict[str, Any] = {"unavailable": None}
    if fees.configured:
        try:
            context.update(await fees_view(fees))
        except UpstreamUnavailable as exc:
            context["unavailable"] = exc.reason
    response: HTMLResponse = _page(request, "fees.html", "fees_page", fees, **context)
    return response


@router.get(
    "/lightning", name="lightning_page", response_class=HTMLResponse, dependencies=[AnalystDep]
)
async def lightning_page(request: Request, resources: ResourcesDep) -> HTMLResponse:
    """The latest Lightning health report: score, concentration, reachability, changes."""
    lightning = _upstream(resources, 1)
    context: dict[str, Any] = {"unavailable": None}
    if lightning.configured:
        try:
            context.update(await lightning_view(lightning))
        except UpstreamUnavailable as exc:
            context["unavailable"] = exc.reason
    response: HTMLResponse = _page(
        request, "lightning.html", "lightning_page", lightning, **context
    )
    return response


async def _onboarding_page(
    request: Request,
    onboarding: Upstream,
    *,
    values: dict[str, str] | None = None,
    decision: OnboardingDecision | None = None,
    error: OnboardingError | None = None,
    not_scored: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "unavailable": None,
        "not_scored": not_scored,
        "fields": [],
        "recent": [],
        "values": values or {},
        "decision": decision,
        "contributions": reason_contributions(decision) if decision else [],
        "error": error,
        "field_errors": field_errors_by_name(error) if error else {},
    }
    if onboarding.configured:
        try:
            context["fields"] = await form_fields(onboarding)
            context["recent"] = await recent_decisions(onboarding)
        except UpstreamUnavailable as exc:
            context["unavailable"] = exc.reason
    response: HTMLResponse = _page(
        request, "onboarding.html", "onboarding_page", onboarding, **context
    )
    response.status_code = status_code
    return response


@router.get(
    "/onboarding", name="onboarding_page", response_class=HTMLResponse, dependencies=[AnalystDep]
)
async def onboarding_page(request: Request, resources: ResourcesDep) -> HTMLResponse:
    """The applicant form and the latest onboarding decisions."""
    return await _onboarding_page(request, _upstream(resources, 2))


@router.post(
    "/onboarding", name="onboarding_score", response_class=HTMLResponse, dependencies=[AnalystDep]
)
async def onboarding_score(
    request: Request, resources: ResourcesDep, form: FormDep
) -> HTMLResponse:
    """Score the submitted applicant; show the decision, or the form with what was refused."""
    onboarding = _upstream(resources, 2)
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    if not onboarding.configured:
        return await _onboarding_page(request, onboarding, values=values, status_code=503)
    try:
        fields = await form_fields(onboarding)
        result = await score_applicant(onboarding, applicant_request(fields, values))
    except UpstreamUnavailable as exc:
        return await _onboarding_page(
            request, onboarding, values=values, not_scored=exc.reason, status_code=503
        )
    if isinstance(result, OnboardingError):
        return await _onboarding_page(
            request, onboarding, values=values, error=result, status_code=422
        )
    return await _onboarding_page(request, onboarding, decision=result)


@router.get(
    "/onboarding/decisions/{decision_id}",
    name="onboarding_decision",
    response_class=HTMLResponse,
    dependencies=[AnalystDep],
)
async def onboarding_decision(
    request: Request, resources: ResourcesDep, decision_id: uuid.UUID
) -> HTMLResponse:
    """One recorded decision, as the onboarding audit trail holds it."""
    onboarding = _upstream(resources, 2)
    context: dict[str, Any] = {"unavailable": None, "decision": None, "decision_id": decision_id}
    if onboarding.configured:
        try:
            decision = await recorded_decision(onboarding, str(decision_id))
        except UpstreamUnavailable as exc:
            context["unavailable"] = exc.reason
        else:
            context["decision"] = decision
            context["contributions"] = reason_contributions(decision) if decision else []
    response: HTMLResponse = _page(
        request, "onboarding_decision.html", "onboarding_page", onboarding, **context
    )
    if context["decision"] is None and context["unavailable"] is None and onboarding.configured:
        response.status_code = 404
    return response
