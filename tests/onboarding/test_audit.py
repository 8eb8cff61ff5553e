"""Every decision is in the audit trail, once, as answered; the trail is append-only and a
change after the fact is found and named."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.onboarding import __main__ as cli
from chainwatch.onboarding import audit
from chainwatch.onboarding.dataset import CreditData
from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.shared import db
from chainwatch.shared.settings import DatabaseSettings

from .support import wired


@pytest.fixture
async def fresh_pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(DatabaseSettings(url=fresh_database_url))
    yield pool
    await pool.close()


async def test_every_decision_on_either_channel_has_its_own_row(
    nc: NATS, fresh_pool: asyncpg.Pool, trained: TrainedVersion, credit_data: CreditData
) -> None:
    answered = {}
    async with wired(nc, fresh_pool, trained) as service:
        for i, applicant in enumerate(credit_data.applicants[:24]):
            body = {
                "application_id": f"a-{i}",
                "applicant": json.loads(applicant.model_dump_json()),
            }
            if i % 2:
                status, reply = await service.request(json.dumps(body).encode())
                assert status == "200"
                decision = reply["decision"]
            else:
                response = await service.http.post("/v1/onboarding/score", json=body)
                assert response.status_code == 200
                decision = response.json()
            answered[decision["decision_id"]] = decision

    rows = await fresh_pool.fetch(
        "SELECT decision_id::text AS id, application_id, outcome, risk_proba, threshold, "
        "model_version, reasons, narrative, encode(row_hash, 'hex') AS row_hash, chain_seq "
        "FROM onboarding_decision ORDER BY chain_seq"
    )
    assert [r["chain_seq"] for r in rows] == list(range(1, 25))
    assert {r["id"] for r in rows} == set(answered)
    for row in rows:
        decision = answered[row["id"]]
        assert row["outcome"] == decision["outcome"]
        assert row["risk_proba"] == decision["risk_proba"]
        assert row["threshold"] == decision["threshold"]
        assert row["model_version"] == decision["model_version"]
        assert row["row_hash"] == decision["audit_row_hash"]
        assert row["narrative"] == decision["narrative"]["text"]
        assert json.loads(row["reasons"]) == decision["reasons"]

    async with fresh_pool.acquire() as conn:
        report = await audit.verify_chain(conn)
    assert report.intact and report.rows_checked == 24


async def test_the_trail_refuses_changes_and_removals(
    nc: NATS, fresh_pool: asyncpg.Pool, trained: TrainedVersion, credit_data: CreditData
) -> None:
    async with wired(nc, fresh_pool, trained) as service:
        body = {"applicant": json.loads(credit_data.applicants[0].model_dump_json())}
        assert (await service.http.post("/v1/onboarding/score", json=body)).status_code == 200

    for statement in (
        "UPDATE onboarding_decision SET outcome = 'accept'",
        "DELETE FROM onboarding_decision",
        "TRUNCATE onboarding_decision",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await fresh_pool.execute(statement)


@pytest.mark.parametrize("tampering", ["changed", "removed"])
async def test_verify_names_the_first_row_changed_or_removed_behind_the_triggers(
    nc: NATS,
    fresh_pool: asyncpg.Pool,
    trained: TrainedVersion,
    credit_data: CreditData,
    tampering: str,
) -> None:
    async with wired(nc, fresh_pool, trained) as service:
        for applicant in credit_data.applicants[:5]:
            body = {"applicant": json.loads(applicant.model_dump_json())}
            assert (await service.http.post("/v1/onboarding/score", json=body)).status_code == 200

    async with fresh_pool.acquire() as conn:
        # What only the table's owner can do: turn the guards off and rewrite history.
        await conn.execute("ALTER TABLE onboarding_decision DISABLE TRIGGER USER")
        if tampering == "changed":
            await conn.execute(
                "UPDATE onboarding_decision SET risk_proba = 0.01 WHERE chain_seq = 3"
            )
        else:
            await conn.execute("DELETE FROM onboarding_decision WHERE chain_seq = 3")
        await conn.execute("ALTER TABLE onboarding_decision ENABLE TRIGGER USER")
        report = await audit.verify_chain(conn)

    assert report.first_break is not None
    assert report.rows_checked == 2
    expected = {"changed": (3, "changed"), "removed": (4, "removed")}[tampering]
    assert report.first_break.chain_seq == expected[0]
    assert expected[1] in report.first_break.problem


async def _decide_some(
    nc: NATS, pool: asyncpg.Pool, trained: TrainedVersion, credit_data: CreditData, count: int
) -> None:
    async with wired(nc, pool, trained) as service:
        for applicant in credit_data.applicants[:count]:
            body = {"applicant": json.loads(applicant.model_dump_json())}
            assert (await service.http.post("/v1/onboarding/score", json=body)).status_code == 200


async def test_the_chain_verifies_whatever_the_session_float_digits(
    nc: NATS, fresh_pool: asyncpg.Pool, trained: TrainedVersion, credit_data: CreditData
) -> None:
    await _decide_some(nc, fresh_pool, trained, credit_data, 3)
    async with fresh_pool.acquire() as conn:
        await conn.execute("SET extra_float_digits = 0")  # float8::text would round to 15 digits
        report = await audit.verify_chain(conn)
        await conn.execute("RESET extra_float_digits")
    assert report.intact and report.rows_checked == 3


async def test_a_replaced_hash_function_and_a_cut_head_are_reported(
    nc: NATS, fresh_pool: asyncpg.Pool, trained: TrainedVersion, credit_data: CreditData
) -> None:
    await _decide_some(nc, fresh_pool, trained, credit_data, 3)
    async with fresh_pool.acquire() as conn:
        assert await audit.replaced_functions(conn) == []
        anchor = await audit.head(conn)
        assert anchor is not None and anchor[0] == 3
        assert await audit.check_anchor(conn, *anchor) is None

        # Cut the newest row: the rest of the chain still links, only the anchor can tell.
        await conn.execute("ALTER TABLE onboarding_decision DISABLE TRIGGER USER")
        await conn.execute("DELETE FROM onboarding_decision WHERE chain_seq = 3")
        await conn.execute("ALTER TABLE onboarding_decision ENABLE TRIGGER USER")
        assert (await audit.verify_chain(conn)).intact
        assert await audit.check_anchor(conn, *anchor) == "anchored row chain_seq=3 is gone"

        # A canonical function that hashes less is a replaced function.
        await conn.execute(
            "CREATE OR REPLACE FUNCTION onboarding_decision_canonical(d onboarding_decision) "
            "RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT convert_to(d.outcome, 'UTF8') $$"
        )
        assert await audit.replaced_functions(conn) == ["onboarding_decision_canonical"]


def test_verify_audit_exits_1_naming_the_broken_row(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setattr(cli, "configure_logging", lambda *args: None)  # keep pytest's handlers
    with pytest.raises(SystemExit) as done:
        cli.main(["verify-audit"])
    assert done.value.code == 0
    assert "intact: 0 rows" in capsys.readouterr().out

    with pytest.raises(SystemExit) as done:
        cli.main(["verify-audit", "--anchor", "5:" + "ab" * 32])
    assert done.value.code == 1
    assert "chain_seq=5 is gone" in capsys.readouterr().out
