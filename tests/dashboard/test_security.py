"""Security: roles, CSRF, the sign-in throttle, cookies, secrets."""

from __future__ import annotations

import logging
import re
import uuid

import asyncpg
import pytest

from chainwatch.dashboard.auth.passwords import hash_password, verify_password
from chainwatch.dashboard.auth.sessions import LOGIN_COOKIE, SESSION_COOKIE
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.shared.schemas import RiskBand

from .conftest import PASSWORD, Accounts, RunningApp
from .factories import insert_decisions, make_decision, sanctions_hit

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _alert(pool: asyncpg.Pool) -> str:
    decision = make_decision(RiskBand.HIGH, rule_hits=[sanctions_hit(0.4)])
    await insert_decisions(pool, decision)
    return decision.txid


def _verdict(csrf: str | None, verdict: str, reason: str) -> dict[str, str]:
    form = {"verdict": verdict, "reason_code": reason, "verdict_id": str(uuid.uuid4())}
    if csrf is not None:
        form["csrf_token"] = csrf
    return form


async def _status(pool: asyncpg.Pool, txid: str) -> str | None:
    status: str | None = await pool.fetchval("SELECT status FROM alert_case WHERE txid = $1", txid)
    return status


async def test_an_analyst_cannot_close_an_escalation_but_a_supervisor_can(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    txid = await _alert(pool)
    client = running_app.client
    csrf = await running_app.sign_in(accounts.analyst)
    escalated = await client.post(
        f"/cases/{txid}/verdict", data=_verdict(csrf, "escalate", "potential_sar")
    )
    assert escalated.status_code == 303
    assert await _status(pool, txid) == "escalated"

    refused = await client.post(
        f"/cases/{txid}/verdict",
        data=_verdict(csrf, "true_positive", "sanctions_match"),
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 403
    assert "supervisor" in refused.text
    assert await _status(pool, txid) == "escalated"

    csrf = await running_app.sign_in(accounts.supervisor)
    closed = await client.post(
        f"/cases/{txid}/verdict", data=_verdict(csrf, "true_positive", "sanctions_match")
    )
    assert closed.status_code == 303
    assert await _status(pool, txid) == "closed"
    analysts = await pool.fetch(
        "SELECT analyst, verdict FROM review_verdict WHERE txid = $1 ORDER BY id", txid
    )
    assert [(r["analyst"], r["verdict"]) for r in analysts] == [
        (accounts.analyst.username, "escalate"),
        (accounts.supervisor.username, "true_positive"),
    ]


async def test_an_analyst_cannot_assign_to_others_nor_manage_users(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    txid = await _alert(pool)
    csrf = await running_app.sign_in(accounts.analyst)
    client = running_app.client

    other = await client.post(
        f"/cases/{txid}/assign",
        data={"csrf_token": csrf, "assignee": accounts.other_analyst.username},
    )
    users_page = await client.get("/admin/users")
    new_user = await client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "mallory", "role": "admin", "password": "x" * 16},
    )
    own = await client.post(f"/cases/{txid}/assign", data={"csrf_token": csrf, "assignee": "me"})

    assert other.status_code == 403
    assert users_page.status_code == 403
    assert new_user.status_code == 403
    assert not await pool.fetchval("SELECT 1 FROM dashboard_user WHERE username = 'mallory'")
    assert own.status_code == 303
    assert (
        await pool.fetchval("SELECT assignee FROM alert_case WHERE txid = $1", txid)
        == accounts.analyst.username
    )


async def test_the_api_enforces_the_same_roles(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    txid = await _alert(pool)
    csrf = await running_app.sign_in(accounts.analyst)
    headers = {"x-csrf-token": csrf}
    url = f"/api/v1/alerts/{txid}/verdicts"

    escalate = await running_app.client.post(
        url, json={"verdict": "escalate", "reason_code": "potential_sar"}, headers=headers
    )
    close = await running_app.client.post(
        url, json={"verdict": "false_positive", "reason_code": "label_error"}, headers=headers
    )

    assert escalate.status_code == 200
    assert escalate.json()["label"] is None
    assert close.status_code == 403


@pytest.mark.parametrize("token", [None, "", "0" * 64])
async def test_a_form_without_a_valid_csrf_token_is_refused(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool, token: str | None
) -> None:
    txid = await _alert(pool)
    await running_app.sign_in(accounts.analyst)

    response = await running_app.client.post(
        f"/cases/{txid}/verdict", data=_verdict(token, "false_positive", "label_error")
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not await pool.fetchval("SELECT count(*) FROM review_verdict WHERE txid = $1", txid)


async def test_another_sessions_token_or_another_origin_is_refused(
    running_app: RunningApp, accounts: Accounts, pool: asyncpg.Pool
) -> None:
    txid = await _alert(pool)
    stolen = await running_app.sign_in(accounts.other_analyst)
    mine = await running_app.sign_in(accounts.analyst)
    form = _verdict(stolen, "false_positive", "label_error")

    wrong_token = await running_app.client.post(f"/cases/{txid}/verdict", data=form)
    wrong_origin = await running_app.client.post(
        f"/cases/{txid}/verdict",
        data=_verdict(mine, "false_positive", "label_error"),
        headers={"origin": "http://evil.example"},
    )
    json_without_header = await running_app.client.post(
        f"/api/v1/alerts/{txid}/verdicts",
        json={"verdict": "false_positive", "reason_code": "label_error"},
    )

    assert wrong_token.status_code == 403
    assert wrong_origin.status_code == 403
    assert json_without_header.status_code == 403


async def _login(
    running_app: RunningApp, username: str, password: str
) -> tuple[int, dict[str, str]]:
    client = running_app.client
    page = await client.get("/login")
    match = _CSRF.search(page.text)
    assert match is not None
    response = await client.post(
        "/login",
        data={"csrf_token": match.group(1), "username": username, "password": password},
    )
    return response.status_code, dict(response.headers)


async def test_signing_in_sets_a_strict_http_only_session_cookie(
    running_app: RunningApp, accounts: Accounts
) -> None:
    status, headers = await _login(running_app, accounts.supervisor.username, PASSWORD)

    assert status == 303
    assert headers["location"] == "/alerts"
    cookie = next(c for c in running_app.client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (await running_app.client.get("/alerts")).status_code == 200


async def test_the_sign_in_form_needs_its_own_csrf_token(
    running_app: RunningApp, accounts: Accounts
) -> None:
    await running_app.client.get("/login")
    assert running_app.client.cookies.get(LOGIN_COOKIE, path="/login")

    response = await running_app.client.post(
        "/login", data={"username": accounts.analyst.username, "password": PASSWORD}
    )

    assert response.status_code == 403


async def test_repeated_failed_sign_ins_are_slowed(
    running_app: RunningApp, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    user = accounts.other_analyst.username
    settings: DashboardSettings = running_app.app.state.resources.settings
    wrong = "wrong password 123"

    with caplog.at_level(logging.INFO):
        failures = [
            await _login(running_app, user, wrong) for _ in range(settings.login_free_failures)
        ]
        throttled, headers = await _login(running_app, user, PASSWORD)
        unknown, _ = await _login(running_app, "no-such-user-here", "typed-my-password-here")

    assert [status for status, _ in failures] == [401] * settings.login_free_failures
    assert throttled == 429, "even the right password waits once the failures pile up"
    assert int(headers["retry-after"]) >= settings.login_base_delay_s
    assert unknown == 401
    logged = caplog.text
    assert wrong not in logged and PASSWORD not in logged
    assert "typed-my-password-here" not in logged and "no-such-user-here" not in logged
    assert f"failed sign-in for {user}" in logged


def test_passwords_are_salted_scrypt_hashes() -> None:
    assert hash_password("a long passphrase").startswith("scrypt$15$8$3$")
    first = hash_password("a long passphrase", log2_n=10, parallelism=1)
    second = hash_password("a long passphrase", log2_n=10, parallelism=1)

    assert first != second, "each hash has its own salt"
    assert verify_password("a long passphrase", first)
    assert not verify_password("a long passphrase!", first)
    assert not verify_password("anything", "md5$deadbeef")


@pytest.mark.parametrize("secret", [None, "changeme", "short-secret", "secret"])
def test_production_refuses_a_missing_or_placeholder_secret(secret: str | None) -> None:
    with pytest.raises(ValueError, match="SESSION_SECRET"):
        DashboardSettings(environment="production", session_secret=secret)


def test_development_runs_without_a_secret_and_secure_cookies_follow_the_environment() -> None:
    development = DashboardSettings(environment="development")
    production = DashboardSettings(environment="production", session_secret="x" * 40)

    assert development.secure_cookies is False
    assert production.secure_cookies is True
    assert len(development.secret_key()) == 32
