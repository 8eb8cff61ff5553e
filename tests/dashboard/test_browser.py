"""The analyst's day in a real browser: Debian's chromium driven by playwright.

The dashboard runs behind real uvicorn. An analyst signs in, watches a flagged decision
arrive live in the queue, opens its case, records a verdict, finds it in the audit search
and exports the search as CSV. Screenshots of the queue and the case go to
``test-artifacts/``. No page may fetch anything from another host.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS
from playwright.async_api import Browser, Page, async_playwright, expect

from chainwatch.dashboard.relay import TX_EXPLAINED
from chainwatch.shared.schemas import RiskBand, ScoredTransaction, Tier

from .conftest import PASSWORD, Accounts, PublishRaw, PublishScored, ServedDashboard
from .factories import (
    CHANGE_ADDRESS,
    insert_decisions,
    make_decision,
    make_explanation,
    make_transaction,
    mixer_exposure,
    sanctions_hit,
)

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

# A loaded CI machine may take longer than playwright's default 5 s to draw a page.
expect.set_options(timeout=15_000)

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


def _backlog(now: datetime) -> list[ScoredTransaction]:
    """A morning's alerts of every flagged band, oldest last."""
    return [
        make_decision(
            band,
            rule_hits=hits,
            exposure=exposure,
            tier=tier,
            value_out=value_sat,
            decided_at=now - timedelta(minutes=7 * (n + 1)),
        )
        for n, (band, hits, exposure, tier, value_sat) in enumerate(
            [
                (RiskBand.HIGH, [], [mixer_exposure(2)], Tier.BATCH, 91_200_000),
                (RiskBand.MEDIUM, [sanctions_hit(0.05)], [], Tier.HEURISTIC, 2_750_000),
                (RiskBand.SEVERE, [sanctions_hit(0.41)], [], Tier.HEURISTIC, 1_020_000_000),
                (RiskBand.HIGH, [], [mixer_exposure(3)], Tier.ONLINE, 48_910_000),
            ]
        )
    ]


async def _explain(pool: asyncpg.Pool, decision: ScoredTransaction) -> None:
    """Store an explanation of ``decision`` as the explainer does."""
    row_hash = await pool.fetchval(
        "SELECT row_hash FROM audit_decision WHERE txid = $1", decision.txid
    )
    message = make_explanation(decision, bytes(row_hash).hex())
    await pool.execute(
        """
        INSERT INTO audit_explanation (txid, decision_row_hash, explained_at, deciding_tier,
            attribution_method, model_version, narrative_path, narrative_latency_ms, explanation)
        VALUES ($1, $2, $3, $4, 'treeshap', 'xgb-test-1', 'template', 0.4, $5)
        """,
        decision.txid,
        row_hash,
        message.explained_at,
        decision.deciding_tier.value,
        message.model_dump_json(),
    )


async def _sign_in(page: Page, base_url: str, username: str) -> None:
    await page.goto(base_url + "/alerts")
    await expect(page).to_have_url(f"{base_url}/login?next=/alerts")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await expect(page).to_have_url(base_url + "/alerts")


