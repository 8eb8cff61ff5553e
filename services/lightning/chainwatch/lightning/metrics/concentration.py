"""How unevenly capacity (or channels) is spread over nodes.

Every function takes one non-negative value per node, e.g. each node's capacity in sat
(the sum of its channels, so every channel counts at both ends) or its channel count.

* ``gini``: 0 when every node holds the same, towards 1 when one node holds everything.
* ``top_share``: the share of the total held by the largest ``fraction`` of nodes.
* ``nakamoto_coefficient``: the fewest nodes that together hold more than half the total.
* ``lorenz_curve``: the cumulative share held by the smallest x% of nodes, for charts.

>>> gini([1, 1, 1, 1])
0.0
>>> round(gini([0, 0, 0, 10]), 2)
0.75
>>> nakamoto_coefficient([50, 30, 10, 10])
2
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def gini(values: npt.ArrayLike) -> float:
    """The Gini coefficient, in [0, 1 - 1/n]; 0 for an empty or all-zero input.

    ``G = 2 Σ_i i·x_(i) / (n Σ x) − (n + 1) / n`` with ``x`` sorted ascending, i = 1..n: half
    the mean absolute difference between two nodes, relative to the mean.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.dot(ranks, x) / (n * total) - (n + 1) / n)


def top_share(values: npt.ArrayLike, fraction: float) -> float:
    """The share of the total held by the ``ceil(fraction · n)`` largest values (at least 1)."""
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    total = x.sum()
    if x.size == 0 or total <= 0:
        return 0.0
    k = max(1, math.ceil(fraction * x.size))
    return float(x[:k].sum() / total)


def nakamoto_coefficient(values: npt.ArrayLike, threshold: float = 0.5) -> int:
    """The fewest values whose sum is more than ``threshold`` of the total; 0 if empty."""
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    total = x.sum()
    if x.size == 0 or total <= 0:
        return 0
    cumulative = np.cumsum(x)
    return int(np.searchsorted(cumulative, threshold * total, side="right") + 1)


def lorenz_curve(values: npt.ArrayLike, points: int = 21) -> list[tuple[float, float]]:
    """``points`` pairs (share of nodes, share of the total they hold), smallest nodes first.

    The curve runs from (0, 0) to (1, 1); the further it sags below the diagonal, the larger
    the Gini coefficient (twice the area between them).
    """
    x = np.sort(np.asarray(values, dtype=float))
    total = x.sum()
    if x.size == 0 or total <= 0:
        return [(i / (points - 1), i / (points - 1)) for i in range(points)]
    cumulative = np.concatenate([[0.0], np.cumsum(x) / total])
    shares = np.linspace(0.0, 1.0, points)
    held = np.clip(np.interp(shares * x.size, np.arange(x.size + 1), cumulative), 0.0, 1.0)
    return [(float(s), float(h)) for s, h in zip(shares, held, strict=True)]


def log2_histogram(values: Sequence[int]) -> list[tuple[int, int, int]]:
    """Counts of values in bins [1, 2), [2, 4), [4, 8), ...: (low, high exclusive, count).

    Values below 1 are left out. For the degree distribution, which spans 1 to thousands.
    """
    x = np.asarray([v for v in values if v >= 1], dtype=np.int64)
    if x.size == 0:
        return []
    bins = np.floor(np.log2(x)).astype(int)
    counts = np.bincount(bins)
    return [(2**b, 2 ** (b + 1), int(c)) for b, c in enumerate(counts)]
