"""The server-rendered pages: what they link to, and that they load nothing from elsewhere."""

from __future__ import annotations

import re

from chainwatch.dashboard.headers import CONTENT_SECURITY_POLICY

from .conftest import RunningApp

_LINKS = re.compile(r'(?:href|src)="([^"]*)"')
_NAV = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)


async def test_feed_page_renders_the_table_and_the_live_status(running_app: RunningApp) -> None:
    response = await running_app.client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'id="feed-rows"' in page
    assert 'id="feed-status"' in page
    assert 'data-ws-path="/ws/feed"' in page
    assert 'data-recent-path="/api/v1/decisions/recent"' in page
    for heading in ("Time", "Transaction", "Band", "Score", "Tier", "Top rule", "Value (BTC)"):
        assert f">{heading}</th>" in page


async def test_every_link_and_asset_on_the_page_is_served_here(running_app: RunningApp) -> None:
    page = (await running_app.client.get("/")).text

    targets = _LINKS.findall(page)

    assert targets
    for target in targets:
        assert target.startswith("/"), f"{target} is not on this server"
        response = await running_app.client.get(target)
        assert response.status_code == 200, target


async def test_navigation_lists_only_pages_that_exist(running_app: RunningApp) -> None:
    page = (await running_app.client.get("/")).text

    nav = _NAV.search(page)
    assert nav is not None
    links = _LINKS.findall(nav.group(1))
    assert links == ["/"]
    assert 'aria-current="page"' in nav.group(1)


async def test_pages_forbid_resources_from_other_hosts(running_app: RunningApp) -> None:
    response = await running_app.client.get("/")

    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
