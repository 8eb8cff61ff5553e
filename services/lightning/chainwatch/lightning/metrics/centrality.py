"""Betweenness and closeness centrality, exact on small graphs and sampled on large ones.

Both count hops (every link has length 1): fees would weigh paths, but two of our three
snapshot formats carry none, and hop counts compare across snapshots.

* Betweenness of v: the share of shortest paths between pairs of other nodes that pass
  through v, normalised to [0, 1] as networkx does (divided by (n − 1)(n − 2) / 2 pairs).
  A node with high betweenness sits on many routes: a routing hub, and a single point of
  failure and of surveillance.
* Closeness of v: ``(r − 1) / Σ d(v, u)`` over the r − 1 nodes u it can reach, scaled by
  ``(r − 1) / (n − 1)`` (Wasserman and Faust), so nodes in small components score low.
  High closeness means few hops to everyone.

Sampling (Brandes and Pich, 2007): when the graph has more than ``exact_max_nodes`` nodes,
only ``sample_sources`` source nodes, drawn uniformly without replacement with a seeded
generator, run their single-source shortest paths. Betweenness adds up those sources'
dependencies and scales them by n / k, an unbiased estimate of the exact value; closeness
uses each node's mean distance to the first 300 of those sources in its component (mean
distances settle much sooner than betweenness does). Costs fall from O(n·m) to O(k·m).
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np
import numpy.typing as npt

CLOSENESS_MAX_SOURCES = 300


@dataclass(frozen=True)
class Centrality:
    """Per-vertex values, in the order of the igraph vertices they were computed on."""

    betweenness: np.ndarray
    closeness: np.ndarray
    sampled_sources: int | None
    """Sources used when sampled; ``None`` when exact."""


def compute(
    g: ig.Graph, exact_max_nodes: int = 5_000, sample_sources: int = 1_000, seed: int = 0
) -> Centrality:
    """Betweenness and closeness of every vertex of ``g`` (see the module's docstring)."""
    n = g.vcount()
    if n <= max(exact_max_nodes, sample_sources):
        return Centrality(_exact_betweenness(g), _exact_closeness(g), None)

    rng = np.random.default_rng(seed)
    sources = [int(v) for v in rng.choice(n, size=sample_sources, replace=False)]
    # Mean distances settle with far fewer sources than betweenness needs, and each source's
    # distance row to every node is a Python list igraph builds: cap what closeness uses.
    closeness_sources = sources[:CLOSENESS_MAX_SOURCES]  # the draw's order is random
    return Centrality(
        _sampled_betweenness(g, sources), _sampled_closeness(g, closeness_sources), len(sources)
    )


def _pair_count(n: int) -> float:
    return (n - 1) * (n - 2) / 2 if n > 2 else 1.0


def _exact_betweenness(g: ig.Graph) -> npt.NDArray[np.float64]:
    raw = np.asarray(g.betweenness(directed=False), dtype=float)
    result: npt.NDArray[np.float64] = raw / _pair_count(g.vcount())
    return result


def _sampled_betweenness(g: ig.Graph, sources: list[int]) -> npt.NDArray[np.float64]:
    # With sources S and every target, igraph sums half the dependencies of each source on
    # an undirected graph: in expectation k / n of the exact count.
    raw = np.asarray(g.betweenness(directed=False, sources=sorted(sources)), dtype=float)
    n = g.vcount()
    result: npt.NDArray[np.float64] = raw * (n / len(sources)) / _pair_count(n)
    return result


def _component_sizes(g: ig.Graph) -> tuple[np.ndarray, np.ndarray]:
    membership = np.asarray(g.connected_components().membership)
    return membership, np.bincount(membership)[membership]


def _exact_closeness(g: ig.Graph) -> npt.NDArray[np.float64]:
    n = g.vcount()
    within = np.nan_to_num(np.asarray(g.closeness(normalized=True), dtype=float))
    _, reach = _component_sizes(g)
    result: npt.NDArray[np.float64] = within * (reach - 1) / max(n - 1, 1)
    return result


def _sampled_closeness(g: ig.Graph, sources: list[int]) -> npt.NDArray[np.float64]:
    n = g.vcount()
    distances = np.asarray(g.distances(source=sources), dtype=float)
    reachable = np.isfinite(distances) & (distances > 0)
    total = np.where(reachable, distances, 0.0).sum(axis=0)
    count = reachable.sum(axis=0)
    mean_distance = np.divide(total, count, out=np.zeros(n), where=count > 0)
    _, reach = _component_sizes(g)
    inverse = np.divide(1.0, mean_distance, out=np.zeros(n), where=mean_distance > 0)
    result: npt.NDArray[np.float64] = inverse * (reach - 1) / max(n - 1, 1)
    return result
