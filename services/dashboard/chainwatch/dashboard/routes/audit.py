"""Audit search over every decision, and its CSV export."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from chainwatch.dashboard.deps import ResourcesDep, SessionDep
from chainwatch.dashboard.errors import UserError
from chainwatch.dashboard.search import AuditQuery, export_csv, search
from chainwatch.dashboard.templating import templates
from chainwatch.shared.schemas import RiskBand

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_ROWS = 100
TXID_PREFIX = re.compile(r"[0-9a-f]{8,64}")
ADDRESS = re.compile(r"[A-Za-z0-9]{14,90}")


def audit_query(params: Mapping[str, str]) -> AuditQuery:
    """The search from query parameters; raises ``UserError`` for a malformed value."""
    txid = params.get("txid", "").strip().lower() or None
    if txid and not TXID_PREFIX.fullmatch(txid):
        raise UserError("a txid is 64 hex digits; at least the first 8 are needed")
    address = params.get("address", "").strip() or None
    if address and not ADDRESS.fullmatch(address):
        raise UserError("that does not look like a Bitcoin address")
    band = params.get("band", "")
    return AuditQuery(
        txid=txid,
        address=address,
        analyst=params.get("analyst", "").strip().lower()[:64] or None,
        band=RiskBand(band) if band in RiskBand._value2member_map_ else None,
        since=_date(params.get("since", "")),
        until=_date(params.get("until", "")),
        flagged_only=params.get("flagged") == "1",
    )


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{value!r} is not a date (YYYY-MM-DD)") from None


@router.get("/audit", name="audit_page", response_class=HTMLResponse)
async def audit_page(
    request: Request, resources: ResourcesDep, session: SessionDep
) -> HTMLResponse:
    params = request.query_params
    query = audit_query(params)
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    rows = []
    if not query.is_empty:
        rows = await search(
            resources.pool, query, limit=PAGE_ROWS + 1, offset=(max(1, page) - 1) * PAGE_ROWS
        )
    kept = {k: v for k, v in params.items() if k != "page" and v}
    return templates.TemplateResponse(
        request,
        "audit.html",
        {
            "active_route": "audit_page",
            "query": query,
            "params": kept,
            "rows": rows[:PAGE_ROWS],
            "more": len(rows) > PAGE_ROWS,
            "page": page,
            "query_string": urlencode(kept),
            "bands": list(RiskBand),
        },
    )


@router.get("/audit/export.csv", name="audit_export")
async def audit_export(
    request: Request, resources: ResourcesDep, session: SessionDep
) -> StreamingResponse:
    """Every matching decision as CSV (UTF-8, one header row), up to ``export_max_rows``."""
    query = audit_query(request.query_params)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logger.info("%s exported the audit search as CSV", session.user.username)
    return StreamingResponse(
        export_csv(resources.pool, query, max_rows=resources.settings.export_max_rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="chainwatch-audit-{stamp}.csv"'},
    )
