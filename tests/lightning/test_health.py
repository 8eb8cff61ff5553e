"""The health score is the documented formula, in [0, 100], with its band."""

from __future__ import annotations

import pytest

from chainwatch.lightning.metrics.health import WEIGHTS, health_score


def test_score_is_the_weighted_sum_of_its_parts() -> None:
    result = health_score(reachability=0.8, capacity_gini=0.9, connectivity=1.0, robustness=0.5)

    expected = 100 * (0.4 * 0.8 + 0.2 * 0.1 + 0.2 * 1.0 + 0.2 * 0.5)
    assert result.score == pytest.approx(expected, abs=0.01)
    assert result.band == "watch"
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_bounds_and_bands() -> None:
    assert health_score(1.0, 0.0, 1.0, 1.0).score == 100.0
    assert health_score(1.0, 0.0, 1.0, 1.0).band == "healthy"
    assert health_score(0.0, 1.0, 0.0, 0.0).score == 0.0
    assert health_score(0.0, 1.0, 0.0, 0.0).band == "poor"
    with pytest.raises(ValueError, match="reachability"):
        health_score(1.5, 0.0, 1.0, 1.0)