async def test_an_analyst_reviews_a_live_alert_end_to_end(
    served_dashboard: ServedDashboard,
    publish_scored: PublishScored,
    publish_raw: PublishRaw,
    pool: asyncpg.Pool,
    accounts: Accounts,
    browser: Browser,
    nc: NATS,
) -> None:
    base_url = served_dashboard.base_url
    now = datetime.now(UTC)
    await insert_decisions(pool, *_backlog(now))

    page = await browser.new_page(viewport={"width": 1440, "height": 900}, reduced_motion="reduce")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.on("websocket", lambda socket: fetched.append(socket.url))

    await _sign_in(page, base_url, accounts.analyst.username)
    await page.wait_for_selector('#live-status[data-state="live"]')

    # The scorer's order: the raw transaction is on its stream, the decision is in the
    # audit trail, then the decision is published.
    alert = make_decision(
        RiskBand.SEVERE,
        rule_hits=[sanctions_hit(0.62)],
        exposure=[mixer_exposure(2)],
        value_out=250_000_000,
        fee=8_460,
        decided_at=now,
    )
    seq = await publish_raw(make_transaction(alert))
    await insert_decisions(pool, alert, stream_seqs=[seq])
    await publish_scored(alert)

    row = page.locator(f'#queue-rows tr[data-txid="{alert.txid}"]')
    await expect(row).to_be_visible()
    assert await page.locator("#queue-rows tr").first.get_attribute("data-txid") == alert.txid
    cells = await row.locator("td").all_inner_texts()
    assert cells[0] == "Severe"
    assert cells[1].endswith("1.000")
    assert "sanctions" in cells[4] and "62%" in cells[4]
    assert cells[5] == "2.50000000"
    assert cells[7] == "Open"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "dashboard-queue.png")

    await row.locator("a.case-link").click()
    await expect(page).to_have_url(f"{base_url}/cases/{alert.txid}")
    await expect(
        page.locator(f'a[href="https://mempool.space/address/{CHANGE_ADDRESS}"]')
    ).to_be_visible()
    body = await page.inner_text("main")
    assert "v0_p2wpkh" in body and "p2sh" in body
    assert "59.7 sat/vB" in body or "60.0 sat/vB" in body
    assert "Test Mixer" in body
    assert "Explanation pending" in body
    # The explainer stores its explanation, then publishes it: the open page draws it.
    await _explain(pool, alert)
    await nc.publish(TX_EXPLAINED, json.dumps({"txid": alert.txid}).encode())
    await expect(page.locator("svg.shap-chart")).to_be_visible()
    body = await page.inner_text("main")
    assert "exposure to sanctions 62%" in (await page.text_content("svg.shap-chart") or "")
    assert "narrative: template" in body
    assert "no API key configured" in body
    await page.screenshot(path=ARTIFACTS / "dashboard-case.png", full_page=True)

    await page.check('input[name="verdict"][value="true_positive"]')
    await page.select_option('select[name="reason_code"]', "sanctions_match")
    await page.fill('textarea[name="note"]', "Payment to a sanctioned address; SAR drafted.")
    await page.click('.verdict-form button[type="submit"]')
    await expect(page.locator(".saved")).to_have_text("Verdict recorded.")
    await expect(page.locator(".case-meta .status-badge")).to_have_text("True positive")
    assert "Payment to a sanctioned address" in await page.inner_text(".case-side")

    await page.click('nav.nav a[href="/audit"]')
    await page.fill('input[name="txid"]', alert.txid)
    await page.click('form.filters button[type="submit"]')
    result = page.locator(f'#audit-results tr[data-txid="{alert.txid}"]')
    await expect(result).to_contain_text("true positive")
    await expect(result).to_contain_text(accounts.analyst.username)
    await page.screenshot(path=ARTIFACTS / "dashboard-audit.png")

    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [r["txid"] for r in exported] == [alert.txid]
    assert exported[0]["latest_verdict"] == "true_positive"
    assert exported[0]["verdict_analyst"] == accounts.analyst.username

    await page.click('nav.nav a[href="/feed"]')
    await page.wait_for_selector('#feed-status[data-state="live"]')
    await expect(page.locator(f'#feed-rows tr[data-txid="{alert.txid}"]')).to_be_attached()

    local = (base_url, served_dashboard.ws_url(""))
    assert [url for url in fetched if not url.startswith(local)] == []


async def test_the_case_report_stands_alone(
    served_dashboard: ServedDashboard, pool: asyncpg.Pool, accounts: Accounts, browser: Browser
) -> None:
    alert = make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit(0.3)])
    await insert_decisions(pool, alert)
    await _explain(pool, alert)
    page = await browser.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    await _sign_in(page, served_dashboard.base_url, accounts.supervisor.username)

    before = len(fetched)
    await page.goto(f"{served_dashboard.base_url}/cases/{alert.txid}/report")
    await page.wait_for_load_state("networkidle")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "dashboard-report.png", full_page=True)
    text = await page.inner_text("body")
    for heading in ("1. Decision", "2. Scores of every tier", "7. Features", "8. Verdict trail"):
        assert heading in text
    assert "fee rate" in text and "sat/vB" in text
    assert "sanctions list" in text and "template used because no API key configured" in text
    assert await page.locator("svg.shap-chart").count() == 1
    max_width = await page.evaluate("getComputedStyle(document.body).maxWidth")
    assert max_width == "860px", "its own stylesheet applies under its strict policy"
    report_url = f"{served_dashboard.base_url}/cases/{alert.txid}/report"
    assert fetched[before:] == [report_url], "the report loads nothing besides itself"
