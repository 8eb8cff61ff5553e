"""The server-rendered pages; each one has an entry in ``nav.NAV_ITEMS``."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from chainwatch.dashboard.deps import ResourcesDep
from chainwatch.dashboard.nav import NAV_ITEMS

PACKAGE_DIR = Path(__file__).resolve().parent.parent

EXPLORER_TX_URL = "https://mempool.space/tx/"
"""Where a txid links to: a public block explorer, opened in a new tab, never fetched."""


@jinja2.pass_context
def path_for(context: jinja2.runtime.Context, name: str, /, **params: str) -> str:
    """The path (no scheme or host) of a named route, so links survive a TLS proxy."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **params))


templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.globals["nav_items"] = NAV_ITEMS
templates.env.globals["path_for"] = path_for

router = APIRouter(include_in_schema=False)


@router.get("/", name="feed_page", response_class=HTMLResponse)
async def feed_page(request: Request, resources: ResourcesDep) -> HTMLResponse:
    """The live feed: every decision as it is made, newest on top."""
    return templates.TemplateResponse(
        request,
        "feed.html",
        {
            "active_route": "feed_page",
            "feed_rows": resources.settings.feed_rows,
            "explorer_tx_url": EXPLORER_TX_URL,
        },
    )
