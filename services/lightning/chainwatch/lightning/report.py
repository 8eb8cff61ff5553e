"""Turn an analysis (and its change since a baseline) into the wire model that is published."""

from __future__ import annotations

from chainwatch.lightning.analysis import GraphReport, NodeRank
from chainwatch.lightning.changes import SnapshotChange
from chainwatch.shared.lightning import (
    DegreeBin,
    LightningAnomaly,
    LightningChange,
    LightningCharts,
    LightningConcentration,
    LightningCutVertex,
    LightningHealthReport,
    LightningHealthScore,
    LightningNode,
    LightningReachability,
    LightningTopology,
    LightningTotals,
    LorenzPoint,
    ReachabilityPoint,
)

COMPONENT_SIZES_SHOWN = 20


def to_wire(
    report: GraphReport, digest: str, change: SnapshotChange | None = None
) -> LightningHealthReport:
    """The published form of ``report`` for the snapshot file whose SHA-256 is ``digest``."""
    topo = report.topology
    reach = report.reachability
    return LightningHealthReport(
        snapshot=report.name,
        snapshot_digest=digest,
        source_format=report.source_format,
        snapshot_at=report.snapshot_at,
        min_channel_capacity_sat=report.min_channel_capacity_sat,
        totals=LightningTotals(**vars(report.totals)),
        concentration=LightningConcentration(**vars(report.concentration)),
        topology=LightningTopology(
            component_count=topo.component_count,
            component_sizes=list(topo.component_sizes[:COMPONENT_SIZES_SHOWN]),
            largest_component_share=topo.largest_component_share,
            bridge_count=topo.bridge_count,
            leaf_bridge_count=topo.leaf_bridge_count,
            cut_vertex_count=topo.cut_vertex_count,
            top_cut_vertices=[
                LightningCutVertex(pub_key=c.pub_key, cut_off_nodes=c.cut_off_nodes)
                for c in topo.top_cut_vertices
            ],
            fragmentation_nakamoto=topo.fragmentation_nakamoto,
            fragmentation_strategy=topo.fragmentation_strategy,
            attack_survival_share=topo.attack_survival_share,
        ),
        centrality_sampled_sources=report.centrality_sampled_sources,
        top_by_capacity=[_node(rank) for rank in report.top_by_capacity],
        top_by_betweenness=[_node(rank) for rank in report.top_by_betweenness],
        reachability=LightningReachability(
            by_amount=[
                ReachabilityPoint(
                    amount_sat=a.amount_sat,
                    probability=a.probability,
                    ci_low=a.ci_low,
                    ci_high=a.ci_high,
                )
                for a in reach.by_amount
            ],
            pairs=reach.pairs,
            worlds=reach.worlds,
            seed=reach.seed,
            median_max_flow_sat=reach.median_max_flow_sat,
        ),
        health=LightningHealthScore(
            score=report.health.score,
            band=report.health.band,
            parts=report.health.parts,
            weights=report.health.weights,
        ),
        charts=LightningCharts(
            lorenz_capacity=[
                LorenzPoint(node_share=x, capacity_share=y) for x, y in report.lorenz_capacity
            ],
            degree_histogram=[
                DegreeBin(low=low, high=high, node_count=count)
                for low, high, count in report.degree_histogram
            ],
        ),
        change=_change(change) if change else None,
        timings_ms=report.timings_ms,
        analysed_at=report.analysed_at,
    )


def _node(rank: NodeRank) -> LightningNode:
    return LightningNode(**vars(rank))


def _change(change: SnapshotChange) -> LightningChange:
    return LightningChange(
        previous_snapshot=change.old_name,
        comparable=change.comparable,
        nodes_added=change.nodes_added,
        nodes_removed=change.nodes_removed,
        nodes_kept=change.nodes_kept,
        links_added=change.links_added,
        links_removed=change.links_removed,
        links_kept=change.links_kept,
        deltas=change.deltas,
        anomalies=[
            LightningAnomaly(
                kind=a.kind,
                severity=a.severity,
                detail=a.detail,
                pub_key=a.pub_key,
            )
            for a in change.anomalies
        ],
    )
