"""Node features and labels for the role experiment, from a snapshot and its analysis.

Features, one row per active node, all computed from the graph itself (never from what a
source reports about the whole network, which would leak the answer for a filtered graph):

* ``log_capacity``: log(1 + the node's capacity in sat)
* ``log_channels``: log(1 + its channel count)
* ``log_mean_channel``: log(1 + its mean channel capacity in sat)
* ``betweenness``: ×1000, normalised betweenness (``analysis``)
* ``closeness``: Wasserman-Faust closeness
* ``clustering``: the share of its partners' pairs that share a channel too

The label is 1 when the source names a role for the node (``Node.node_type`` not empty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from chainwatch.lightning.analysis import GraphReport
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.metrics.topology import active_subgraph

FEATURES = (
    "log_capacity",
    "log_channels",
    "log_mean_channel",
    "betweenness",
    "closeness",
    "clustering",
)


@dataclass(frozen=True)
class RoleData:
    """Features ``x`` (n × len(FEATURES)), labels ``y`` (n), and the normalised adjacency
    ``D^-1/2 (A + I) D^-1/2`` of the same nodes, in ``pub_keys`` order."""

    pub_keys: tuple[str, ...]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    adjacency: sp.csr_matrix


def role_data(graph: ChannelGraph, report: GraphReport) -> RoleData:
    nodes = report.nodes
    g = active_subgraph(graph)
    if tuple(g.vs["pub_key"]) != nodes.pub_keys:
        raise ValueError(f"the report is not of graph {graph.name!r}")
    capacity = nodes.capacity_sat.astype(float)
    channels = nodes.channel_count.astype(float)
    clustering = np.nan_to_num(np.asarray(g.transitivity_local_undirected(), dtype=float))
    x = np.column_stack(
        [
            np.log1p(capacity),
            np.log1p(channels),
            np.log1p(capacity / np.maximum(channels, 1)),
            1000 * nodes.betweenness,
            nodes.closeness,
            clustering,
        ]
    )
    labelled = {n.pub_key for n in graph.nodes if n.node_type}
    pub_keys = tuple(g.vs["pub_key"])
    y = np.asarray([int(p in labelled) for p in pub_keys], dtype=np.int64)
    return RoleData(pub_keys, x, y, normalised_adjacency(g.get_edgelist(), len(pub_keys)))


def normalised_adjacency(edges: list[tuple[int, int]], n: int) -> sp.csr_matrix:
    """``D^-1/2 (A + I) D^-1/2`` of an undirected graph (Kipf and Welling, 2017)."""
    rows = [a for a, b in edges] + [b for a, b in edges] + list(range(n))
    cols = [b for a, b in edges] + [a for a, b in edges] + list(range(n))
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    inverse_sqrt = 1.0 / np.sqrt(np.asarray(a.sum(axis=1)).ravel())
    d = sp.diags(inverse_sqrt)
    return sp.csr_matrix(d @ a @ d)
