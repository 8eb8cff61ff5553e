"""What changed between two snapshots, and which changes look like structural trouble.

``compare(old, new)`` takes two ``GraphReport``s and says how the totals, concentration,
reachability and health moved, which nodes came and went, and which anomalies it sees:

* ``hub_lost``: one of the old snapshot's top nodes (by capacity or by betweenness) has no
  channel in the new one. Critical: its channels' routes and liquidity are gone.
* ``component_split``: nodes that shared a component before, and are all still present,
  now sit in two or more components, the second piece holding at least
  ``split_min_nodes`` of them. Critical: payments between the pieces cannot route.
* ``capacity_drop``: total capacity fell by more than ``capacity_drop_share``.
* ``reachability_drop``: reachability of some amount fell by more than
  ``reachability_drop`` (absolute probability).
* ``concentration_rise``: capacity Gini rose by more than ``gini_rise``.
* ``connectivity_drop``: the largest component's share of nodes fell by more than
  ``connectivity_drop``.

Snapshots filtered at different channel sizes are not comparable like for like; the
result says so (``comparable``) and the anomalies then mostly describe the filters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainwatch.lightning.analysis import GraphReport


@dataclass(frozen=True)
class Thresholds:
    hub_top_k: int = 10
    split_min_nodes: int = 3
    capacity_drop_share: float = 0.20
    reachability_drop: float = 0.10
    gini_rise: float = 0.05
    connectivity_drop: float = 0.05


@dataclass(frozen=True)
class Anomaly:
    kind: str
    severity: str
    detail: str
    pub_key: str | None = None


@dataclass(frozen=True)
class SnapshotChange:
    old_name: str
    new_name: str
    comparable: bool
    nodes_added: int
    nodes_removed: int
    nodes_kept: int
    links_added: int
    links_removed: int
    links_kept: int
    deltas: dict[str, float]
    """new − old for each headline figure (``capacity_gini``, ``total_capacity_sat``, ...)."""
    anomalies: tuple[Anomaly, ...]


def compare(
    old: GraphReport, new: GraphReport, thresholds: Thresholds | None = None
) -> SnapshotChange:
    """How ``new`` differs from ``old``, with the anomalies it shows."""
    limits = thresholds or Thresholds()
    old_nodes, new_nodes = set(old.nodes.pub_keys), set(new.nodes.pub_keys)
    old_links, new_links = old.peer_pairs, new.peer_pairs
    deltas = _deltas(old, new)

    anomalies = [*_hubs_lost(old, new_nodes, limits), *_splits(old, new, limits)]
    anomalies += _threshold_anomalies(old, new, deltas, limits)

    return SnapshotChange(
        old_name=old.name,
        new_name=new.name,
        comparable=old.min_channel_capacity_sat == new.min_channel_capacity_sat,
        nodes_added=len(new_nodes - old_nodes),
        nodes_removed=len(old_nodes - new_nodes),
        nodes_kept=len(old_nodes & new_nodes),
        links_added=len(new_links - old_links),
        links_removed=len(old_links - new_links),
        links_kept=len(old_links & new_links),
        deltas=deltas,
        anomalies=tuple(anomalies),
    )


def _deltas(old: GraphReport, new: GraphReport) -> dict[str, float]:
    figures: dict[str, Callable[[GraphReport], float]] = {
        "active_node_count": lambda r: r.totals.active_node_count,
        "channel_count": lambda r: r.totals.channel_count,
        "total_capacity_sat": lambda r: r.totals.total_capacity_sat,
        "median_channel_capacity_sat": lambda r: r.totals.median_channel_capacity_sat,
        "capacity_gini": lambda r: r.concentration.capacity_gini,
        "capacity_top10_share": lambda r: r.concentration.capacity_top10_share,
        "capacity_nakamoto": lambda r: r.concentration.capacity_nakamoto,
        "betweenness_gini": lambda r: r.concentration.betweenness_gini,
        "largest_component_share": lambda r: r.topology.largest_component_share,
        "fragmentation_nakamoto": lambda r: r.topology.fragmentation_nakamoto,
        "health_score": lambda r: r.health.score,
    }
    deltas = {name: float(get(new) - get(old)) for name, get in figures.items()}
    new_reach = {a.amount_sat: a.probability for a in new.reachability.by_amount}
    for amount in old.reachability.by_amount:
        if amount.amount_sat in new_reach:
            key = f"reachability_{amount.amount_sat}_sat"
            deltas[key] = new_reach[amount.amount_sat] - amount.probability
    return deltas


def _hubs_lost(old: GraphReport, new_nodes: set[str], limits: Thresholds) -> list[Anomaly]:
    hubs = {rank.pub_key: rank for rank in old.top_by_capacity[: limits.hub_top_k]}
    for rank in old.top_by_betweenness[: limits.hub_top_k]:
        hubs.setdefault(rank.pub_key, rank)
    return [
        Anomaly(
            kind="hub_lost",
            severity="critical",
            detail=(
                f"hub {rank.alias or rank.pub_key[:16]} ({rank.channel_count} channels, "
                f"{rank.capacity_sat / 1e8:.2f} BTC, betweenness {rank.betweenness:.3f}) "
                "has no channel in the new snapshot"
            ),
            pub_key=pub_key,
        )
        for pub_key, rank in hubs.items()
        if pub_key not in new_nodes
    ]


def _splits(old: GraphReport, new: GraphReport, limits: Thresholds) -> list[Anomaly]:
    new_component = dict(zip(new.nodes.pub_keys, new.nodes.component.tolist(), strict=True))
    pieces: dict[int, Counter[int]] = {}
    for pub_key, component in zip(old.nodes.pub_keys, old.nodes.component.tolist(), strict=True):
        if pub_key in new_component:
            pieces.setdefault(component, Counter())[new_component[pub_key]] += 1

    found = []
    for component, counts in pieces.items():
        sizes = sorted(counts.values(), reverse=True)
        if len(sizes) >= 2 and sizes[1] >= limits.split_min_nodes:
            old_size = int(np.sum(old.nodes.component == component))
            found.append(
                Anomaly(
                    kind="component_split",
                    severity="critical",
                    detail=(
                        f"a component of {old_size} nodes split: its {sum(sizes)} remaining "
                        f"nodes now sit in {len(sizes)} components, largest pieces {sizes[:5]}"
                    ),
                )
            )
    return found


def _threshold_anomalies(
    old: GraphReport, new: GraphReport, deltas: dict[str, float], limits: Thresholds
) -> list[Anomaly]:
    found = []
    old_capacity_sat = old.totals.total_capacity_sat
    if (
        old_capacity_sat
        and -deltas["total_capacity_sat"] > limits.capacity_drop_share * old_capacity_sat
    ):
        share = -deltas["total_capacity_sat"] / old_capacity_sat
        found.append(Anomaly("capacity_drop", "warning", f"total capacity fell by {share:.0%}"))
    for key, delta in deltas.items():
        if key.startswith("reachability_") and -delta > limits.reachability_drop:
            found.append(
                Anomaly("reachability_drop", "warning", f"{key} fell by {-delta:.1%} points")
            )
    if deltas["capacity_gini"] > limits.gini_rise:
        found.append(
            Anomaly(
                "concentration_rise",
                "warning",
                f"capacity Gini rose from {old.concentration.capacity_gini:.3f} to "
                f"{new.concentration.capacity_gini:.3f}",
            )
        )
    if -deltas["largest_component_share"] > limits.connectivity_drop:
        found.append(
            Anomaly(
                "connectivity_drop",
                "warning",
                f"largest component share fell by {-deltas['largest_component_share']:.1%} points",
            )
        )
    return found
