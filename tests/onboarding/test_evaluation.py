"""What must be shown: 10-fold cross-validated ROC-AUC and cost, beside the baseline, and
the fairness report, all on the card of the model trained with the service's recipe."""

from __future__ import annotations

import pytest

from chainwatch.onboarding.pipeline import TrainedVersion, gate
from chainwatch.onboarding.report import markdown_report


def test_the_model_ranks_applicants_as_well_as_published_results(
    trained: TrainedVersion,
) -> None:
    metrics, baseline = trained.card["metrics"], trained.card["baseline"]
    assert metrics["folds"] == baseline["folds"] == 10
    assert 0.76 <= metrics["roc_auc_mean"] <= 0.84  # published: about 0.78-0.80
    assert 0.74 <= baseline["roc_auc_mean"] <= 0.84
    assert baseline["learner"] == "logistic_regression"


def test_decisions_cost_less_than_either_blanket_decision(trained: TrainedVersion) -> None:
    for figures in (trained.card["metrics"], trained.card["baseline"]):
        assert figures["cost_per_applicant_pooled"] < 0.7  # refusing everyone costs 0.7
    assert gate(trained.card) == []


def test_the_threshold_is_the_cost_ratio_and_probabilities_are_calibrated(
    trained: TrainedVersion,
) -> None:
    assert trained.model.threshold == pytest.approx(1 / 6)
    bins = [b for b in trained.card["metrics"]["reliability"] if b["applicants"] >= 50]
    assert bins
    for b in bins:
        assert abs(b["mean_proba"] - b["bad_rate"]) < 0.12


def test_the_fairness_report_covers_age_and_sex_with_consistent_gaps(
    trained: TrainedVersion,
) -> None:
    fairness = trained.card["fairness"]
    assert set(fairness) == {"age_years_band", "personal_status_sex", "sex"}
    assert set(fairness["age_years_band"]["groups"]) == {"<25", "25-34", "35-49", "50+"}
    assert set(fairness["sex"]["groups"]) == {"female", "male"}
    for report in fairness.values():
        compared = [report["groups"][g] for g in report["compared_groups"]]
        rates = [g["acceptance_rate"] for g in compared]
        assert report["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
        opportunity = [g["good_acceptance_rate"] for g in compared]
        assert report["equal_opportunity_difference"] == pytest.approx(
            max(opportunity) - min(opportunity)
        )
        assert sum(g["applicants"] for g in report["groups"].values()) == 1000


def test_the_report_prints_both_models_and_every_group(trained: TrainedVersion) -> None:
    text = markdown_report(trained.card)
    assert "logistic regression (baseline)" in text
    assert "demographic parity difference" in text
    assert "| <25 |" in text


def test_the_gate_refuses_a_model_that_ranks_poorly_or_costs_too_much(
    trained: TrainedVersion,
) -> None:
    card = trained.card
    poor = {**card, "metrics": {**card["metrics"], "roc_auc_mean": 0.6}}
    costly = {**card, "metrics": {**card["metrics"], "cost_per_applicant_pooled": 0.75}}
    assert gate(poor) == ["roc_auc 0.600 below 0.7"]
    [reason] = gate(costly)
    assert "no better than a blanket decision (0.700)" in reason
