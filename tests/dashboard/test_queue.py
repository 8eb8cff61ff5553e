"""The alert queue and the audit search: filters, sorting, paging, assignment, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import asyncpg

from chainwatch.dashboard.search import spreadsheet_safe
from chainwatch.shared.schemas import RiskBand, RuleHit, Tier

from .conftest import Accounts, RunningApp
from .factories import (
    LABELLED_ADDRESS,
    insert_decisions,
    make_decision,
    mixer_exposure,
    sanctions_hit,
)

ALERTS = "/api/v1/alerts"


def _rule(name: str, category: str) -> RuleHit:
    return RuleHit(rule=name, category=category, share_of_value=0.5, detail="test")


async def test_filters_sorting_and_paging(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    rule = f"typology_{datetime.now(UTC).timestamp():.0f}"
    now = datetime.now(UTC)
    mine = [
        make_decision(
            band,
            rule_hits=[_rule(rule, "structuring")],
            exposure=[mixer_exposure()] if band is RiskBand.SEVERE else [],
            tier=tier,
            risk_score=score,
            decided_at=now - timedelta(seconds=n),
        )
        for n, (band, tier, score) in enumerate(
            [
                (RiskBand.HIGH, Tier.BATCH, 0.61),
                (RiskBand.SEVERE, Tier.HEURISTIC, 0.99),
                (RiskBand.MEDIUM, Tier.ONLINE, 0.40),
                (RiskBand.HIGH, Tier.BATCH, 0.70),
            ]
        )
    ]
    await insert_decisions(pool, *mine, make_decision(RiskBand.LOW, rule_hits=[_rule(rule, "x")]))
    await running_app.sign_in(accounts.analyst)

    async def txids(**params: str) -> list[str]:
        body = (await running_app.client.get(ALERTS, params={"rule": rule, **params})).json()
        return [a["txid"] for a in body["alerts"]]

    assert await txids() == [d.txid for d in mine], "newest first, unflagged left out"
    assert await txids(sort="score") == [mine[1].txid, mine[3].txid, mine[0].txid, mine[2].txid]
    assert (await txids(sort="band"))[:1] == [mine[1].txid]
    assert await txids(band="High") == [mine[0].txid, mine[3].txid]
    assert await txids(tier="online") == [mine[2].txid]
    assert await txids(category="mixer") == [mine[1].txid], "exposure categories count"
    assert await txids(band="nonsense") == [d.txid for d in mine], "an unknown value is ignored"

    page = await running_app.client.get("/alerts", params={"rule": rule, "band": "High"})
    assert page.status_code == 200
    assert mine[0].txid in page.text and mine[2].txid not in page.text


async def test_assignment_moves_a_case_and_is_recorded(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    alert = make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit()])
    await insert_decisions(pool, alert)
    csrf = await running_app.sign_in(accounts.supervisor)

    response = await running_app.client.post(
        f"/api/v1/alerts/{alert.txid}/assignment",
        json={"assignee": accounts.other_analyst.username},
        headers={"x-csrf-token": csrf},
    )
    mine = (
        await running_app.client.get(
            ALERTS, params={"assignee": accounts.other_analyst.username, "status": "in_review"}
        )
    ).json()

    assert response.json()["status"] == "in_review"
    assert alert.txid in [a["txid"] for a in mine["alerts"]]
    event = await pool.fetchrow("SELECT actor, detail FROM case_event WHERE txid = $1", alert.txid)
    assert event is not None and event["actor"] == accounts.supervisor.username


async def test_audit_search_finds_by_address_and_analyst_and_exports_csv(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    alert = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit()])
    await insert_decisions(pool, alert)
    csrf = await running_app.sign_in(accounts.other_analyst)
    await running_app.client.post(
        f"/api/v1/alerts/{alert.txid}/verdicts",
        json={"verdict": "true_positive", "reason_code": "sanctions_match"},
        headers={"x-csrf-token": csrf},
    )
    today = datetime.now(UTC).date().isoformat()

    by_address = await running_app.client.get(
        "/api/v1/audit", params={"address": LABELLED_ADDRESS, "since": today, "limit": 1000}
    )
    by_analyst = await running_app.client.get(
        "/api/v1/audit", params={"analyst": accounts.other_analyst.username}
    )
    by_prefix = await running_app.client.get("/api/v1/audit", params={"txid": alert.txid[:10]})
    exported = await running_app.client.get(
        "/audit/export.csv", params={"txid": alert.txid, "band": "Severe", "until": today}
    )

    assert alert.txid in [r[0] for r in by_address.json()["rows"]]
    assert [r[0] for r in by_analyst.json()["rows"]] == [alert.txid]
    assert [r[0] for r in by_prefix.json()["rows"]] == [alert.txid]
    assert exported.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert rows[0]["latest_verdict"] == "true_positive"
    assert rows[0]["verdict_analyst"] == accounts.other_analyst.username
    assert len(rows[0]["audit_row_hash"]) == 64


async def test_a_malformed_search_is_refused_plainly(
    running_app: RunningApp, accounts: Accounts
) -> None:
    await running_app.sign_in(accounts.analyst)

    response = await running_app.client.get("/api/v1/audit", params={"txid": "xyz"})

    assert response.status_code == 400
    assert "txid" in response.json()["detail"]


def test_csv_cells_never_start_a_formula() -> None:
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_safe("@SUM") == "'@SUM"
    assert spreadsheet_safe("0.5") == "0.5"
