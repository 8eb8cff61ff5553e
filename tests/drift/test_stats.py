"""The drift statistics against independent computations and properties that must hold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from chainwatch.drift import stats


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts with the missing bin first, on ``edges`` (bin i: edges[i-1] < x <= edges[i])."""
    known = values[~np.isnan(values)]
    found = np.bincount(np.searchsorted(edges, known, side="left"), minlength=len(edges) + 1)
    return np.concatenate(([len(values) - len(known)], found))


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    reference = np.array([0.0, 0.25, 0.25, 0.25, 0.25])
    same = np.array([0, 250, 250, 250, 250])
    small = np.array([0, 300, 250, 250, 200])
    large = np.array([0, 700, 200, 80, 20])

    values = [stats.psi(reference, 1000, counts) for counts in (same, small, large)]

    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < values[1] < 0.1 < 0.25 < values[2]


def test_psi_matches_the_formula_on_smoothed_shares() -> None:
    reference = np.array([0.1, 0.4, 0.5])
    window = np.array([30, 50, 20])
    r = (reference * 200 + 0.5) / (200 + 1.5)
    w = (window + 0.5) / (100 + 1.5)

    assert stats.psi(reference, 200, window) == pytest.approx(
        float(np.sum((w - r) * np.log(w / r)))
    )


def test_chi_square_equals_scipy_contingency_test_when_no_bin_is_sparse() -> None:
    reference_counts = np.array([0, 120, 300, 80])
    window = np.array([0, 40, 50, 30])

    found = stats.chi_square(reference_counts / 500, 500, window)
    expected = scipy_stats.chi2_contingency(np.vstack((reference_counts[1:], window[1:])))

    assert found.statistic == pytest.approx(expected.statistic)
    assert found.p_value == pytest.approx(expected.pvalue)
    assert found.dof == expected.dof


def test_chi_square_pools_sparse_bins_instead_of_letting_them_decide() -> None:
    reference = np.array([0.0, 0.5, 0.499, 0.001])
    window = np.array([0, 50, 48, 2])  # two rows in a bin the reference almost never saw

    pooled = stats.chi_square(reference, 10_000, window)

    assert pooled.dof == 1
    assert pooled.p_value > 0.05


def test_ks_binned_follows_scipy_on_fine_bins_and_is_conservative() -> None:
    rng = np.random.default_rng(3)
    reference_values = rng.normal(size=4000)
    window_values = rng.normal(0.4, 1.0, size=300)
    edges = np.quantile(reference_values, np.linspace(0, 1, 51)[1:-1])
    reference = _histogram(reference_values, edges) / 4000

    binned = stats.ks_binned(reference, 4000, _histogram(window_values, edges))
    exact = scipy_stats.ks_2samp(reference_values, window_values)

    assert binned.statistic == pytest.approx(exact.statistic, abs=0.03)
    assert binned.statistic <= exact.statistic + 1e-12
    assert binned.p_value >= exact.pvalue * 0.5
    assert binned.p_value < 0.01


def test_tests_do_not_reject_two_samples_of_one_distribution_more_often_than_alpha() -> None:
    rng = np.random.default_rng(11)
    edges = np.quantile(rng.exponential(size=5000), np.linspace(0, 1, 11)[1:-1])
    rejections = {"ks": 0, "chi_square": 0}
    trials = 400
    for _ in range(trials):
        reference_counts = _histogram(rng.exponential(size=500), edges)
        window = _histogram(rng.exponential(size=200), edges)
        shares = reference_counts / 500
        rejections["ks"] += stats.ks_binned(shares, 500, window).p_value < 0.05
        rejections["chi_square"] += stats.chi_square(shares, 500, window).p_value < 0.05

    assert rejections["ks"] / trials <= 0.05 + 0.03
    assert rejections["chi_square"] / trials <= 0.05 + 0.03


def test_holm_adjusts_in_order_and_never_below_the_raw_p_value() -> None:
    raw = [0.01, 0.04, 0.03, 0.5]

    adjusted = stats.holm(raw)

    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert all(a >= p for a, p in zip(adjusted, raw, strict=True))
    assert stats.holm([]) == []


def test_empty_window_is_never_drift() -> None:
    reference = np.array([0.0, 0.5, 0.5])
    empty = np.zeros(3, dtype=np.int64)

    assert stats.ks_binned(reference, 100, empty).p_value == 1.0
    assert stats.chi_square(reference, 100, empty).p_value == 1.0
