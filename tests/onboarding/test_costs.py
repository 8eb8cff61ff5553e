"""The cost matrix and the threshold that minimises it."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.onboarding.costs import CostMatrix


def test_the_bayes_threshold_is_where_both_decisions_cost_the_same() -> None:
    cost = CostMatrix(bad_accepted=5.0, good_refused=1.0)
    p = cost.bayes_threshold
    assert p == pytest.approx(1 / 6)
    assert cost.bad_accepted * p == pytest.approx(cost.good_refused * (1 - p))


def test_blanket_decisions_cost_what_the_class_balance_says() -> None:
    bad = np.array([1] * 3 + [0] * 7)
    cost = CostMatrix()
    assert cost.per_applicant(bad, np.ones(10, bool)) == pytest.approx(0.7)
    assert cost.per_applicant(bad, np.zeros(10, bool)) == pytest.approx(1.5)


def test_the_minimising_threshold_beats_every_other_one() -> None:
    rng = np.random.default_rng(7)
    proba = rng.uniform(size=400)
    bad = (rng.uniform(size=400) < proba).astype(int)
    cost = CostMatrix()
    best = cost.minimising_threshold(bad, proba)
    best_cost = cost.total(bad, proba >= best)
    for t in np.linspace(0, 1, 201):
        assert best_cost <= cost.total(bad, proba >= t)


def test_with_no_bad_applicants_nobody_is_refused() -> None:
    proba = np.array([0.1, 0.5, 0.9])
    threshold = CostMatrix().minimising_threshold(np.zeros(3, int), proba)
    assert not np.any(proba >= threshold)
