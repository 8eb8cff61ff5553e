"""The pages: who sees them, what they link to, and that nothing loads from another host."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from chainwatch.dashboard.headers import CONTENT_SECURITY_POLICY
from chainwatch.shared.schemas import RiskBand

from .conftest import Accounts, RunningApp
from .factories import insert_decisions, make_decision, mixer_exposure, sanctions_hit

_LINKS = re.compile(r'(?:href|src|action)="([^"]*)"')
_NAV = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)
PAGES = ("/alerts", "/audit?band=High", "/feed", "/models", "/drift", "/admin/users", "/api/docs")
EXPLORER = "https://mempool.space/"


async def test_signed_out_pages_send_the_browser_to_sign_in(running_app: RunningApp) -> None:
    response = await running_app.client.get("/alerts?band=High", headers={"accept": "text/html"})

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/alerts%3Fband%3DHigh"


async def test_the_sign_in_page_renders_with_its_csrf_token(running_app: RunningApp) -> None:
    response = await running_app.client.get("/login")

    assert response.status_code == 200
    assert 'name="csrf_token" value="' in response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie


@pytest.mark.parametrize("path", PAGES)
async def test_every_link_and_asset_is_served_here_or_is_an_explorer_link(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool, path: str
) -> None:
    await insert_decisions(
        pool, make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit()], exposure=[mixer_exposure()])
    )
    await running_app.sign_in(accounts.admin)

    page = await running_app.client.get(path)

    assert page.status_code == 200, path
    for target in set(_LINKS.findall(page.text)):
        if target.startswith(EXPLORER):
            continue
        assert target.startswith(("/", "?")), f"{target} on {path} is not on this server"
        if target.startswith("/static/") or target in ("/openapi.json", "/alerts", "/feed"):
            assert (await running_app.client.get(target)).status_code == 200, target


async def test_a_case_page_links_the_explorer_and_its_report(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    alert = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit()], exposure=[mixer_exposure()])
    await insert_decisions(pool, alert)
    await running_app.sign_in(accounts.analyst)

    page = (await running_app.client.get(f"/cases/{alert.txid}")).text

    assert f'href="{EXPLORER}tx/{alert.txid}"' in page
    assert f'href="/cases/{alert.txid}/report"' in page
    assert "Explanation pending" in page
    assert "Test Mixer" in page


async def test_navigation_shows_users_to_admins_only(
    running_app: RunningApp, accounts: Accounts
) -> None:
    await running_app.sign_in(accounts.analyst)
    analyst_nav = _NAV.search((await running_app.client.get("/alerts")).text)
    await running_app.sign_in(accounts.admin)
    admin_nav = _NAV.search((await running_app.client.get("/alerts")).text)

    assert analyst_nav is not None and admin_nav is not None
    assert _LINKS.findall(analyst_nav.group(1)) == [
        "/alerts",
        "/audit",
        "/feed",
        "/models",
        "/drift",
        "/fees",
        "/lightning",
        "/onboarding",
    ]
    assert _LINKS.findall(admin_nav.group(1))[-1] == "/admin/users"
    assert 'aria-current="page"' in analyst_nav.group(1)


async def test_pages_forbid_resources_from_other_hosts(
    running_app: RunningApp, accounts: Accounts
) -> None:
    await running_app.sign_in(accounts.analyst)
    response = await running_app.client.get("/alerts")

    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    static = await running_app.client.get("/static/app.css")
    assert "cache-control" not in static.headers


async def test_api_docs_are_served_without_any_cdn(running_app: RunningApp) -> None:
    docs = await running_app.client.get("/api/docs")
    schema = (await running_app.client.get("/openapi.json")).json()

    assert docs.status_code == 200
    assert "/api/v1/alerts/{txid}/verdicts" in docs.text
    assert "/api/v1/alerts/{txid}/verdicts" in schema["paths"]
    assert "cdn" not in docs.text.lower()
    assert (await running_app.client.get("/docs")).status_code == 404


async def test_the_drift_page_lists_drift_events_once_they_are_recorded(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    if not await pool.fetchval("SELECT to_regclass('drift_event') IS NOT NULL"):
        pytest.skip("the drift service's table is not in this schema")
    event_id = f"test-{uuid.uuid4()}"
    await pool.execute(
        """
        INSERT INTO drift_event (event_id, kind, detected_at, summary, subjects, first_seq,
            last_seq, first_at, last_at, window_size, retrain, evidence)
        VALUES ($1, 'feature', now(), 'script types moved', ARRAY['input_type_share_p2pkh'],
            1, 500, now() - interval '1 hour', now(), 500, true, '{}')
        """,
        event_id,
    )
    await running_app.sign_in(accounts.analyst)

    page = (await running_app.client.get("/drift")).text

    assert "script types moved" in page
    assert "input_type_share_p2pkh" in page
