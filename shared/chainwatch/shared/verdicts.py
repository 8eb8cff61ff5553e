"""Analysts' verdicts on flagged decisions: the subject, its stream and the message.

The dashboard publishes a ``ReviewVerdict`` on ``chainwatch.review.verdict`` for every
verdict an analyst or supervisor records, after the verdict is committed to the audit trail
(table ``review_verdict``), through an outbox: a verdict recorded while NATS is away is
published when it returns. ``Nats-Msg-Id`` is the ``verdict_id``, so a verdict published
twice within the stream's duplicate window is stored once; a consumer that replays the
stream should still treat ``verdict_id`` as the key of a verdict.

What a verdict teaches: ``true_positive`` means the transaction is illicit (label 1),
``false_positive`` that it is not (label 0); ``escalate`` says nothing about the label yet,
only that a supervisor must decide. A later verdict on the same txid supersedes an earlier
one (a supervisor closing an escalation, or overriding a closed case).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from chainwatch.shared import subjects
from chainwatch.shared.schemas import RiskBand, Tier, Txid, WireModel

REVIEW_VERDICT = f"{subjects.PREFIX}.review.verdict"
"""One message per recorded verdict, published once it is in the audit trail."""

REVIEW_STREAM = subjects.StreamSpec(
    name="CHAINWATCH_REVIEW",
    subjects=(REVIEW_VERDICT,),
    max_age=timedelta(days=365),
    duplicate_window=timedelta(days=1),
    description="Analysts' verdicts on flagged decisions, one message per verdict_id",
)


class Verdict(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"
    ESCALATE = "escalate"

    @property
    def label(self) -> int | None:
        """1 for illicit, 0 for legitimate, None while undecided (escalated)."""
        return {"true_positive": 1, "false_positive": 0}.get(self.value)


class ReasonCode(StrEnum):
    """Why an analyst reached a verdict; each code belongs to one verdict (``REASON_CODES``)."""

    SANCTIONS_MATCH = "sanctions_match"
    ILLICIT_EXPOSURE_CONFIRMED = "illicit_exposure_confirmed"
    TYPOLOGY_CONFIRMED = "typology_confirmed"
    CUSTOMER_RISK_CONFIRMED = "customer_risk_confirmed"
    LABEL_ERROR = "label_error"
    LEGITIMATE_SERVICE = "legitimate_service"
    EXPOSURE_TOO_REMOTE = "exposure_too_remote"
    KNOWN_CUSTOMER_ACTIVITY = "known_customer_activity"
    MODEL_ERROR = "model_error"
    NEEDS_SUPERVISOR_REVIEW = "needs_supervisor_review"
    POTENTIAL_SAR = "potential_sar"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OTHER = "other"


REASON_CODES: dict[Verdict, tuple[ReasonCode, ...]] = {
    Verdict.TRUE_POSITIVE: (
        ReasonCode.SANCTIONS_MATCH,
        ReasonCode.ILLICIT_EXPOSURE_CONFIRMED,
        ReasonCode.TYPOLOGY_CONFIRMED,
        ReasonCode.CUSTOMER_RISK_CONFIRMED,
        ReasonCode.OTHER,
    ),
    Verdict.FALSE_POSITIVE: (
        ReasonCode.LABEL_ERROR,
        ReasonCode.LEGITIMATE_SERVICE,
        ReasonCode.EXPOSURE_TOO_REMOTE,
        ReasonCode.KNOWN_CUSTOMER_ACTIVITY,
        ReasonCode.MODEL_ERROR,
        ReasonCode.OTHER,
    ),
    Verdict.ESCALATE: (
        ReasonCode.NEEDS_SUPERVISOR_REVIEW,
        ReasonCode.POTENTIAL_SAR,
        ReasonCode.INSUFFICIENT_INFORMATION,
        ReasonCode.OTHER,
    ),
}
"""The reason codes each verdict accepts, in the order a form lists them."""

REASON_LABELS: dict[ReasonCode, str] = {
    ReasonCode.SANCTIONS_MATCH: "Sanctions match confirmed",
    ReasonCode.ILLICIT_EXPOSURE_CONFIRMED: "Illicit exposure confirmed",
    ReasonCode.TYPOLOGY_CONFIRMED: "Typology confirmed (peel chain, structuring, ...)",
    ReasonCode.CUSTOMER_RISK_CONFIRMED: "Customer risk confirmed",
    ReasonCode.LABEL_ERROR: "Address label is wrong",
    ReasonCode.LEGITIMATE_SERVICE: "Counterparty is a legitimate service",
    ReasonCode.EXPOSURE_TOO_REMOTE: "Exposure too remote or too small",
    ReasonCode.KNOWN_CUSTOMER_ACTIVITY: "Known, documented customer activity",
    ReasonCode.MODEL_ERROR: "Model error",
    ReasonCode.NEEDS_SUPERVISOR_REVIEW: "Needs a supervisor's review",
    ReasonCode.POTENTIAL_SAR: "Potential suspicious activity report",
    ReasonCode.INSUFFICIENT_INFORMATION: "Insufficient information",
    ReasonCode.OTHER: "Other (see note)",
}
"""How each reason code reads to people, on forms and in reports."""


class ReviewVerdict(WireModel):
    """A verdict on a flagged decision (subject ``chainwatch.review.verdict``).

    Carries what the decision was when the verdict was given (score, band, tier, model
    versions and the feature vector), so a learner can learn from it without a database
    round trip. The analyst's free-text note stays in the audit trail and is not published.
    """

    schema_version: Literal[1] = 1
    verdict_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()), description="UUID; the key of the verdict"
    )
    txid: Txid
    verdict: Verdict
    label: int | None = Field(description="1 illicit, 0 legitimate, null when escalated")
    reason_code: ReasonCode
    has_note: bool = Field(False, description="Whether the analyst wrote a note (kept in audit)")
    analyst: str = Field(description="Username of who recorded the verdict")
    analyst_role: Literal["analyst", "supervisor", "admin"]
    decided_at: AwareDatetime = Field(description="When the verdict was recorded, UTC")
    risk_score: float = Field(ge=0.0, le=1.0, description="The decision's risk score")
    band: RiskBand
    deciding_tier: Tier
    model_versions: dict[str, str] = Field(default_factory=dict)
    feature_set_version: str = ""
    features: dict[str, float | None] = Field(
        default_factory=dict, description="The feature vector of the decision; null = unknown"
    )

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    @model_validator(mode="after")
    def _label_matches_verdict(self) -> ReviewVerdict:
        if self.label != self.verdict.label:
            raise ValueError(f"label {self.label} contradicts verdict {self.verdict.value}")
        return self
