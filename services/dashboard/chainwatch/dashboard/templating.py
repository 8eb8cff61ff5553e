"""The Jinja2 environment of every page: its globals, its filters, and the signed-in user.

Autoescaping is on for every template; values reach a page only through ``{{ }}``. Each
page gets ``session`` (the signed-in user and the CSRF token its forms carry) and
``nav_items``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates

from chainwatch.dashboard import charts
from chainwatch.dashboard.auth.users import Role
from chainwatch.dashboard.deps import CSRF_FIELD
from chainwatch.dashboard.nav import NAV_ITEMS
from chainwatch.shared.verdicts import REASON_CODES, REASON_LABELS, ReasonCode

PACKAGE_DIR = Path(__file__).resolve().parent

EXPLORER_TX_URL = "https://mempool.space/tx/"
EXPLORER_ADDRESS_URL = "https://mempool.space/address/"
"""Where txids and addresses link to: a public explorer, opened on click, never fetched."""

SATS_PER_BTC = 100_000_000


@jinja2.pass_context
def path_for(context: jinja2.runtime.Context, name: str, /, **params: str) -> str:
    """The path (no scheme or host) of a named route, so links survive a TLS proxy."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **params))


def btc(sat: int | None) -> str:
    """Satoshis as BTC with all eight decimals, e.g. ``1.02000000``; an em dash for None."""
    if sat is None:
        return "—"
    whole, fraction = divmod(sat, SATS_PER_BTC)
    return f"{whole:,}.{fraction:08d}"


def age(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, coarsely: "45 s", "12 min", "3 h", "2 d"."""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return f"{max(0, int(seconds))} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def utc(moment: datetime | None, seconds: bool = True) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def short_txid(txid: str) -> str:
    return f"{txid[:12]}…{txid[-6:]}"


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def words(value: str | None) -> str:
    """An identifier as words: ``direct_exposure`` → ``direct exposure``."""
    return "" if value is None else value.replace("_", " ")


def reason_label(code: str) -> str:
    try:
        return REASON_LABELS[ReasonCode(code)]
    except ValueError:
        return words(code)


def _session(request: Request) -> dict[str, Any]:
    return {"session": request.scope.get("state", {}).get("session")}


templates = Jinja2Templates(directory=PACKAGE_DIR / "templates", context_processors=[_session])
templates.env.globals.update(
    nav_items=NAV_ITEMS,
    roles=Role,
    path_for=path_for,
    csrf_field=CSRF_FIELD,
    explorer_tx_url=EXPLORER_TX_URL,
    explorer_address_url=EXPLORER_ADDRESS_URL,
    reason_codes=REASON_CODES,
    reason_label=reason_label,
    shap_chart=charts.shap_chart,
    score_bar=charts.score_bar,
)
templates.env.filters.update(btc=btc, age=age, utc=utc, short_txid=short_txid, pct=pct, words=words)
