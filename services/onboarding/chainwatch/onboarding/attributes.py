"""The 20 attributes of the German credit data: their codes, readable names and values.

Decoded from the data set's own description (``german.doc``): attribute ``n`` is column
``n`` of ``german.data``; a qualitative attribute's codes (``A11`` ... ``A14``) map to the
values of its enumeration in ``chainwatch.shared.onboarding``, in the same order, so a
value's position in its enumeration is its category index for the model. Money is in
Deutsche Mark (DM), as in the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from chainwatch.shared.onboarding import (
    Applicant,
    CheckingAccount,
    CreditHistory,
    EmploymentSince,
    Housing,
    Job,
    OtherDebtors,
    OtherInstallmentPlans,
    PersonalStatusSex,
    PropertyKind,
    Purpose,
    Savings,
)

Kind = Literal["categorical", "integer", "binary"]


@dataclass(frozen=True)
class Attribute:
    """One attribute: its field in ``Applicant``, its column and how it reads.

    ``codes`` maps the data set's code to the wire value (categorical and binary
    attributes); ``value_labels`` maps a categorical wire value to words; ``unit`` is the
    unit of an integer attribute, written after its value.
    """

    name: str
    number: int
    label: str
    kind: Kind
    enum: type[StrEnum] | None = None
    codes: Mapping[str, str | bool] = field(default_factory=dict)
    value_labels: Mapping[str, str] = field(default_factory=dict)
    unit: str = ""

    @property
    def categories(self) -> tuple[str, ...]:
        """The wire values of a categorical attribute; a value's index is its model code."""
        return tuple(member.value for member in self.enum) if self.enum else ()

    def value_text(self, value: str | int | bool) -> str:
        """The value in words: 'below 0 DM', '24 months', 'yes'."""
        if self.kind == "binary":
            return "yes" if value else "no"
        if self.kind == "integer":
            number = f"{value:,}" if isinstance(value, int) and value >= 10_000 else str(value)
            return f"{number} {self.unit}".strip()
        return self.value_labels.get(str(value), str(value))


def _categorical(
    name: str, number: int, label: str, enum: type[StrEnum], labels: tuple[str, ...]
) -> Attribute:
    """A qualitative attribute whose codes are ``A<number>1``, ``A<number>2``, ... in order."""
    members = list(enum)
    if len(members) != len(labels):
        raise ValueError(f"{name}: {len(members)} values but {len(labels)} labels")
    codes = {f"A{number}{i}": m.value for i, m in enumerate(members, start=_first_code(number))}
    return Attribute(
        name=name,
        number=number,
        label=label,
        kind="categorical",
        enum=enum,
        codes=codes,
        value_labels={m.value: text for m, text in zip(members, labels, strict=True)},
    )


def _first_code(number: int) -> int:
    """Attribute 3's codes start at A30, attribute 4's at A40; every other one's at 1."""
    return 0 if number in (3, 4) else 1


def _integer(name: str, number: int, label: str, unit: str = "") -> Attribute:
    return Attribute(name=name, number=number, label=label, kind="integer", unit=unit)


def _binary(name: str, number: int, label: str, yes: str, no: str) -> Attribute:
    return Attribute(
        name=name, number=number, label=label, kind="binary", codes={yes: True, no: False}
    )


ATTRIBUTES: tuple[Attribute, ...] = (
    _categorical("checking_account", 1, "checking account", CheckingAccount, (
        "below 0 DM", "0 to 200 DM", "200 DM or more, or salary paid in for a year or more",
        "no checking account")),
    _integer("duration_months", 2, "duration", "months"),
    _categorical("credit_history", 3, "credit history", CreditHistory, (
        "no credits taken, or all paid back duly", "all credits at this bank paid back duly",
        "existing credits paid back duly so far", "delays in paying off in the past",
        "critical account, or credits at other banks")),
    _categorical("purpose", 4, "purpose", Purpose, (
        "new car", "used car", "furniture or equipment", "radio or television",
        "domestic appliances", "repairs", "education", "vacation", "retraining", "business",
        "other")),
    _integer("credit_amount_dm", 5, "credit amount", "DM"),
    _categorical("savings", 6, "savings", Savings, (
        "below 100 DM", "100 to 500 DM", "500 to 1000 DM", "1000 DM or more",
        "unknown or no savings account")),
    _categorical("employment_since", 7, "present employment", EmploymentSince, (
        "unemployed", "less than 1 year", "1 to 4 years", "4 to 7 years", "7 years or more")),
    _integer("installment_rate", 8, "instalment rate", "(code 1-4)"),
    _categorical("personal_status_sex", 9, "personal status and sex", PersonalStatusSex, (
        "male, divorced or separated", "female, divorced, separated or married",
        "male, single", "male, married or widowed", "female, single")),
    _categorical("other_debtors", 10, "other debtors or guarantors", OtherDebtors, (
        "none", "co-applicant", "guarantor")),
    _integer("residence_since", 11, "present residence", "(code 1-4)"),
    _categorical("property_kind", 12, "property", PropertyKind, (
        "real estate", "building society savings or life insurance", "car or other",
        "unknown or no property")),
    _integer("age_years", 13, "age", "years"),
    _categorical("other_installment_plans", 14, "other instalment plans", OtherInstallmentPlans,
                 ("at a bank", "at stores", "none")),
    _categorical("housing", 15, "housing", Housing, ("rent", "own", "for free")),
    _integer("existing_credits", 16, "existing credits at this bank"),
    _categorical("job", 17, "job", Job, (
        "unemployed or unskilled, non-resident", "unskilled, resident",
        "skilled employee or official", "management, self-employed or highly qualified")),
    _integer("dependents", 18, "people provided for"),
    _binary("telephone_registered", 19, "telephone in own name", yes="A192", no="A191"),
    _binary("foreign_worker", 20, "foreign worker", yes="A201", no="A202"),
)  # fmt: skip
"""Every attribute, in the column order of ``german.data``."""

BY_NAME: dict[str, Attribute] = {a.name: a for a in ATTRIBUTES}


def _check_catalogue() -> None:
    """The catalogue names exactly the fields of ``Applicant``, in the data's column order."""
    names = [a.name for a in ATTRIBUTES]
    if names != list(Applicant.model_fields):
        raise AssertionError(f"attributes {names} differ from Applicant's fields")


_check_catalogue()
