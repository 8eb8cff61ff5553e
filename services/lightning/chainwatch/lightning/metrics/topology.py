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
        (CutVertex(g.vs[v]["pub_key"], _cut_off(g, v, sizes[0])) for v in cut_vertices),
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


def _cut_off(g: ig.Graph, vertex: int, largest: int) -> int:
    """How many nodes besides ``vertex`` leave the largest component when it goes."""
    rest = g.copy()
    rest.delete_vertices([vertex])
    return max(0, largest - 1 - largest_component_size(rest))


def fragmentation_nakamoto(
    g: ig.Graph, weight: np.ndarray, adaptive_degree: bool = False, threshold: float = 0.5
) -> int:
    """Nodes removed, highest ``weight`` first, until the largest component is below
    ``threshold`` of its size. With ``adaptive_degree`` the weight is the degree in what
    remains, recomputed after every removal."""
    target = threshold * largest_component_size(g)
    rest = g.copy()
    rest.vs["weight"] = list(weight)
    removed = 0
    while rest.vcount() and largest_component_size(rest) >= target:
        current = rest.degree() if adaptive_degree else rest.vs["weight"]
        rest.delete_vertices([int(np.argmax(current))])
        removed += 1
    return removed


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
