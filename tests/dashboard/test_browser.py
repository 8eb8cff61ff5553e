"""The live feed page in a real browser: Debian's chromium driven by playwright.

The dashboard runs behind real uvicorn; decisions are written to the audit trail (history)
and published on NATS (live), and the test waits on the page itself for each row. A
screenshot of the feed is saved to ``test-artifacts/dashboard-feed.png``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from chainwatch.shared.schemas import RiskBand, RuleHit, ScoredTransaction

from .conftest import PublishScored, ServedDashboard
from .factories import insert_decisions, make_decision, sanctions_hit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (scripts/ensure-chromium.sh)",
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


def _history(now: datetime) -> list[ScoredTransaction]:
    """A morning's worth of decisions of every band, oldest last."""
    mixer = RuleHit(
        rule="direct_exposure",
        category="mixer",
        share_of_value=0.35,
        detail="receives from a labelled mixer",
    )
    shapes: list[tuple[RiskBand, list[RuleHit], int, int | None]] = [
        (RiskBand.LOW, [], 5_430_000, 2_820),
        (RiskBand.HIGH, [mixer], 91_200_000, 12_400),
        (RiskBand.LOW, [], 150_000_000, 1_410),
        (RiskBand.MEDIUM, [mixer], 2_750_000, 5_640),
        (RiskBand.LOW, [], 48_910, None),
        (RiskBand.SEVERE, [sanctions_hit(0.41)], 1_020_000_000, 30_000),
        (RiskBand.LOW, [], 12_345_678, 4_230),
    ]
    return [
        make_decision(
            band,
            rule_hits=hits,
            value_out=value_sat,
            fee=fee_sat,
            decided_at=now - timedelta(seconds=9 * (n + 1)),
        )
        for n, (band, hits, value_sat, fee_sat) in enumerate(shapes)
    ]


async def _row_text(page: Page, txid: str) -> list[str]:
    return await page.locator(f'tr[data-txid="{txid}"] td').all_inner_texts()


async def test_live_decisions_appear_on_the_feed_page(
    served_dashboard: ServedDashboard,
    publish_scored: PublishScored,
    pool: asyncpg.Pool,
    browser: Browser,
) -> None:
    now = datetime.now(UTC)
    history = _history(now)
    await insert_decisions(pool, *history)

    page = await browser.new_page(viewport={"width": 1360, "height": 640})
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.on("websocket", lambda socket: fetched.append(socket.url))

    await page.goto(served_dashboard.base_url + "/")
    await page.wait_for_selector('#feed-status[data-state="live"]')
    for decision in history:
        await page.wait_for_selector(f'tr[data-txid="{decision.txid}"]', state="attached")

    live = [
        make_decision(RiskBand.LOW, value_out=73_000_000, fee=2_115, decided_at=now),
        make_decision(
            RiskBand.SEVERE,
            rule_hits=[sanctions_hit(0.93)],
            value_out=250_000_000,
            fee=8_460,
            decided_at=now + timedelta(milliseconds=1),
        ),
    ]
    for decision in live:
        await publish_scored(decision)
        await page.wait_for_selector(f'tr[data-txid="{decision.txid}"]')

    severe = live[-1]
    assert await page.locator("#feed-rows tr").first.get_attribute("data-txid") == severe.txid
    time_cell, tx_cell, band, score, tier, rule, value_btc, fee_rate = await _row_text(
        page, severe.txid
    )
    assert re.fullmatch(r"(\d\d-\d\d )?\d\d:\d\d:\d\d", time_cell)
    assert tx_cell.startswith(severe.txid[:12])
    assert (band, score, tier) == ("Severe", "1.000", "heuristic")
    assert rule.split() == ["direct_exposure", "sanctions"]
    assert value_btc == "2.50000000"
    assert fee_rate == "60.0"
    link = page.locator(f'tr[data-txid="{severe.txid}"] a.txid')
    assert await link.get_attribute("href") == f"https://mempool.space/tx/{severe.txid}"
    assert await link.get_attribute("target") == "_blank"

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "dashboard-feed.png")

    await page.check("#flagged-only")
    await expect(page.locator(f'tr[data-txid="{live[0].txid}"]')).to_be_hidden()
    await expect(page.locator(f'tr[data-txid="{severe.txid}"]')).to_be_visible()

    local = (served_dashboard.base_url, served_dashboard.ws_url(""))
    assert fetched
    assert [url for url in fetched if not url.startswith(local)] == []
