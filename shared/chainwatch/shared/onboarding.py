"""Onboarding risk: the applicant, the request and reply on ``chainwatch.onboarding.score``.

An applicant is described by the 20 attributes of the Statlog (German credit) data set, with
the data set's codes (``A11``, ``A43``, ...) decoded into readable values; money is in
Deutsche Mark (DM), as in the data. The onboarding service answers a request with an
``OnboardingReply``: a ``decision`` once the decision is in the audit trail
(``onboarding_decision``), or an ``error`` that names every field it refused.

What a decision means: ``risk_proba`` is the calibrated probability that the applicant
turns out a bad risk; the applicant is refused when it is at least ``threshold``, the
threshold that minimises the expected cost when accepting a bad applicant costs 5 and
refusing a good one costs 1. ``reasons`` are the applicant's attributes by how much each
moved the score, in log-odds: ``base_log_odds + sum(reasons.log_odds) == output_log_odds``.

Unlike the other wire models, ``Applicant`` refuses fields it does not know: a misspelt
attribute must be an error the client sees, not a value silently ignored.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from chainwatch.shared import subjects
from chainwatch.shared.explanations import Narrative
from chainwatch.shared.schemas import WireModel

ONBOARDING_SCORE = f"{subjects.PREFIX}.onboarding.score"
"""Request/reply: an ``OnboardingRequest`` in, an ``OnboardingReply`` back (no stream)."""


class CheckingAccount(StrEnum):
    """Status of the existing checking account (attribute 1)."""

    BELOW_0_DM = "below_0_dm"
    FROM_0_TO_200_DM = "0_to_200_dm"
    AT_LEAST_200_DM = "200_dm_or_more"
    """At least 200 DM, or salary paid into it for at least a year."""
    NONE = "no_account"


class CreditHistory(StrEnum):
    """Credit history (attribute 3)."""

    NO_CREDITS_OR_ALL_PAID = "no_credits_or_all_paid"
    ALL_PAID_AT_THIS_BANK = "all_paid_at_this_bank"
    EXISTING_PAID_DULY = "existing_paid_duly"
    PAST_DELAYS = "past_delays"
    CRITICAL = "critical_or_credits_elsewhere"
    """A critical account, or other credits existing at another bank."""


class Purpose(StrEnum):
    """What the credit is for (attribute 4)."""

    CAR_NEW = "car_new"
    CAR_USED = "car_used"
    FURNITURE = "furniture_equipment"
    RADIO_TELEVISION = "radio_television"
    DOMESTIC_APPLIANCES = "domestic_appliances"
    REPAIRS = "repairs"
    EDUCATION = "education"
    VACATION = "vacation"
    RETRAINING = "retraining"
    BUSINESS = "business"
    OTHER = "other"


class Savings(StrEnum):
    """Savings account or bonds (attribute 6)."""

    BELOW_100_DM = "below_100_dm"
    FROM_100_TO_500_DM = "100_to_500_dm"
    FROM_500_TO_1000_DM = "500_to_1000_dm"
    AT_LEAST_1000_DM = "1000_dm_or_more"
    UNKNOWN_OR_NONE = "unknown_or_none"


class EmploymentSince(StrEnum):
    """Present employment since (attribute 7)."""

    UNEMPLOYED = "unemployed"
    BELOW_1_YEAR = "below_1_year"
    FROM_1_TO_4_YEARS = "1_to_4_years"
    FROM_4_TO_7_YEARS = "4_to_7_years"
    AT_LEAST_7_YEARS = "7_years_or_more"


class PersonalStatusSex(StrEnum):
    """Personal status and sex (attribute 9); a protected attribute."""

    MALE_DIVORCED_SEPARATED = "male_divorced_separated"
    FEMALE_DIVORCED_SEPARATED_MARRIED = "female_divorced_separated_married"
    MALE_SINGLE = "male_single"
    MALE_MARRIED_WIDOWED = "male_married_widowed"
    FEMALE_SINGLE = "female_single"

    @property
    def sex(self) -> Literal["male", "female"]:
        return "female" if self.value.startswith("female") else "male"


class OtherDebtors(StrEnum):
    """Other debtors or guarantors (attribute 10)."""

    NONE = "none"
    CO_APPLICANT = "co_applicant"
    GUARANTOR = "guarantor"


class PropertyKind(StrEnum):
    """The most valuable kind of property held (attribute 12), in the data set's order."""

    REAL_ESTATE = "real_estate"
    SAVINGS_AGREEMENT_OR_LIFE_INSURANCE = "savings_agreement_or_life_insurance"
    CAR_OR_OTHER = "car_or_other"
    UNKNOWN_OR_NONE = "unknown_or_none"


class OtherInstallmentPlans(StrEnum):
    """Other instalment plans (attribute 14)."""

    BANK = "bank"
    STORES = "stores"
    NONE = "none"


