"""The JSON API over the audit trail, against a real PostgreSQL and a real NATS server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from chainwatch.shared.schemas import RiskBand

from .conftest import RunningApp
from .factories import insert_decisions, make_decision, sanctions_hit

RECENT = "/api/v1/decisions/recent"


async def test_recent_decisions_are_newest_first_with_their_evidence(
    running_app: RunningApp, pool: asyncpg.Pool
) -> None:
    now = datetime.now(UTC)
    older = make_decision(RiskBand.LOW, decided_at=now - timedelta(seconds=2))
    newer = make_decision(
        RiskBand.SEVERE, decided_at=now - timedelta(seconds=1), rule_hits=[sanctions_hit(0.6)]
    )
    await insert_decisions(pool, older, newer)

    response = await running_app.client.get(RECENT, params={"limit": 500})

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
    stamps = [d["decided_at"] for d in body]
    assert [datetime.fromisoformat(s) for s in stamps] == sorted(
        (datetime.fromisoformat(s) for s in stamps), reverse=True
    )


async def test_limit_caps_the_rows_and_keeps_the_newest(
    running_app: RunningApp, pool: asyncpg.Pool
) -> None:
    await insert_decisions(pool, *(make_decision() for _ in range(3)))

    everything = (await running_app.client.get(RECENT, params={"limit": 500})).json()
    two = (await running_app.client.get(RECENT, params={"limit": 2})).json()
    default = (await running_app.client.get(RECENT)).json()

    assert two["decisions"] == everything["decisions"][:2]
    assert len(default["decisions"]) == min(50, len(everything["decisions"]))


async def test_flagged_filter_returns_only_what_it_names(
    running_app: RunningApp, pool: asyncpg.Pool
) -> None:
    flagged = make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit(0.3)])
    clean = make_decision(RiskBand.LOW)
    await insert_decisions(pool, flagged, clean)

    only_flagged = (await running_app.client.get(RECENT, params={"flagged": "true"})).json()
    only_clean = (await running_app.client.get(RECENT, params={"flagged": "false"})).json()

    assert all(d["flagged"] for d in only_flagged["decisions"])
    assert flagged.txid in {d["txid"] for d in only_flagged["decisions"]}
    assert clean.txid not in {d["txid"] for d in only_flagged["decisions"]}
    assert not any(d["flagged"] for d in only_clean["decisions"])
    assert clean.txid in {d["txid"] for d in only_clean["decisions"]}


@pytest.mark.parametrize("limit", ["0", "501", "-1", "many"])
async def test_a_limit_outside_1_to_500_is_refused(running_app: RunningApp, limit: str) -> None:
    response = await running_app.client.get(RECENT, params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_the_largest_limit_is_accepted(running_app: RunningApp) -> None:
    response = await running_app.client.get(RECENT, params={"limit": 500})

    assert response.status_code == 200


async def test_recent_answers_503_while_the_database_is_gone(running_app: RunningApp) -> None:
    await running_app.app.state.resources.pool.close()

    response = await running_app.client.get(RECENT)

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "database unavailable" in response.json()["detail"]
