"""Wire model of the Lightning Network health report (subject ``chainwatch.lightning.health``).

The lightning service analyses a channel-graph snapshot and publishes one
``LightningHealthReport``: totals, how concentrated capacity and channels are, the graph's
connectivity, routing hubs, the probability that a random pair of nodes can route a given
amount, a health score in [0, 100] with its parts, the series a dashboard needs to draw
them, and what changed since the previous snapshot.

Amounts are integer satoshis (``*_sat``); shares and probabilities are in [0, 1];
centralities are normalised to [0, 1]. Metrics of a filtered snapshot
(``min_channel_capacity_sat`` set) describe that subgraph, not the whole network.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from chainwatch.shared.schemas import Satoshis, WireModel
from chainwatch.shared.subjects import PREFIX, StreamSpec

LIGHTNING_HEALTH = f"{PREFIX}.lightning.health"
"""One health report per analysed channel-graph snapshot."""

LIGHTNING_STREAM = StreamSpec(
    name="CHAINWATCH_LIGHTNING",
    subjects=(f"{PREFIX}.lightning.>",),
    max_age=timedelta(days=365),
    duplicate_window=timedelta(hours=2),
    description="Lightning Network health reports, one per analysed snapshot",
)
"""Declared by the lightning service; not in ``subjects.ALL_STREAMS``."""

Share = float
"""A share or probability in [0, 1]."""


class LightningTotals(WireModel):
    node_count: int = Field(ge=0, description="Nodes in the snapshot, with or without channels")
    active_node_count: int = Field(ge=0, description="Nodes with at least one channel")
    channel_count: int = Field(ge=0)
    peer_link_count: int = Field(ge=0, description="Pairs of nodes sharing at least one channel")
    total_capacity_sat: Satoshis
    mean_channel_capacity_sat: float = Field(ge=0)
    median_channel_capacity_sat: float = Field(ge=0)
    mean_channels_per_node: float = Field(ge=0)


class LightningConcentration(WireModel):
    """Over active nodes; a node's capacity is the sum of its channels' capacities."""

    capacity_gini: Share = Field(ge=0, le=1)
    capacity_top1_share: Share = Field(ge=0, le=1, description="Held by the top 1% of nodes")
    capacity_top10_share: Share = Field(ge=0, le=1, description="Held by the top 10% of nodes")
    capacity_nakamoto: int = Field(ge=0, description="Fewest nodes holding over half")
    degree_gini: Share = Field(ge=0, le=1)
    degree_top1_share: Share = Field(ge=0, le=1)
    degree_top10_share: Share = Field(ge=0, le=1)
    betweenness_gini: Share = Field(ge=0, le=1)


class LightningCutVertex(WireModel):
    pub_key: str
    cut_off_nodes: int = Field(ge=0, description="Nodes its loss cuts off the largest component")


class LightningTopology(WireModel):
    component_count: int = Field(ge=0)
    component_sizes: list[int] = Field(description="Largest first; at most 20")
    largest_component_share: Share = Field(ge=0, le=1)
    bridge_count: int = Field(ge=0, description="Single-channel links whose loss disconnects")
    leaf_bridge_count: int = Field(ge=0, description="...of which lead to a one-partner node")
    cut_vertex_count: int = Field(ge=0)
    top_cut_vertices: list[LightningCutVertex]
    fragmentation_nakamoto: int = Field(
        ge=0, description="Nodes a greedy attacker removes to halve the largest component"
    )
    fragmentation_strategy: Literal["degree", "capacity"]
    attack_survival_share: Share = Field(
        ge=0, le=1, description="Largest component kept when its top 1% by degree go"
    )


class LightningNode(WireModel):
    pub_key: str
    alias: str
    capacity_sat: Satoshis
    channel_count: int = Field(ge=0)
    capacity_share: Share = Field(ge=0, le=1, description="Of the sum of all node capacities")
    betweenness: float = Field(ge=0, description="Normalised; sampled on large graphs")
    closeness: float = Field(ge=0, description="Wasserman-Faust, hop counts")


class ReachabilityPoint(WireModel):
    amount_sat: Satoshis
    probability: Share = Field(ge=0, le=1)
    ci_low: Share = Field(ge=0, le=1, description="95% Wilson interval")
    ci_high: Share = Field(ge=0, le=1)


class LightningReachability(WireModel):
    model: str = Field(
        "uniform-balance max-flow",
        description="Balances uniform in [0, capacity]; multi-part payments; no fees",
    )
    by_amount: list[ReachabilityPoint]
    pairs: int = Field(ge=0, description="Random (source, target) pairs sampled")
    worlds: int = Field(ge=0, description="Independent draws of every channel's balance")
    seed: int
    median_max_flow_sat: float = Field(ge=0)


class LightningHealthScore(WireModel):
    score: float = Field(ge=0, le=100, description="100 × Σ weight · part")
    band: Literal["healthy", "watch", "poor"]
    parts: dict[str, Share]
    weights: dict[str, float]


class LorenzPoint(WireModel):
    node_share: Share = Field(ge=0, le=1, description="Smallest nodes first")
    capacity_share: Share = Field(ge=0, le=1)


class DegreeBin(WireModel):
    low: int = Field(ge=1, description="Channels, inclusive")
    high: int = Field(ge=2, description="Channels, exclusive")
    node_count: int = Field(ge=0)


class LightningCharts(WireModel):
    lorenz_capacity: list[LorenzPoint]
    degree_histogram: list[DegreeBin] = Field(description="Bins doubling: 1, 2-3, 4-7, ...")


class LightningAnomaly(WireModel):
    kind: Literal[
        "hub_lost",
        "component_split",
        "capacity_drop",
        "reachability_drop",
        "concentration_rise",
        "connectivity_drop",
    ]
    severity: Literal["warning", "critical"]
    detail: str
    pub_key: str | None = None


class LightningChange(WireModel):
    """How this snapshot differs from the previous one the service analysed."""

    previous_snapshot: str
    comparable: bool = Field(description="False when the two were filtered differently")
    nodes_added: int = Field(ge=0)
    nodes_removed: int = Field(ge=0)
    nodes_kept: int = Field(ge=0)
    links_added: int = Field(ge=0)
    links_removed: int = Field(ge=0)
    links_kept: int = Field(ge=0)
    deltas: dict[str, float] = Field(description="New minus previous, per headline figure")
    anomalies: list[LightningAnomaly]


class LightningHealthReport(WireModel):
    """The health of one channel-graph snapshot (subject ``chainwatch.lightning.health``)."""

    schema_version: Literal[1] = 1
    snapshot: str = Field(description="Name of the snapshot, from its file name")
    snapshot_digest: str = Field(description="SHA-256 of the snapshot file, hex")
    source_format: Literal["lnd-describegraph", "graphml", "ln-graph-viz"]
    snapshot_at: AwareDatetime | None = Field(description="When the graph was taken, UTC")
    min_channel_capacity_sat: Satoshis | None = Field(
        description="Only channels above this are in the snapshot; null for the full graph"
    )
    totals: LightningTotals
    concentration: LightningConcentration
    topology: LightningTopology
    centrality_sampled_sources: int | None = Field(
        description="Sources sampled for betweenness and closeness; null when exact"
    )
    top_by_capacity: list[LightningNode]
    top_by_betweenness: list[LightningNode]
    reachability: LightningReachability
    health: LightningHealthScore
    charts: LightningCharts
    change: LightningChange | None = None
    timings_ms: dict[str, float] = Field(description="Time per analysis stage, milliseconds")
    analysed_at: AwareDatetime
