"""Every snapshot format loads into the same model, with counts that match the sources."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from chainwatch.lightning.errors import SnapshotFormatError
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.loaders import load_snapshot

from .conftest import DESCRIBEGRAPH


def test_describegraph_reads_lnds_string_integers_and_policies() -> None:
    graph = load_snapshot(DESCRIBEGRAPH)

    assert graph.source_format == "lnd-describegraph"
    assert len(graph.channels) == 6
    first = graph.channels[0]
    assert first.capacity_sat == 5_000_000
    assert first.channel_id == "871234567890123776"
    assert first.chan_point is not None and first.chan_point.endswith(":0")
    assert first.node1_policy is not None and first.node2_policy is not None
    assert first.node1_policy.fee_base_msat == 1000
    assert first.node2_policy.fee_rate_milli_msat == 100
    assert first.node2_policy.time_lock_delta == 80
    assert first.node1_policy.max_htlc_msat == 4_950_000_000
    assert graph.channels[1].node2_policy is None
    assert graph.channels[2].node1_policy is not None and graph.channels[2].node1_policy.disabled
    assert graph.has_policies


def test_describegraph_keeps_parallel_channels_and_adds_nodes_known_only_from_channels() -> None:
    graph = load_snapshot(DESCRIBEGRAPH)

    assert len(graph.nodes) == 6  # five listed (one without channels) and one named by a channel
    assert len(graph.peer_links) == 5  # the two a-b channels merge into one link
    merged = [link for link in graph.peer_links if link.channel_count == 2]
    assert [link.capacity_sat for link in merged] == [7_000_000]
    assert graph.total_capacity_sat == 28_450_000
    assert sum(graph.node_capacity_sat) == 2 * graph.total_capacity_sat
    assert graph.snapshot_at is not None and graph.snapshot_at.timestamp() == 1714000600


def test_describegraph_errors_name_the_field(tmp_path: Path) -> None:
    document = json.loads(DESCRIBEGRAPH.read_text())
    document["edges"][3]["capacity"] = "lots"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))

    with pytest.raises(SnapshotFormatError) as caught:
        load_snapshot(path)

    assert caught.value.where == "edges[3].capacity"
    assert "lots" in caught.value.reason


def test_gzip_is_read_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "small.json.gz"
    path.write_bytes(gzip.compress(DESCRIBEGRAPH.read_bytes()))

    assert load_snapshot(path).channels == load_snapshot(DESCRIBEGRAPH).channels


def test_unknown_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"nodes": [], "edges": [{"from": 1, "to": 2}]}))

    with pytest.raises(SnapshotFormatError, match="neither describegraph nor ln-graph-viz"):
        load_snapshot(path)


@pytest.mark.data
def test_graphml_2018_matches_its_declared_counts(graph_2018: ChannelGraph) -> None:
    assert graph_2018.source_format == "graphml"
    assert len(graph_2018.nodes) == 1507  # parse.nodes in the file
    assert len(graph_2018.channels) == 8537  # parse.edges
    assert all(c.chan_point and c.last_update_ts for c in graph_2018.channels)
    assert not graph_2018.has_policies  # declared, empty in the file
    assert graph_2018.snapshot_at is not None
    assert graph_2018.snapshot_at.date().isoformat() == "2018-08-24"


@pytest.mark.data
def test_ln_graph_viz_subgraphs_match_provenance_and_their_filters(
    gfree: ChannelGraph, ghigh: ChannelGraph
) -> None:
    assert (len(gfree.nodes), len(gfree.channels)) == (114, 312)
    assert (len(ghigh.nodes), len(ghigh.channels)) == (1924, 10275)
    for graph, threshold in ((gfree, 100_000_000), (ghigh, 5_000_000)):
        assert graph.min_channel_capacity_sat == threshold
        assert min(c.capacity_sat for c in graph.channels) > threshold
    acinq = next(n for n in ghigh.nodes if n.alias == "ACINQ")
    assert acinq.reported_capacity_sat is not None
    assert acinq.reported_capacity_sat > ghigh.node_capacity_sat[ghigh.index[acinq.pub_key]]


@pytest.mark.data
def test_filtering_the_2018_graph_keeps_only_larger_channels(graph_2018: ChannelGraph) -> None:
    cut = graph_2018.filtered(5_000_000)

    assert 0 < len(cut.channels) < len(graph_2018.channels)
    assert all(c.capacity_sat > 5_000_000 for c in cut.channels)
    ends = {p for c in cut.channels for p in (c.node1_pub, c.node2_pub)}
    assert {n.pub_key for n in cut.nodes} == ends
