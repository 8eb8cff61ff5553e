"""The statistics of drift: how far a window of recent values is from a reference.

Every function compares two histograms over the same bins: a reference, given as shares of
its ``reference_rows`` rows, and a window, given as counts. The bins are those of a
``FeatureDistribution`` (the missing bin first), so a shift in how often a value is unknown
counts as drift too.

- ``psi``: population stability index, an effect size in [0, ∞). By the usual reading below
  0.1 nothing moved, 0.1 to 0.25 a moderate shift, above 0.25 a significant one.
- ``chi_square``: Pearson's test of homogeneity of the two samples; for discrete features.
- ``ks_binned``: the two-sample Kolmogorov–Smirnov statistic on the bins (the largest gap
  between the two cumulative distributions, in [0, 1]); for continuous features.
- ``holm``: p-values adjusted for testing many features at once (Holm–Bonferroni), so the
  chance of calling *any* feature drifted when none moved stays below the level.

A p-value is the probability, if window and reference came from one distribution, of a
statistic at least as extreme as the one seen; small means "not the same distribution".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

Shares = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]

SMOOTHING = 0.5
"""Pseudo-count added to every bin before PSI takes logarithms (an empty bin is not -∞)."""
MIN_EXPECTED = 5.0
"""Bins expected to hold fewer window rows than this are pooled before the chi-square test."""


@dataclass(frozen=True)
class TestResult:
    """A test's statistic, its p-value, and the degrees of freedom (chi-square) or 0."""

    statistic: float
    p_value: float
    dof: int = 0


def _smoothed(counts: npt.NDArray[np.float64]) -> Shares:
    return np.asarray((counts + SMOOTHING) / (counts.sum() + SMOOTHING * len(counts)))


def psi(reference: Shares, reference_rows: int, window: Counts) -> float:
    """Population stability index of ``window`` against ``reference``, in [0, ∞).

    ``Σ (w_i − r_i) · ln(w_i / r_i)`` over the bins, with both histograms smoothed by
    ``SMOOTHING`` pseudo-counts per bin (the reference at its own row count). 0 means the
    same shares in every bin. Its expected value between two samples of one distribution is
    about ``(bins − 1) · (1/n_window + 1/n_reference)``: small windows read higher.
    """
    r = _smoothed(reference * reference_rows)
    w = _smoothed(window.astype(np.float64))
    return float(np.sum((w - r) * np.log(w / r)))


def chi_square(reference: Shares, reference_rows: int, window: Counts) -> TestResult:
    """Pearson's chi-square test that ``window`` and the reference share one distribution.

    A 2 × k contingency test between the window's counts and the reference's (its shares
    times ``reference_rows``). Bins in which the window is expected to hold fewer than
    ``MIN_EXPECTED`` rows are pooled into one (folded into the smallest bin if the pool is
    sparse too), so rare categories do not decide the test.
    p = 1 when fewer than two bins remain.
    """
    ref = reference * reference_rows
    win = window.astype(np.float64)
    n_win = win.sum()
    expected = (ref + win) * n_win / (ref.sum() + n_win)
    rare = expected < MIN_EXPECTED
    if rare.any() and (~rare).any():
        # Pool the sparse bins; when even the pool is sparse, fold it into the smallest bin.
        pool_ref, pool_win, pool_expected = ref[rare].sum(), win[rare].sum(), expected[rare].sum()
        ref, win, expected = ref[~rare], win[~rare], expected[~rare]
        if pool_expected >= MIN_EXPECTED:
            ref, win = np.append(ref, pool_ref), np.append(win, pool_win)
        else:
            smallest = int(np.argmin(expected))
            ref[smallest] += pool_ref
            win[smallest] += pool_win
    keep = (ref + win) > 0
    ref, win = ref[keep], win[keep]
    if len(ref) < 2 or n_win == 0 or ref.sum() == 0:
        return TestResult(0.0, 1.0, 0)

    table = np.vstack((ref, win))
    totals = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - totals) ** 2 / totals))
    dof = len(ref) - 1
    return TestResult(statistic, float(special.chdtrc(dof, statistic)), dof)


def ks_binned(reference: Shares, reference_rows: int, window: Counts) -> TestResult:
    """Two-sample Kolmogorov–Smirnov test on binned values; statistic D in [0, 1].

    D is the largest gap between the reference's and the window's cumulative shares at the
    bin boundaries (the missing bin counts as the lowest values). The p-value is the
    asymptotic Kolmogorov distribution at ``D · sqrt(n·m / (n + m))``. On binned or
    discrete values that p-value is conservative (too large), so the test errs towards
    "no drift".
    """
    n_win = int(window.sum())
    if n_win == 0 or reference_rows == 0:
        return TestResult(0.0, 1.0)
    gap = np.abs(np.cumsum(reference) - np.cumsum(window / n_win))
    statistic = float(gap[:-1].max()) if len(gap) > 1 else 0.0
    effective_n = n_win * reference_rows / (n_win + reference_rows)
    return TestResult(statistic, float(special.kolmogorov(statistic * np.sqrt(effective_n))))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given; each in [0, 1].

    Calling every feature whose adjusted p-value is below α drifted keeps the chance of one
    or more false calls among all of them below α, whatever their dependence.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
