"""Connectivity of the channel graph: components, bridges, cut vertices, fragmentation.

The graph is looked at as simple and undirected: one link per pair of nodes that share any
channel (``ChannelGraph.peer_links``). igraph does the work; its vertex ``i`` is
``graph.nodes[i]``.

* A *bridge* is a link whose loss disconnects the graph. A link of two or more channels is
  not counted: closing one channel leaves the other. A *leaf bridge* joins a node of one
  channel partner to the rest; the others split off a group of two or more nodes.
* A *cut vertex* is a node whose loss disconnects the graph; its impact is the number of
  other nodes its loss cuts off from the largest component.
* The *fragmentation Nakamoto coefficient* is the number of nodes a greedy attacker must
  remove, each time the node of highest remaining degree (or capacity), until the largest
  component holds less than half the nodes it held. Finding the true minimum is NP-hard;
  the greedy count is an upper bound of it, and the smaller of the two attacks is reported.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import igraph as ig
import numpy as np

from chainwatch.lightning.graph import ChannelGraph


@dataclass(frozen=True)
class CutVertex:
    pub_key: str
    cut_off_nodes: int


@dataclass(frozen=True)
class Topology:
    """Connectivity of one graph; node counts are of nodes with at least one channel."""

    component_count: int
    component_sizes: tuple[int, ...]
    largest_component_share: float
    bridge_count: int
    leaf_bridge_count: int
    cut_vertex_count: int
    top_cut_vertices: tuple[CutVertex, ...]
    fragmentation_nakamoto: int
    fragmentation_strategy: str
    attack_survival_share: float
    """Share of the largest component still joined after its top 1% of nodes by degree go."""


def to_igraph(graph: ChannelGraph) -> ig.Graph:
    """The simple undirected graph of ``graph``; edge attributes ``capacity_sat`` and
    ``channel_count``; vertex attribute ``pub_key``."""
    index = graph.index
    links = graph.peer_links
    g = ig.Graph(n=len(graph.nodes), edges=[(index[link.a], index[link.b]) for link in links])
    g.vs["pub_key"] = [node.pub_key for node in graph.nodes]
    g.es["capacity_sat"] = [link.capacity_sat for link in links]
    g.es["channel_count"] = [link.channel_count for link in links]
    return g


def active_subgraph(graph: ChannelGraph) -> ig.Graph:
    """``to_igraph`` without the nodes that have no channel."""
    g = to_igraph(graph)
    return g.induced_subgraph([v for v in range(g.vcount()) if g.degree(v) > 0])


def measure(g: ig.Graph, node_capacity_sat: np.ndarray, top_cut_vertices: int = 10) -> Topology:
    """Topology of ``g`` (nodes with channels only); ``node_capacity_sat`` per vertex of ``g``."""
    sizes = sorted(g.connected_components().sizes(), reverse=True)
    n = g.vcount()

    bridges = [e for e in g.bridges() if g.es[e]["channel_count"] == 1]
    degrees = np.asarray(g.degree())
    leaf_bridges = sum(1 for e in bridges if min(degrees[list(g.es[e].tuple)]) == 1)

    cut_vertices = g.articulation_points()
    impacts = sorted(
        (CutVertex(g.vs[v]["pub_key"], cut_off) for v, cut_off in cut_off_counts(g).items()),
        key=lambda c: (-c.cut_off_nodes, c.pub_key),
    )

    by_degree = fragmentation_nakamoto(g, degrees.astype(float), adaptive_degree=True)
    by_capacity = fragmentation_nakamoto(g, node_capacity_sat.astype(float))
    strategy, count = min((("degree", by_degree), ("capacity", by_capacity)), key=lambda p: p[1])

    return Topology(
        component_count=len(sizes),
        component_sizes=tuple(sizes),
        largest_component_share=sizes[0] / n if n else 0.0,
        bridge_count=len(bridges),
        leaf_bridge_count=leaf_bridges,
        cut_vertex_count=len(cut_vertices),
        top_cut_vertices=tuple(impacts[:top_cut_vertices]),
        fragmentation_nakamoto=count,
        fragmentation_strategy=strategy,
        attack_survival_share=attack_survival(g, fraction=0.01),
    )


def largest_component_size(g: ig.Graph) -> int:
    return max(g.connected_components().sizes(), default=0)


def cut_off_counts(g: ig.Graph) -> dict[int, int]:
    """For each cut vertex of the largest component: how many other nodes its loss cuts
    off from the largest piece that remains.

    One pass over the block-cut tree (blocks are the biconnected components; a cut vertex
    joins the blocks it belongs to) instead of a connectivity check per cut vertex: with
    the tree rooted anywhere, the pieces left by cut vertex c are the subtrees below it and
    everything else.
    """
    components = g.connected_components()
    if not len(components):
        return {}
    largest = g.induced_subgraph(max(components, key=len))
    n = largest.vcount()
    blocks = [list(b) for b in largest.biconnected_components()]
    cuts = largest.articulation_points()
    tree_id = {v: len(blocks) + i for i, v in enumerate(cuts)}
    weight = [sum(1 for v in b if v not in tree_id) for b in blocks] + [1] * len(cuts)
    adjacent: list[list[int]] = [[] for _ in weight]
    for b, members in enumerate(blocks):
        for v in members:
            if v in tree_id:
                adjacent[b].append(tree_id[v])
                adjacent[tree_id[v]].append(b)

    parent = [-1] * len(weight)
    order, stack, seen = [], [0], {0}
    while stack:
        x = stack.pop()
        order.append(x)
        for y in adjacent[x]:
            if y not in seen:
                seen.add(y)
                parent[y] = x
                stack.append(y)
    below = list(weight)
    for x in reversed(order):
        if parent[x] >= 0:
            below[parent[x]] += below[x]

    original = g.vs["pub_key"]
    index = {pub: i for i, pub in enumerate(original)}
    counts = {}
    for v, t in tree_id.items():
        pieces = [below[y] for y in adjacent[t] if parent[y] == t]
        pieces.append(n - below[t])
        counts[index[largest.vs[v]["pub_key"]]] = n - 1 - max(pieces)
    return counts


def fragmentation_nakamoto(
    g: ig.Graph, weight: np.ndarray, adaptive_degree: bool = False, threshold: float = 0.5
) -> int:
    """Nodes removed, highest ``weight`` first, until the largest component is below
    ``threshold`` of its size. With ``adaptive_degree`` the weight is the degree in what
    remains, recomputed after every removal."""
    order = _adaptive_degree_order(g) if adaptive_degree else _static_order(weight)
    largest_after = _largest_after_removals(g, order)
    target = threshold * largest_after[0]
    return int(np.argmax(largest_after < target))


def _static_order(weight: np.ndarray) -> list[int]:
    return [int(v) for v in np.argsort(-weight, kind="stable")]


def _adaptive_degree_order(g: ig.Graph) -> list[int]:
    """Vertices in the order a greedy attacker removes them: always the one of highest
    degree among those left (ties to the lowest index)."""
    degree = g.degree()
    neighbours = g.get_adjlist()
    heap = [(-d, v) for v, d in enumerate(degree)]
    heapq.heapify(heap)
    removed = [False] * g.vcount()
    order = []
    while heap:
        negative, v = heapq.heappop(heap)
        if removed[v] or -negative != degree[v]:
            continue  # a stale entry: the vertex went, or its degree fell since
        removed[v] = True
        order.append(v)
        for u in neighbours[v]:
            if not removed[u]:
                degree[u] -= 1
                heapq.heappush(heap, (-degree[u], u))
    return order


def _largest_after_removals(g: ig.Graph, order: list[int]) -> np.ndarray:
    """``result[k]``: the largest component once the first ``k`` of ``order`` are gone.

    Computed backwards in one pass: vertices are put back in reverse order and joined to
    their neighbours already back with a union-find, so each step costs almost nothing.
    """
    n = g.vcount()
    neighbours = g.get_adjlist()
    parent = list(range(n))
    size = [1] * n
    present = [False] * n

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    largest = np.zeros(n + 1, dtype=np.int64)
    best = 0
    for k in range(n - 1, -1, -1):
        v = order[k]
        present[v] = True
        for u in neighbours[v]:
            if present[u]:
                a, b = root(v), root(u)
                if a != b:
                    if size[a] < size[b]:
                        a, b = b, a
                    parent[b] = a
                    size[a] += size[b]
        best = max(best, size[root(v)])
        largest[k] = best
    return largest


def attack_survival(g: ig.Graph, fraction: float) -> float:
    """Largest component after removing the top ``fraction`` of nodes by degree (at least
    one), as a share of the nodes of the original largest component that remain."""
    largest = largest_component_size(g)
    if largest <= 1:
        return 1.0
    k = max(1, round(fraction * g.vcount()))
    top = np.argsort(-np.asarray(g.degree()), kind="stable")[:k]
    rest = g.copy()
    rest.delete_vertices([int(v) for v in top])
    remaining = largest - k
    return min(1.0, largest_component_size(rest) / remaining) if remaining > 0 else 0.0
