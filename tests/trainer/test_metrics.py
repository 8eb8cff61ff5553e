"""Held-out metrics: agree with scikit-learn, and are None where undefined."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from chainwatch.trainer import metrics


def test_average_precision_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(500), 1)  # many ties
    labels = (rng.random(500) < scores * 0.3).astype(np.int64)

    ours = metrics.average_precision(scores, labels)

    assert ours is not None
    assert abs(ours - average_precision_score(labels, scores)) < 1e-12


def test_figures_of_a_perfect_ranking() -> None:
    scores = np.linspace(0, 1, 200)
    labels = (scores > 0.97).astype(np.int64)

    figures = metrics.evaluate(scores, labels, threshold=0.975)

    assert figures["pr_auc"] == 1.0
    assert figures["review_budget_rows"] == 2
    assert figures["yield_at_1pct"] == 1.0
    assert figures["recall_at_1pct"] == 2 / figures["positives"]
    assert sum(b["count"] for b in figures["reliability"]) == 200
    assert figures["brier"] < 0.35


def test_undefined_figures_are_none_not_zero() -> None:
    figures = metrics.evaluate(np.array([0.1, 0.2]), np.array([0, 0]), threshold=0.9)

    assert figures["pr_auc"] is None
    assert figures["precision_at_threshold"] is None
    assert figures["recall_at_threshold"] is None


def test_threshold_maximises_f1_on_validation() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    labels = np.array([0, 0, 1, 1, 1])

    threshold, rule = metrics.choose_threshold(scores, labels)
    default, why = metrics.choose_threshold(scores, np.zeros(5, dtype=np.int64))

    only_positives, one_class = metrics.choose_threshold(scores[2:], labels[2:])

    assert threshold == 0.3 and "maximum F1" in rule
    assert default == 0.5 and "no positive" in why
    assert only_positives == 0.3 and "no negative" in one_class


def test_by_label_source_reports_recall_and_false_positive_rate() -> None:
    scores = np.array([0.9, 0.1, 0.8, 0.2])
    labels = np.array([1, 1, 0, 0])
    sources = ["direct_exposure", "direct_exposure", "unlabelled", "unlabelled"]

    found = metrics.by_label_source(scores, labels, sources, threshold=0.5)

    assert found["direct_exposure"]["flagged_share"] == 0.5
    assert found["unlabelled"]["flagged_share"] == 0.5
    assert found["unlabelled"]["pr_auc"] is None
