"""Verdicts: recorded with who and when, append-only, published to the learner, never lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from nats.aio.client import Client as NATS

from chainwatch.dashboard.app import create_app
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus
from chainwatch.shared.schemas import RiskBand
from chainwatch.shared.settings import NatsSettings
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict

from .conftest import Accounts, RunningApp
from .factories import insert_decisions, make_decision, sanctions_hit


async def _alert(pool: asyncpg.Pool) -> str:
    decision = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit(0.7)])
    await insert_decisions(pool, decision)
    return decision.txid


async def _published(nc: NATS, verdict_id: str, timeout_s: float = 15.0) -> ReviewVerdict:
    """Wait for the verdict on its stream (read from the start, so nothing is missed)."""
    js = nc.jetstream()
    await bus.ensure_streams(js, [REVIEW_STREAM])
    sub = await js.subscribe(REVIEW_VERDICT, stream=REVIEW_STREAM.name, ordered_consumer=True)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await sub.next_msg(timeout=timeout_s)
                message = bus.decode(ReviewVerdict, msg.data, msg.subject)
                if message.verdict_id == verdict_id:
                    return message
    finally:
        await sub.unsubscribe()


async def test_a_verdict_is_recorded_published_and_sent_once(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool, nc: NATS
) -> None:
    txid = await _alert(pool)
    csrf = await running_app.sign_in(accounts.analyst)
    verdict_id = str(uuid.uuid4())
    form = {
        "csrf_token": csrf,
        "verdict": "false_positive",
        "reason_code": "legitimate_service",
        "note": "Counterparty is a licensed exchange.",
        "verdict_id": verdict_id,
    }

    first = await running_app.client.post(f"/cases/{txid}/verdict", data=form)
    again = await running_app.client.post(f"/cases/{txid}/verdict", data=form)
    message = await _published(nc, verdict_id)

    assert first.status_code == again.status_code == 303
    rows = await pool.fetch("SELECT * FROM review_verdict WHERE txid = $1", txid)
    assert len(rows) == 1, "the same form sent twice records one verdict"
    row = rows[0]
    assert row["analyst"] == accounts.analyst.username
    assert row["analyst_role"] == "analyst"
    assert row["decided_at"].tzinfo is not None
    assert row["note"] == "Counterparty is a licensed exchange."
    assert (row["status_before"], row["status_after"]) == ("open", "closed")
    assert message.txid == txid
    assert message.label == 0
    assert message.has_note and "licensed" not in message.model_dump_json()
    assert message.features["fee_rate_sat_vb"] is not None
    history = await pool.fetch("SELECT action, actor FROM case_event WHERE txid = $1", txid)
    assert [(e["action"], e["actor"]) for e in history] == [("verdict", accounts.analyst.username)]


async def test_verdicts_and_case_history_are_append_only(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    txid = await _alert(pool)
    csrf = await running_app.sign_in(accounts.analyst)
    await running_app.client.post(
        f"/api/v1/alerts/{txid}/verdicts",
        json={"verdict": "true_positive", "reason_code": "sanctions_match"},
        headers={"x-csrf-token": csrf},
    )

    for statement in (
        "UPDATE review_verdict SET verdict = 'false_positive' WHERE txid = $1",
        "DELETE FROM review_verdict WHERE txid = $1",
        "DELETE FROM case_event WHERE txid = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(statement, txid)


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A NATS server of this test's own, so it can be stopped without harming other tests."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


async def test_a_verdict_survives_a_nats_outage(
    own_nats: NatsServer,
    dashboard_settings: DashboardSettings,
    accounts: Accounts,
    pool: asyncpg.Pool,
) -> None:
    nats_settings = NatsSettings(url=own_nats.url, connect_attempts=3)
    settings = dashboard_settings.model_copy(
        update={"nats": nats_settings, "outbox_publish_timeout_s": 0.5}
    )
    txid = await _alert(pool)
    app = create_app(settings)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            resources = app.state.resources
            token = await resources.sessions.create(accounts.analyst, "127.0.0.1")
            client.cookies.set("chainwatch_session", token)
            verdict_id = str(uuid.uuid4())

            own_nats.stop()
            response = await client.post(
                f"/cases/{txid}/verdict",
                data={
                    "csrf_token": resources.sessions.csrf_for(token),
                    "verdict": "true_positive",
                    "reason_code": "sanctions_match",
                    "verdict_id": verdict_id,
                },
            )
            assert response.status_code == 303, "recording does not wait for NATS"
            assert (
                await pool.fetchval(
                    "SELECT count(*) FROM review_verdict WHERE verdict_id = $1",
                    uuid.UUID(verdict_id),
                )
                == 1
            )
            await _wait_for_attempt(pool, verdict_id)

            own_nats.start()
            nc = await bus.connect(nats_settings, "test-outage")
            try:
                message = await _published(nc, verdict_id, timeout_s=30)
            finally:
                await nc.drain()

    assert message.txid == txid
    assert message.label == 1
    published = await pool.fetchval(
        "SELECT published_at FROM verdict_outbox WHERE verdict_id = $1", uuid.UUID(verdict_id)
    )
    assert published is not None


async def _wait_for_attempt(pool: asyncpg.Pool, verdict_id: str) -> None:
    """Until the outbox has tried, and failed, to publish the verdict at least once."""
    async with asyncio.timeout(20):
        while True:
            row = await pool.fetchrow(
                "SELECT attempts, published_at, last_error FROM verdict_outbox"
                " WHERE verdict_id = $1",
                uuid.UUID(verdict_id),
            )
            assert row is not None and row["published_at"] is None, "published while NATS was down"
            if row["attempts"] > 0:
                return
            await asyncio.sleep(0.1)
