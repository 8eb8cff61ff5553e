"""The training reference format: bins, shares, the card round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chainwatch.shared.feature_reference import (
    FeatureDistribution,
    FeatureReference,
    summarise,
    summarise_column,
)


def test_a_flag_is_discrete_with_a_bin_per_value_and_unknowns_apart() -> None:
    values = np.array([0, 0, 1, 1, 1, np.nan, 0, 1])

    summary = summarise_column(values)

    assert summary.kind == "discrete"
    assert summary.edges == (0.0,)
    assert summary.proportions == pytest.approx((3 / 8, 4 / 8))
    assert summary.missing == pytest.approx(1 / 8)


def test_a_continuous_feature_gets_quantile_bins_and_point_masses_merge() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate((np.zeros(600), rng.exponential(size=400)))

    summary = summarise_column(values, bins=10)

    assert summary.kind == "continuous"
    assert summary.edges[0] == 0.0  # the point mass at 0 is one bin, not six
    assert summary.proportions[0] == pytest.approx(0.6)
    assert len(summary.edges) <= 9
    assert sum(summary.proportions) + summary.missing == pytest.approx(1.0)


def test_counts_put_values_on_edges_in_the_lower_bin_and_values_above_in_the_last() -> None:
    distribution = FeatureDistribution("continuous", (1.0, 2.0), (0.3, 0.3, 0.4), 0.0)

    counts = distribution.counts(np.array([np.nan, 0.5, 1.0, 1.5, 2.0, 2.5, 99.0]))

    assert counts.tolist() == [1, 2, 2, 2]


def test_the_card_value_survives_json_and_is_checked_on_reading() -> None:
    matrix = np.array([[1.0, 0.0], [2.0, np.nan], [3.0, 1.0], [4.0, 1.0]])
    reference = summarise(matrix, ["a", "b"], "four rows")

    back = FeatureReference.from_card(json.loads(json.dumps(reference.to_card())))

    assert back == reference
    with pytest.raises(ValueError, match="format"):
        FeatureReference.from_card({**reference.to_card(), "format": 99})
    broken = reference.to_card()
    broken["features"]["a"]["proportions"] = [1.0]
    with pytest.raises(ValueError):
        FeatureReference.from_card(broken)


def test_shares_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="sum"):
        FeatureDistribution("discrete", (0.0,), (0.5, 0.2), 0.0)
    with pytest.raises(ValueError, match="increase"):
        FeatureDistribution("continuous", (2.0, 1.0), (0.3, 0.3, 0.4), 0.0)


def test_a_column_of_unknowns_is_all_missing() -> None:
    summary = summarise_column(np.full(5, np.nan))

    assert summary.missing == 1.0 and summary.proportions == (0.0,)
    assert not any(math.isnan(p) for p in summary.proportions)
