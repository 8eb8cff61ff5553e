"""The HTTP API: decisions on valid applicants, clear refusals of malformed ones."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.onboarding.pipeline import TrainedVersion

from .support import MAX_REQUEST_BYTES, Wired, wired


@pytest.fixture
async def api(nc: NATS, pool: asyncpg.Pool, trained: TrainedVersion) -> AsyncIterator[Wired]:
    async with wired(nc, pool, trained) as w:
        yield w


async def test_a_valid_applicant_gets_a_recorded_decision(
    api: Wired, applicant_json: dict[str, Any]
) -> None:
    response = await api.http.post(
        "/v1/onboarding/score", json={"application_id": "crm-1", "applicant": applicant_json}
    )
    assert response.status_code == 200
    decision = response.json()
    assert decision["outcome"] in ("accept", "refuse")
    assert (decision["outcome"] == "refuse") == (decision["risk_proba"] >= decision["threshold"])
    assert len(decision["reasons"]) == 18
    assert decision["narrative"]["path"] == "template"
    assert decision["narrative"]["fallback_reason"] == "no Claude API key configured"

    recorded = (await api.http.get(f"/v1/onboarding/decisions/{decision['decision_id']}")).json()
    assert recorded["row_hash"] == decision["audit_row_hash"]
    assert recorded["channel"] == "http"
    assert recorded["application_id"] == "crm-1"
    assert recorded["applicant"] == applicant_json
    assert recorded["risk_proba"] == decision["risk_proba"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration_months": "twelve"}, "applicant.duration_months"),
        ({"housing": "castle"}, "applicant.housing"),
        ({"age_years": 150}, "applicant.age_years"),
        ({"telephone_registered": 1}, "applicant.telephone_registered"),
        ({"nationality": "x"}, "applicant.nationality"),
    ],
)
async def test_a_malformed_applicant_is_refused_and_nothing_is_recorded(
    api: Wired, applicant_json: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    before = await api.rows()
    response = await api.http.post(
        "/v1/onboarding/score", json={"applicant": {**applicant_json, **change}}
    )
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "invalid_request"
    assert [e["field"] for e in error["field_errors"]] == [field]
    assert await api.rows() == before


async def test_a_body_that_is_not_json_is_refused(api: Wired) -> None:
    response = await api.http.post(
        "/v1/onboarding/score", content=b"{applicant:", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["field_errors"][0]["field"] == "body"

    response = await api.http.post("/v1/onboarding/score", content=b"a=1")
    assert response.status_code == 415


async def test_an_oversized_body_is_refused_unread(api: Wired) -> None:
    body = json.dumps({"applicant": {"padding": "x" * MAX_REQUEST_BYTES}}).encode()
    response = await api.http.post(
        "/v1/onboarding/score", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_without_a_model_the_service_is_unavailable(
    nc: NATS, pool: asyncpg.Pool, applicant_json: dict[str, Any]
) -> None:
    async with wired(nc, pool, None) as api:
        response = await api.http.post("/v1/onboarding/score", json={"applicant": applicant_json})
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert response.json()["code"] == "no_model"
        ready = await api.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["model"] is False


async def test_the_card_attributes_and_recent_decisions_are_served(
    api: Wired, applicant_json: dict[str, Any]
) -> None:
    card = (await api.http.get("/v1/onboarding/model")).json()
    assert {"metrics", "baseline", "fairness", "threshold"} <= set(card)

    fields = (await api.http.get("/v1/onboarding/attributes")).json()
    assert len(fields) == 20
    purpose = next(f for f in fields if f["name"] == "purpose")
    assert {"value": "car_new", "label": "new car"} in purpose["values"]

    await api.http.post("/v1/onboarding/score", json={"applicant": applicant_json})
    recent = (await api.http.get("/v1/onboarding/decisions?limit=1")).json()
    assert len(recent) == 1
    assert (await api.http.get("/v1/onboarding/decisions?limit=0")).status_code == 422
    assert (await api.http.get("/v1/onboarding/decisions/not-a-uuid")).status_code == 422
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await api.http.get(f"/v1/onboarding/decisions/{missing}")).status_code == 404


async def test_the_form_decides_and_names_bad_fields(
    api: Wired, applicant_json: dict[str, Any]
) -> None:
    page = await api.http.get("/v1/onboarding/form")
    assert page.status_code == 200
    assert "<select name=purpose" in page.text

    form = {
        k: ("yes" if v is True else "no" if v is False else str(v))
        for k, v in applicant_json.items()
    }
    decided = await api.http.post("/v1/onboarding/form", data=form)
    assert decided.status_code == 200
    assert "Decision:" in decided.text and "Reasons" in decided.text

    refused = await api.http.post("/v1/onboarding/form", data={**form, "age_years": "<b>x</b>"})
    assert refused.status_code == 422
    assert "applicant.age_years" in refused.text
    assert "<b>x</b>" not in refused.text  # what the client sent comes back escaped
