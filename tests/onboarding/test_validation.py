"""Malformed applicants are refused with every bad field named; nothing else gets through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chainwatch.onboarding.errors import InvalidRequestError
from chainwatch.onboarding.service import parse_request


def _fields(body: bytes) -> dict[str, str]:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(body)
    return {e.field: e.message for e in caught.value.field_errors}


def _with(applicant: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({"applicant": {**applicant, **changes}}).encode()


def test_a_valid_applicant_parses(applicant_json: dict[str, Any]) -> None:
    request = parse_request(json.dumps({"applicant": applicant_json}).encode())
    assert request.applicant.duration_months == applicant_json["duration_months"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"checking_account": "A11"}, "applicant.checking_account", "below_0_dm"),
        ({"duration_months": "12"}, "applicant.duration_months", "valid integer"),
        ({"duration_months": 12.5}, "applicant.duration_months", "integer"),
        ({"duration_months": 0}, "applicant.duration_months", "greater than or equal to 1"),
        ({"age_years": 17}, "applicant.age_years", "greater than or equal to 18"),
        ({"credit_amount_dm": -5}, "applicant.credit_amount_dm", "greater than or equal to 1"),
        ({"installment_rate": 5}, "applicant.installment_rate", "less than or equal to 4"),
        ({"foreign_worker": "yes"}, "applicant.foreign_worker", "valid boolean"),
        ({"sex": "female"}, "applicant.sex", "Extra inputs are not permitted"),
        ({"purpose": None}, "applicant.purpose", "purpose"),
    ],
)
def test_one_bad_field_is_named(
    applicant_json: dict[str, Any], changes: dict[str, Any], field: str, words: str
) -> None:
    errors = _fields(_with(applicant_json, **changes))
    assert list(errors) == [field]
    assert words in errors[field] or words in field


def test_every_missing_field_is_named(applicant_json: dict[str, Any]) -> None:
    partial = {k: v for k, v in applicant_json.items() if k not in ("savings", "housing")}
    errors = _fields(json.dumps({"applicant": partial}).encode())
    assert errors == {
        "applicant.savings": "Field required",
        "applicant.housing": "Field required",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b"{}", "applicant"),
        (b'{"applicant": "someone"}', "applicant"),
        (b'{"schema_version": 2, "applicant": {}}', "schema_version"),
    ],
)
def test_a_body_that_is_not_a_request_is_refused(body: bytes, field: str) -> None:
    assert field in _fields(body)


def test_a_bad_reference_is_refused(applicant_json: dict[str, Any]) -> None:
    body = json.dumps({"application_id": "no spaces allowed", "applicant": applicant_json})
    assert "application_id" in _fields(body.encode())
