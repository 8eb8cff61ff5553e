"""Every metric of one snapshot, computed in one pass: ``analyse(graph) -> GraphReport``.

Node-level metrics (concentration, centrality, topology) are over the nodes that have at
least one channel; a node announced without a public channel is counted in
``Totals.node_count`` and nowhere else. Capacities are integer satoshis; a node's capacity
is the sum of its channels' (every channel counts at both of its ends, so the top 10%
share is of twice the network's capacity). ``timings_ms`` says how long each stage took.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from chainwatch.lightning.errors import EmptyGraphError
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.metrics import centrality, reachability, topology
from chainwatch.lightning.metrics.concentration import (
    gini,
    log2_histogram,
    lorenz_curve,
    nakamoto_coefficient,
    top_share,
)
from chainwatch.lightning.metrics.health import HealthScore, health_score

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisOptions:
    """How much work to spend; the defaults analyse the full public graph in seconds."""

    exact_max_nodes: int = 5_000
    sample_sources: int = 1_000
    reachability_worlds: int = 20
    reachability_pairs_per_world: int = 50
    amounts_sat: tuple[int, ...] = reachability.DEFAULT_AMOUNTS_SAT
    seed: int = 0
    top_nodes: int = 10


@dataclass(frozen=True)
class Totals:
    node_count: int
    active_node_count: int
    channel_count: int
    peer_link_count: int
    total_capacity_sat: int
    mean_channel_capacity_sat: float
    median_channel_capacity_sat: float
    mean_channels_per_node: float


@dataclass(frozen=True)
class Concentration:
    capacity_gini: float
    capacity_top1_share: float
    capacity_top10_share: float
    capacity_nakamoto: int
    degree_gini: float
    degree_top1_share: float
    degree_top10_share: float
    betweenness_gini: float


@dataclass(frozen=True)
class NodeTable:
    """Per-node metrics of the active nodes, aligned by position."""

    pub_keys: tuple[str, ...]
    aliases: tuple[str, ...]
    capacity_sat: np.ndarray
    channel_count: np.ndarray
    betweenness: np.ndarray
    closeness: np.ndarray
    component: np.ndarray


@dataclass(frozen=True)
class NodeRank:
    pub_key: str
    alias: str
    capacity_sat: int
    channel_count: int
    capacity_share: float
    betweenness: float
    closeness: float


@dataclass(frozen=True)
class GraphReport:
    name: str
    source_format: str
    snapshot_at: datetime | None
    min_channel_capacity_sat: int | None
    totals: Totals
    concentration: Concentration
    topology: topology.Topology
    centrality_sampled_sources: int | None
    reachability: reachability.Reachability
    health: HealthScore
    top_by_capacity: tuple[NodeRank, ...]
    top_by_betweenness: tuple[NodeRank, ...]
    lorenz_capacity: list[tuple[float, float]]
    degree_histogram: list[tuple[int, int, int]]
    nodes: NodeTable = field(repr=False)
    peer_pairs: frozenset[tuple[str, str]] = field(repr=False)
    timings_ms: dict[str, float]
    analysed_at: datetime


class _Stopwatch:
    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings_ms[name] = round((time.perf_counter() - start) * 1000, 1)


def analyse(graph: ChannelGraph, options: AnalysisOptions | None = None) -> GraphReport:
    """All metrics of ``graph``; raises ``EmptyGraphError`` when it has no channel."""
    options = options or AnalysisOptions()
    if not graph.channels:
        raise EmptyGraphError(graph.name)
    watch = _Stopwatch()

    with watch.stage("build"):
        g = topology.active_subgraph(graph)
        index = graph.index
        rows = [index[pub] for pub in g.vs["pub_key"]]
        capacity_sat = np.asarray(graph.node_capacity_sat)[rows]
        channel_count = np.asarray(graph.node_channel_count)[rows]

    with watch.stage("centrality"):
        central = centrality.compute(
            g, options.exact_max_nodes, options.sample_sources, options.seed
        )
    with watch.stage("topology"):
        topo = topology.measure(g, capacity_sat)
    with watch.stage("reachability"):
        reach = reachability.estimate(
            graph,
            options.amounts_sat,
            options.reachability_worlds,
            options.reachability_pairs_per_world,
            options.seed,
        )

    with watch.stage("summary"):
        concentration = Concentration(
            capacity_gini=gini(capacity_sat),
            capacity_top1_share=top_share(capacity_sat, 0.01),
            capacity_top10_share=top_share(capacity_sat, 0.10),
            capacity_nakamoto=nakamoto_coefficient(capacity_sat),
            degree_gini=gini(channel_count),
            degree_top1_share=top_share(channel_count, 0.01),
            degree_top10_share=top_share(channel_count, 0.10),
            betweenness_gini=gini(central.betweenness),
        )
        nodes = NodeTable(
            pub_keys=tuple(g.vs["pub_key"]),
            aliases=tuple(graph.nodes[r].alias for r in rows),
            capacity_sat=capacity_sat,
            channel_count=channel_count,
            betweenness=central.betweenness,
            closeness=central.closeness,
            component=np.asarray(g.connected_components().membership),
        )
        mean_reach = float(np.mean([a.probability for a in reach.by_amount]))
        health = health_score(
            mean_reach,
            concentration.capacity_gini,
            topo.largest_component_share,
            topo.attack_survival_share,
        )

    report = GraphReport(
        name=graph.name,
        source_format=graph.source_format,
        snapshot_at=graph.snapshot_at,
        min_channel_capacity_sat=graph.min_channel_capacity_sat,
        totals=_totals(graph, g.vcount()),
        concentration=concentration,
        topology=topo,
        centrality_sampled_sources=central.sampled_sources,
        reachability=reach,
        health=health,
        top_by_capacity=_top(nodes, nodes.capacity_sat, options.top_nodes),
        top_by_betweenness=_top(nodes, nodes.betweenness, options.top_nodes),
        lorenz_capacity=lorenz_curve(capacity_sat),
        degree_histogram=log2_histogram(channel_count.tolist()),
        nodes=nodes,
        peer_pairs=frozenset((link.a, link.b) for link in graph.peer_links),
        timings_ms=watch.timings_ms,
        analysed_at=datetime.now(UTC),
    )
    logger.info(
        "analysed %s: %d nodes, %d channels, health %.1f (%s) in %.0f ms",
        graph.name,
        report.totals.active_node_count,
        report.totals.channel_count,
        health.score,
        health.band,
        sum(watch.timings_ms.values()),
    )
    return report


def _totals(graph: ChannelGraph, active: int) -> Totals:
    capacities = [c.capacity_sat for c in graph.channels]
    return Totals(
        node_count=len(graph.nodes),
        active_node_count=active,
        channel_count=len(capacities),
        peer_link_count=len(graph.peer_links),
        total_capacity_sat=sum(capacities),
        mean_channel_capacity_sat=statistics.fmean(capacities),
        median_channel_capacity_sat=float(statistics.median(capacities)),
        mean_channels_per_node=2 * len(capacities) / active,
    )


def _top(nodes: NodeTable, key: np.ndarray, k: int) -> tuple[NodeRank, ...]:
    total_capacity_sat = float(nodes.capacity_sat.sum()) or 1.0
    order = np.lexsort((np.asarray(nodes.pub_keys), -key))[:k]
    return tuple(
        NodeRank(
            pub_key=nodes.pub_keys[i],
            alias=nodes.aliases[i],
            capacity_sat=int(nodes.capacity_sat[i]),
            channel_count=int(nodes.channel_count[i]),
            capacity_share=float(nodes.capacity_sat[i]) / total_capacity_sat,
            betweenness=float(nodes.betweenness[i]),
            closeness=float(nodes.closeness[i]),
        )
        for i in order
    )
