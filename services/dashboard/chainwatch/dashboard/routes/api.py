"""The JSON API for integrators who prefer HTTP to NATS, under ``/api/v1``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from chainwatch.dashboard import decisions
from chainwatch.dashboard.deps import ResourcesDep
from chainwatch.dashboard.views import DecisionView

router = APIRouter(prefix="/api/v1", tags=["decisions"])


class RecentDecisions(BaseModel):
    """The latest decisions, newest first."""

    decisions: list[DecisionView]


@router.get("/decisions/recent", name="recent_decisions")
async def recent_decisions(
    resources: ResourcesDep,
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
