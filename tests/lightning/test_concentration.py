"""Concentration measures against their definitions, computed another way."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chainwatch.lightning.metrics.concentration import (
    gini,
    log2_histogram,
    lorenz_curve,
    nakamoto_coefficient,
    top_share,
)


def gini_by_pairs(values: list[float]) -> float:
    """Half the relative mean absolute difference over all ordered pairs."""
    n = len(values)
    total = sum(abs(a - b) for a, b in itertools.product(values, repeat=2))
    return total / (2 * n * n * (sum(values) / n))


def test_gini_equals_the_mean_absolute_difference_definition() -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=15, sigma=2, size=200).tolist()

    assert gini(values) == pytest.approx(gini_by_pairs(values), rel=1e-9)


def test_gini_bounds() -> None:
    assert gini([5.0] * 10) == 0.0
    assert gini([0.0] * 9 + [1.0]) == pytest.approx(0.9)
    assert gini([]) == 0.0


def test_top_share_and_nakamoto() -> None:
    values = [100.0] + [1.0] * 99

    assert top_share(values, 0.01) == pytest.approx(100 / 199)
    assert top_share(values, 0.10) == pytest.approx(109 / 199)
    assert nakamoto_coefficient(values) == 1
    assert nakamoto_coefficient([1.0] * 10) == 6  # five hold exactly half, not more
    assert nakamoto_coefficient([]) == 0


def test_lorenz_curve_area_gives_the_gini() -> None:
    rng = np.random.default_rng(3)
    values = rng.pareto(1.5, size=400)
    points = np.asarray(lorenz_curve(values, points=2001))

    area_under = np.trapezoid(points[:, 1], points[:, 0])

    assert points[0].tolist() == [0.0, 0.0] and points[-1].tolist() == [1.0, 1.0]
    assert 1 - 2 * area_under == pytest.approx(gini(values), abs=2e-3)


def test_log2_histogram_counts_every_value_at_least_one() -> None:
    bins = log2_histogram([1, 1, 2, 3, 4, 7, 8, 1000, 0])

    assert sum(count for _, _, count in bins) == 8
    assert bins[:4] == [(1, 2, 2), (2, 4, 2), (4, 8, 2), (8, 16, 1)]
