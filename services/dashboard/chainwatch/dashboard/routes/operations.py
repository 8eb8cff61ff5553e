"""The operations pages: the live feed, models and drift.

The fees, Lightning and onboarding panels are in ``routes.panels``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from chainwatch.dashboard.deps import ResourcesDep, SessionDep
from chainwatch.dashboard.operations import model_statuses, recent_rows, table_exists
from chainwatch.dashboard.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
async def home() -> RedirectResponse:
    return RedirectResponse("/alerts", status.HTTP_303_SEE_OTHER)


@router.get("/feed", name="feed_page", response_class=HTMLResponse)
async def feed_page(request: Request, resources: ResourcesDep, session: SessionDep) -> HTMLResponse:
    """The live feed: every decision as it is made, newest on top."""
    return templates.TemplateResponse(
        request,
        "feed.html",
        {"active_route": "feed_page", "feed_rows": resources.settings.feed_rows},
    )


@router.get("/models", name="models_page", response_class=HTMLResponse)
async def models_page(
    request: Request, resources: ResourcesDep, session: SessionDep
) -> HTMLResponse:
    """Each model's serving version, its promotion history, and its versions' metrics."""
    statuses = await model_statuses(resources.pool, resources.js, resources.settings.registry)
    runs = await recent_rows(resources.pool, "training_run")
    return templates.TemplateResponse(
        request,
        "models.html",
        {"active_route": "models_page", "models": statuses, "runs": runs},
    )


@router.get("/drift", name="drift_page", response_class=HTMLResponse)
async def drift_page(
    request: Request, resources: ResourcesDep, session: SessionDep
) -> HTMLResponse:
    """Drift events and retraining runs, once the drift service records them."""
    return templates.TemplateResponse(
        request,
        "drift.html",
        {
            "active_route": "drift_page",
            "drift_recorded": await table_exists(resources.pool, "drift_event"),
            "events": await recent_rows(resources.pool, "drift_event"),
            "retrains": await recent_rows(resources.pool, "drift_retrain"),
            "runs": await recent_rows(resources.pool, "training_run"),
        },
    )
