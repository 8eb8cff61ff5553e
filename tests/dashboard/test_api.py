"""The JSON API over the audit trail, against a real PostgreSQL and a real NATS server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from chainwatch.shared.schemas import RiskBand

from .conftest import Accounts, RunningApp
from .factories import insert_decisions, make_decision, sanctions_hit

RECENT = "/api/v1/decisions/recent"


@pytest.fixture
async def signed_in(running_app: RunningApp, accounts: Accounts) -> RunningApp:
    await running_app.sign_in(accounts.analyst)
    return running_app


async def test_the_api_needs_a_session(running_app: RunningApp) -> None:
    for path in (RECENT, "/api/v1/alerts", "/api/v1/audit?band=High", "/api/v1/models"):
        response = await running_app.client.get(path)
        assert response.status_code == 401, path


async def test_recent_decisions_are_newest_first_with_their_evidence(
    signed_in: RunningApp, pool: asyncpg.Pool
) -> None:
    now = datetime.now(UTC)
    older = make_decision(RiskBand.LOW, decided_at=now - timedelta(seconds=2))
    newer = make_decision(
        RiskBand.SEVERE, decided_at=now - timedelta(seconds=1), rule_hits=[sanctions_hit(0.6)]
    )
    await insert_decisions(pool, older, newer)

    response = await signed_in.client.get(RECENT, params={"limit": 500})

    assert response.status_code == 200
    body = response.json()["decisions"]
    mine = [d for d in body if d["txid"] in {older.txid, newer.txid}]
    assert [d["txid"] for d in mine] == [newer.txid, older.txid]
    severe = mine[0]
    assert severe["band"] == "Severe"
    assert severe["flagged"] is True
    assert severe["top_rule"]["category"] == "sanctions"
    assert severe["value_out_sat"] == newer.value_out
    assert severe["fee_rate_sat_vb"] == pytest.approx((newer.fee or 0) / newer.vsize)


async def test_flagged_filter_returns_only_what_it_names(
    signed_in: RunningApp, pool: asyncpg.Pool
) -> None:
    flagged = make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit(0.3)])
    clean = make_decision(RiskBand.LOW)
    await insert_decisions(pool, flagged, clean)

    only_flagged = (await signed_in.client.get(RECENT, params={"flagged": "true"})).json()
    only_clean = (await signed_in.client.get(RECENT, params={"flagged": "false"})).json()

    assert all(d["flagged"] for d in only_flagged["decisions"])
    assert flagged.txid in {d["txid"] for d in only_flagged["decisions"]}
    assert not any(d["flagged"] for d in only_clean["decisions"])


@pytest.mark.parametrize("limit", ["0", "501", "-1", "many"])
async def test_a_limit_outside_1_to_500_is_refused(signed_in: RunningApp, limit: str) -> None:
    response = await signed_in.client.get(RECENT, params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_a_case_comes_with_its_evidence_and_history(
    signed_in: RunningApp, pool: asyncpg.Pool
) -> None:
    alert = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit(0.5)])
    await insert_decisions(pool, alert)

    response = await signed_in.client.get(f"/api/v1/alerts/{alert.txid}")

    assert response.status_code == 200
    case = response.json()
    assert case["decision"]["txid"] == alert.txid
    assert case["decision"]["features"]["fee_rate_sat_vb"] == pytest.approx(4200 / 141)
    assert case["status"] == "open"
    assert len(case["audit_row_hash"]) == 64
    assert case["explanation"] is None
    assert case["verdicts"] == []


async def test_an_unflagged_decision_is_no_alert(signed_in: RunningApp, pool: asyncpg.Pool) -> None:
    clean = make_decision(RiskBand.LOW)
    await insert_decisions(pool, clean)

    response = await signed_in.client.get(f"/api/v1/alerts/{clean.txid}")

    assert response.status_code == 404


async def test_api_answers_503_while_the_database_is_gone(signed_in: RunningApp) -> None:
    await signed_in.app.state.resources.pool.close()

    response = await signed_in.client.get(RECENT)

    assert response.status_code == 503
    assert response.headers["retry-after"]
