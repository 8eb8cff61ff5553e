"""Request/reply on chainwatch.onboarding.score: decisions, and clear refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.shared.onboarding import OnboardingReply

from .support import MAX_REQUEST_BYTES, Wired, wired


@pytest.fixture
async def bus(nc: NATS, pool: asyncpg.Pool, trained: TrainedVersion) -> AsyncIterator[Wired]:
    async with wired(nc, pool, trained) as w:
        yield w


async def test_a_valid_request_is_answered_with_its_recorded_decision(
    bus: Wired, applicant_json: dict[str, Any]
) -> None:
    body = json.dumps({"application_id": "crm-7", "applicant": applicant_json}).encode()
    status, reply = await bus.request(body)
    assert status == "200"
    decision = OnboardingReply.model_validate(reply).decision
    assert decision is not None
    assert decision.application_id == "crm-7"

    row = await bus.pool.fetchrow(
        "SELECT channel, outcome, encode(row_hash, 'hex') AS row_hash FROM onboarding_decision "
        "WHERE decision_id = $1::uuid",
        decision.decision_id,
    )
    assert row is not None
    assert (row["channel"], row["outcome"]) == ("nats", decision.outcome.value)
    assert row["row_hash"] == decision.audit_row_hash


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"\xff\xfe not json", "body"),
        (b'{"applicant": {}}', "applicant.checking_account"),
        (b'{"applicant": null}', "applicant"),
    ],
)
async def test_a_malformed_request_is_answered_with_the_fields_at_fault(
    bus: Wired, body: bytes, field: str
) -> None:
    before = await bus.rows()
    status, reply = await bus.request(body)
    assert status == "422"
    error = OnboardingReply.model_validate(reply).error
    assert error is not None and error.code == "invalid_request"
    assert field in [e.field for e in error.field_errors]
    assert await bus.rows() == before


async def test_a_bad_value_is_named_among_good_ones(
    bus: Wired, applicant_json: dict[str, Any]
) -> None:
    body = json.dumps({"applicant": {**applicant_json, "savings": 100, "job": "pilot"}})
    status, reply = await bus.request(body.encode())
    assert status == "422"
    fields = [e["field"] for e in reply["error"]["field_errors"]]
    assert fields == ["applicant.savings", "applicant.job"]
    assert "'below_100_dm'" in reply["error"]["field_errors"][0]["message"]


async def test_an_oversized_request_is_refused(bus: Wired) -> None:
    status, reply = await bus.request(b"{" + b" " * MAX_REQUEST_BYTES + b"}")
    assert status == "422"
    assert "over the limit" in reply["error"]["message"]


async def test_without_a_model_the_request_is_answered_unavailable(
    nc: NATS, pool: asyncpg.Pool, applicant_json: dict[str, Any]
) -> None:
    async with wired(nc, pool, None) as bus:
        status, reply = await bus.request(json.dumps({"applicant": applicant_json}).encode())
    assert status == "503"
    assert reply["error"]["code"] == "no_model"
