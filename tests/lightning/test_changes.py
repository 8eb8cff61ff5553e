"""Changes between snapshots: synthetic damage to the real graph is flagged; nothing is
flagged when nothing changed; 2018 and 2025 compare like for like."""

from __future__ import annotations

from collections import Counter

import pytest

from chainwatch.lightning.analysis import GraphReport, analyse
from chainwatch.lightning.changes import compare
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.metrics import topology

from .conftest import FAST

pytestmark = pytest.mark.data


def splitting_cut_vertex(graph: ChannelGraph) -> tuple[str, int]:
    """The cut vertex whose loss splits the largest component into the biggest second
    piece of nodes that keep a channel, and that piece's size."""
    g = topology.active_subgraph(graph)
    membership = g.connected_components().membership
    largest = Counter(membership).most_common(1)[0][0]
    best = ("", 0)
    for v in g.articulation_points():
        rest = g.copy()
        rest.delete_vertices([v])
        pieces = Counter(
            m
            for i, m in enumerate(rest.connected_components().membership)
            if rest.degree(i) > 0 and membership[i + (i >= v)] == largest
        )
        sizes = sorted(pieces.values(), reverse=True)
        if len(sizes) > 1 and sizes[1] > best[1]:
            best = (g.vs[v]["pub_key"], sizes[1])
    return best


def test_an_unchanged_snapshot_shows_no_anomaly(ghigh_report: GraphReport) -> None:
    change = compare(ghigh_report, ghigh_report)

    assert change.anomalies == ()
    assert change.comparable
    assert change.nodes_added == change.nodes_removed == 0
    assert change.deltas["capacity_gini"] == 0.0


def test_losing_the_top_hub_is_flagged(ghigh: ChannelGraph, ghigh_report: GraphReport) -> None:
    hub = ghigh_report.top_by_betweenness[0]

    after = analyse(ghigh.without_nodes([hub.pub_key]), FAST)
    change = compare(ghigh_report, after)

    lost = [a for a in change.anomalies if a.kind == "hub_lost"]
    assert [a.pub_key for a in lost] == [hub.pub_key]
    assert lost[0].severity == "critical"
    assert change.nodes_removed >= 1 + sum(1 for n in ghigh_report.nodes.channel_count if n == 0)


def test_a_component_splitting_is_flagged(ghigh: ChannelGraph, ghigh_report: GraphReport) -> None:
    pub_key, piece = splitting_cut_vertex(ghigh)
    assert piece >= 3, "the real graph has a cut vertex that splits off three or more nodes"

    after = analyse(ghigh.without_nodes([pub_key]), FAST)
    change = compare(ghigh_report, after)

    splits = [a for a in change.anomalies if a.kind == "component_split"]
    assert len(splits) == 1
    assert f"{piece}" in splits[0].detail


def test_2018_and_2025_compare_like_for_like(
    graph_2018: ChannelGraph, ghigh: ChannelGraph, ghigh_report: GraphReport
) -> None:
    old = analyse(graph_2018.filtered(5_000_000), FAST)

    change = compare(old, ghigh_report)

    assert change.comparable
    assert change.deltas["total_capacity_sat"] > 0
    assert change.nodes_kept + change.nodes_removed == old.totals.active_node_count
    assert any(a.kind == "hub_lost" for a in change.anomalies)
