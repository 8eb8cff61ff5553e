"""Metrics of the real snapshots checked by an independent computation with networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy.stats import spearmanr

from chainwatch.lightning.analysis import GraphReport, analyse
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.metrics import centrality, topology
from chainwatch.lightning.metrics.concentration import gini, nakamoto_coefficient

from .conftest import FAST

pytestmark = pytest.mark.data


def multigraph(graph: ChannelGraph) -> nx.MultiGraph:
    """The snapshot in networkx, built from the channels, not from our peer links."""
    g = nx.MultiGraph()
    g.add_nodes_from(n.pub_key for n in graph.nodes)
    for c in graph.channels:
        g.add_edge(c.node1_pub, c.node2_pub, capacity_sat=c.capacity_sat)
    g.remove_nodes_from([n for n in list(g) if g.degree(n) == 0])
    return g


@pytest.fixture(scope="module")
def gfree_report(gfree: ChannelGraph) -> GraphReport:
    return analyse(gfree, FAST)


def test_exact_centrality_matches_networkx_on_the_small_graph(
    gfree: ChannelGraph, gfree_report: GraphReport
) -> None:
    simple = nx.Graph(multigraph(gfree))
    betweenness = nx.betweenness_centrality(simple, normalized=True)
    closeness = nx.closeness_centrality(simple)  # Wasserman-Faust by default
    nodes = gfree_report.nodes

    assert gfree_report.centrality_sampled_sources is None
    for i, pub_key in enumerate(nodes.pub_keys):
        assert nodes.betweenness[i] == pytest.approx(betweenness[pub_key], abs=1e-12)
        assert nodes.closeness[i] == pytest.approx(closeness[pub_key], abs=1e-12)


def test_concentration_matches_independent_sums(
    gfree: ChannelGraph, gfree_report: GraphReport
) -> None:
    g = multigraph(gfree)
    strength = dict(g.degree(weight="capacity_sat"))
    values = sorted(strength.values(), reverse=True)
    half, held, count = sum(values) / 2, 0, 0
    while held <= half:
        held += values[count]
        count += 1
    n = len(values)
    mean_abs_diff = np.abs(np.subtract.outer(values, values)).sum() / (n * n)

    assert gfree_report.concentration.capacity_nakamoto == count
    assert gfree_report.concentration.capacity_gini == pytest.approx(
        mean_abs_diff / (2 * np.mean(values))
    )
    assert gfree_report.totals.total_capacity_sat == sum(values) // 2
    degree = [d for _, d in g.degree()]
    assert gfree_report.concentration.degree_gini == pytest.approx(gini(degree))
    assert gfree_report.totals.active_node_count == g.number_of_nodes()


@pytest.mark.parametrize("name", ["gfree", "graph_2018"])
def test_components_bridges_and_cut_vertices_match_networkx(
    name: str, request: pytest.FixtureRequest
) -> None:
    graph: ChannelGraph = request.getfixturevalue(name)
    multi = multigraph(graph)
    simple = nx.Graph(multi)
    # A link of two channels survives the loss of one: only single-channel bridges count.
    bridges = [(a, b) for a, b in nx.bridges(simple) if multi.number_of_edges(a, b) == 1]
    leaf = [(a, b) for a, b in bridges if min(multi.degree(a), multi.degree(b)) == 1]
    cut_vertices = set(nx.articulation_points(simple))
    sizes = sorted((len(c) for c in nx.connected_components(simple)), reverse=True)

    g = topology.active_subgraph(graph)
    capacity = np.asarray([graph.node_capacity_sat[graph.index[p]] for p in g.vs["pub_key"]])
    measured = topology.measure(g, capacity)

    assert list(measured.component_sizes) == sizes
    assert measured.bridge_count == len(bridges)
    assert measured.leaf_bridge_count == len(leaf)
    assert measured.cut_vertex_count == len(cut_vertices)
    counts = topology.cut_off_counts(g)
    position = {pub: i for i, pub in enumerate(g.vs["pub_key"])}
    largest = max(nx.connected_components(simple), key=len)
    for cut in sorted(c for c in cut_vertices if c in largest)[:40]:
        without = simple.subgraph(largest - {cut})
        largest_after = max(len(c) for c in nx.connected_components(without))
        assert counts[position[cut]] == sizes[0] - 1 - largest_after


def test_fragmentation_nakamoto_halves_the_largest_component(gfree: ChannelGraph) -> None:
    simple = nx.Graph(multigraph(gfree))
    largest = max(len(c) for c in nx.connected_components(simple))
    removed = 0
    while max((len(c) for c in nx.connected_components(simple)), default=0) >= largest / 2:
        hub = max(simple.degree(), key=lambda item: item[1])[0]
        simple.remove_node(hub)
        removed += 1

    g = topology.active_subgraph(gfree)
    by_degree = topology.fragmentation_nakamoto(g, np.asarray(g.degree(), float), True)

    assert by_degree == removed


def test_sampled_centrality_tracks_the_exact_values(ghigh: ChannelGraph) -> None:
    g = topology.active_subgraph(ghigh)
    exact = centrality.compute(g)
    sampled = centrality.compute(g, exact_max_nodes=100, sample_sources=400, seed=1)

    assert exact.sampled_sources is None and sampled.sampled_sources == 400
    assert spearmanr(exact.betweenness, sampled.betweenness).statistic > 0.8
    assert spearmanr(exact.closeness, sampled.closeness).statistic > 0.98
    top_exact = set(np.argsort(-exact.betweenness)[:10])
    top_sampled = set(np.argsort(-sampled.betweenness)[:10])
    assert len(top_exact & top_sampled) >= 8
    # Unbiased: the sum over all nodes (the mean path length's numerator) is close.
    assert sampled.betweenness.sum() == pytest.approx(exact.betweenness.sum(), rel=0.05)


def test_the_largest_graph_report_is_consistent(ghigh_report: GraphReport) -> None:
    c = ghigh_report.concentration
    t = ghigh_report.totals

    assert (t.active_node_count, t.channel_count) == (1924, 10275)
    assert 0.8 < c.capacity_gini < 0.9
    assert c.capacity_top1_share < c.capacity_top10_share < 1
    assert c.capacity_nakamoto == nakamoto_coefficient(ghigh_report.nodes.capacity_sat)
    assert 0 <= ghigh_report.health.score <= 100
    assert ghigh_report.top_by_capacity[0].capacity_sat == ghigh_report.nodes.capacity_sat.max()