class Housing(StrEnum):
    """Housing (attribute 15)."""

    RENT = "rent"
    OWN = "own"
    FOR_FREE = "for_free"


class Job(StrEnum):
    """Job (attribute 17)."""

    UNEMPLOYED_OR_UNSKILLED_NON_RESIDENT = "unemployed_or_unskilled_non_resident"
    UNSKILLED_RESIDENT = "unskilled_resident"
    SKILLED = "skilled_employee_or_official"
    HIGHLY_QUALIFIED = "management_self_employed_or_highly_qualified"


def _count(low: int, high: int, description: str) -> Any:
    """A strict integer field in [low, high]."""
    return Field(strict=True, ge=low, le=high, description=description)


class Applicant(WireModel):
    """One applicant: the 20 attributes of the German credit data, decoded.

    Integers must be JSON integers (``"12"`` and ``12.5`` are refused); categorical values
    must be one of their enumeration's values; unknown fields are refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    checking_account: CheckingAccount
    duration_months: int = _count(1, 120, "Duration of the credit, months")
    credit_history: CreditHistory
    purpose: Purpose
    credit_amount_dm: int = _count(1, 10_000_000, "Credit amount, Deutsche Mark")
    savings: Savings
    employment_since: EmploymentSince
    installment_rate: int = _count(
        1, 4, "Instalment as a share of disposable income, the data set's ordinal code 1..4"
    )
    personal_status_sex: PersonalStatusSex
    other_debtors: OtherDebtors
    residence_since: int = _count(
        1, 4, "Time at the present residence, the data set's ordinal code 1..4"
    )
    property_kind: PropertyKind
    age_years: int = _count(18, 120, "Age, years")
    other_installment_plans: OtherInstallmentPlans
    housing: Housing
    existing_credits: int = _count(1, 20, "Number of existing credits at this bank")
    job: Job
    dependents: int = _count(0, 20, "Number of people the applicant provides maintenance for")
    telephone_registered: bool = Field(
        strict=True, description="A telephone registered under the applicant's name"
    )
    foreign_worker: bool = Field(strict=True, description="The applicant is a foreign worker")


ApplicationId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="The client's reference")
]


class OnboardingRequest(WireModel):
    """Score one applicant (subject ``chainwatch.onboarding.score``, request/reply)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    application_id: ApplicationId | None = Field(
        None, description="The client's own reference, recorded with the decision"
    )
    applicant: Applicant


class Outcome(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"


class Reason(WireModel):
    """One attribute's part in the score of one applicant (exact TreeSHAP, in log-odds)."""

    attribute: str = Field(description="Attribute name, as in Applicant")
    label: str = Field(description="Readable name, e.g. 'checking account'")
    value: str | int | bool = Field(description="The applicant's value of the attribute")
    value_text: str = Field(description="The value in words, e.g. 'below 0 DM'")
    log_odds: float = Field(description="Contribution to the calibrated log-odds of a bad risk")
    effect: Literal["raises_risk", "lowers_risk"]


class OnboardingDecision(WireModel):
    """A decision on one applicant, returned once it is written to the audit trail."""

    schema_version: Literal[1] = 1
    decision_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()), description="UUID; the key of the decision"
    )
    application_id: str | None = None
    decided_at: AwareDatetime
    outcome: Outcome
    risk_proba: float = Field(
        ge=0.0, le=1.0, description="Calibrated probability that the applicant is a bad risk"
    )
    threshold: float = Field(ge=0.0, le=1.0, description="Refused when risk_proba >= threshold")
    expected_cost_accept: float = Field(ge=0.0, description="5 × risk_proba: cost of accepting")
    expected_cost_refuse: float = Field(ge=0.0, description="1 × (1 - risk_proba): of refusing")
    model_name: str
    model_version: str
    base_log_odds: float = Field(description="The model's expected calibrated log-odds")
    output_log_odds: float = Field(description="Calibrated log-odds of this applicant")
    reasons: list[Reason] = Field(description="Every attribute the model uses, largest first")
    narrative: Narrative
    audit_row_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="row_hash of the decision's audit row, hex"
    )


class FieldError(WireModel):
    """One thing wrong with a request: where, and what."""

    field: str = Field(description="Dotted path of the field, e.g. applicant.age_years")
    message: str


class OnboardingError(WireModel):
    """Why no decision was made."""

    code: Literal["invalid_request", "no_model", "unavailable", "internal"]
    message: str
    field_errors: list[FieldError] = Field(default_factory=list)


class OnboardingReply(WireModel):
    """The reply on ``chainwatch.onboarding.score``: exactly one of decision and error."""

    schema_version: Literal[1] = 1
    decision: OnboardingDecision | None = None
    error: OnboardingError | None = None
