"""The alert queue page, and the one-row fragment its script fetches for a live alert.

The filter form submits with GET, so a filtered queue is a link an analyst can share. An
empty field means "any"; a value that is not one of the choices is ignored rather than
refused, so an old link still opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chainwatch.dashboard.auth.users import list_users
from chainwatch.dashboard.cases.queue import (
    AlertFilter,
    Sort,
    StatusFilter,
    filter_choices,
    get_alert,
    list_alerts,
)
from chainwatch.dashboard.deps import ResourcesDep, SessionDep
from chainwatch.dashboard.errors import NotFoundError
from chainwatch.dashboard.routes.cases import TXID_PATTERN
from chainwatch.dashboard.templating import templates
from chainwatch.shared.schemas import RiskBand, Tier

router = APIRouter(include_in_schema=False)

TEXT_MAX = 64


def alert_filter(params: Mapping[str, str], username: str) -> AlertFilter:
    """The queue's filter from query parameters; "me" as assignee is the signed-in user."""

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        value = params.get(name, "")
        return value if value in allowed else None

    def text(name: str) -> str | None:
        value = params.get(name, "").strip()
        return value[:TEXT_MAX] or None

    band = choice("band", tuple(b.value for b in RiskBand))
    tier = choice("tier", tuple(t.value for t in Tier))
    assignee = text("assignee")
    return AlertFilter(
        band=RiskBand(band) if band else None,
        tier=Tier(tier) if tier else None,
        rule=text("rule"),
        category=text("category"),
        status=choice("status", get_args(StatusFilter)) or "unresolved",  # type: ignore[arg-type]
        assignee=username if assignee == "me" else assignee,
        sort=choice("sort", get_args(Sort)) or "newest",  # type: ignore[arg-type]
    )


def page_number(params: Mapping[str, str]) -> int:
    value = params.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() else 1


@router.get("/alerts", name="alerts_page", response_class=HTMLResponse)
async def alerts_page(
    request: Request, resources: ResourcesDep, session: SessionDep
) -> HTMLResponse:
    """The queue: flagged decisions that need a verdict, newest first by default."""
    params = request.query_params
    where = alert_filter(params, session.user.username)
    page = await list_alerts(
        resources.pool,
        where,
        page=page_number(params),
        page_size=resources.settings.queue_page_size,
    )
    rules, categories = await filter_choices(resources.pool)
    users = await list_users(resources.pool, active_only=True)
    query = {k: v for k, v in params.items() if k != "page" and v}
    return templates.TemplateResponse(
        request,
        "alerts.html",
        {
            "active_route": "alerts_page",
            "page": page,
            "where": where,
            "assignee_param": params.get("assignee", ""),
            "query": query,
            "rules": rules,
            "categories": categories,
            "users": users,
            "bands": list(RiskBand),
            "tiers": list(Tier),
            "statuses": get_args(StatusFilter),
            "sorts": get_args(Sort),
            "live": page.page == 1 and where.sort == "newest",
        },
    )


@router.get("/alerts/rows/{txid}", name="alert_row", response_class=HTMLResponse)
async def alert_row(
    request: Request, resources: ResourcesDep, session: SessionDep, txid: str
) -> HTMLResponse:
    """One row of the queue, as the page draws it: what the live script inserts."""
    alert = await get_alert(resources.pool, txid) if TXID_PATTERN.fullmatch(txid) else None
    if alert is None:
        raise NotFoundError(f"no alert for transaction {txid}")
    return templates.TemplateResponse(request, "_alert_row.html", {"alert": alert})
