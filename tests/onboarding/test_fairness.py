"""The fairness report on decisions whose rates are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.onboarding.costs import CostMatrix
from chainwatch.onboarding.dataset import CreditData
from chainwatch.onboarding.fairness import band_labels, banding, fairness_report, groupings


def test_bands_cover_every_age_once() -> None:
    assert band_labels([25, 35, 50]) == ("<25", "25-34", "35-49", "50+")
    band = banding([25, 35, 50])
    assert [band(a) for a in (18, 24, 25, 49, 50, 120)] == [
        "<25", "<25", "25-34", "35-49", "50+", "50+"
    ]  # fmt: skip


def test_rates_and_gaps_are_what_the_decisions_make_them(credit_data: CreditData) -> None:
    applicants = credit_data.applicants
    is_female = np.array([a.personal_status_sex.sex == "female" for a in applicants])
    bad = credit_data.bad
    # Refuse every bad applicant; refuse good women only, and every one of them.
    refused = (bad == 1) | is_female
    proba = refused.astype(float)
    by = [g for g in groupings(["personal_status_sex"], {}) if g.name == "sex"]

    report = fairness_report(applicants, bad, refused, proba, by, CostMatrix())["sex"]

    female, male = report["groups"]["female"], report["groups"]["male"]
    assert female["good_acceptance_rate"] == 0.0
    assert male["good_acceptance_rate"] == 1.0
    assert female["bad_acceptance_rate"] == male["bad_acceptance_rate"] == 0.0
    assert report["equal_opportunity_difference"] == 1.0
    assert report["demographic_parity_difference"] == pytest.approx(male["acceptance_rate"])
    assert report["disparate_impact_ratio"] == 0.0


def test_small_groups_are_shown_but_not_compared(credit_data: CreditData) -> None:
    applicants = credit_data.applicants
    refused = np.zeros(len(applicants), dtype=bool)
    by = groupings(["age_years"], {"age_years": [25, 70]})
    report = fairness_report(
        applicants, credit_data.bad, refused, np.zeros(len(applicants)), by, CostMatrix(), 30
    )["age_years_band"]
    assert list(report["groups"]) == ["<25", "25-69", "70+"]
    assert report["too_small_to_compare"] == ["70+"]  # 11 applicants of 70 or more
    assert report["demographic_parity_difference"] == 0.0


def test_an_integer_attribute_needs_its_bands() -> None:
    with pytest.raises(ValueError, match="bands"):
        groupings(["age_years"], {})
