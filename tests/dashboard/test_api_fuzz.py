"""The JSON API fuzzed from its own OpenAPI schema: whatever arrives, never a server error.

Schemathesis generates requests for every operation in ``/openapi.json`` (valid and
invalid parameters, bodies and path values) and sends them to the dashboard behind a real
uvicorn on loopback, signed in as a supervisor with a valid CSRF token, so that requests
reach the handlers rather than stopping at the sign-in. A 4xx is a fine answer to a bad
request; a 5xx fails the test.
"""

from __future__ import annotations

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from chainwatch.dashboard.auth.sessions import SESSION_COOKIE
from chainwatch.dashboard.deps import CSRF_HEADER

from .conftest import Accounts, RunningApp, ServedDashboard, session_for


@pytest.fixture
async def supervisor_headers(
    served_dashboard: ServedDashboard, accounts: Accounts, database_url: str
) -> dict[str, str]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    assert pool is not None
    try:
        token, csrf = await session_for(pool, accounts.supervisor)
    finally:
        await pool.close()
    return {
        "Cookie": f"{SESSION_COOKIE}={token}",
        CSRF_HEADER: csrf,
        "Origin": served_dashboard.origin,
    }


def test_no_request_makes_the_api_fail(
    served_dashboard: ServedDashboard, supervisor_headers: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{served_dashboard.base_url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, "the API documents its operations"

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def probe(case: schemathesis.Case) -> None:
            response = case.call(headers=supervisor_headers, timeout=15)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )

        probe()

    assert not failures, "\n".join(failures[:10])


async def test_a_nul_byte_in_a_search_is_refused_not_a_server_error(
    running_app: RunningApp, accounts: Accounts
) -> None:
    """What the fuzzer found once: PostgreSQL cannot hold a NUL, so asking for one is a 400."""
    await running_app.sign_in(accounts.supervisor)
    response = await running_app.client.get("/api/v1/audit", params={"txid": "ab\x00cd"})
    assert response.status_code == 400
