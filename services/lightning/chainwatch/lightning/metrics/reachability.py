"""Payment reachability: the probability that a random pair of nodes can route an amount.

Liquidity model (uniform balances, as in Pickhardt's 2024 study): each channel of
capacity c holds, independently, a balance X ~ Uniform(0, c) on its first end and c − X on
the other. A payment may be split over many paths (multi-part payments), so the largest
amount s can send t is the maximum flow from s to t in the directed graph whose arc u → v
has capacity equal to u's balance in the channel. A pair "can route" amount a when that
flow is at least a. Fees, HTLC limits, disabled channels and node uptime are ignored; the
model is optimistic about them and pessimistic about nothing.

Monte Carlo: ``worlds`` independent draws of all balances; in each, ``pairs_per_world``
ordered pairs (s, t), s ≠ t, drawn uniformly from the nodes that have a channel. One max
flow per pair answers every amount at once. The estimate for each amount is the share of
pairs that can route it, with a 95% Wilson interval; the sampling is seeded and repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import igraph as ig
import numpy as np

from chainwatch.lightning.graph import ChannelGraph

DEFAULT_AMOUNTS_SAT = (1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class AmountReachability:
    amount_sat: int
    probability: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Reachability:
    by_amount: tuple[AmountReachability, ...]
    pairs: int
    worlds: int
    seed: int
    median_max_flow_sat: float


def estimate(
    graph: ChannelGraph,
    amounts_sat: Sequence[int] = DEFAULT_AMOUNTS_SAT,
    worlds: int = 20,
    pairs_per_world: int = 50,
    seed: int = 0,
) -> Reachability:
    """Estimate reachability of each amount (see the module docstring)."""
    flows = max_flows(graph, worlds, pairs_per_world, seed)
    return Reachability(
        by_amount=tuple(_share(flows, a, worlds) for a in amounts_sat),
        pairs=flows.size,
        worlds=worlds,
        seed=seed,
        median_max_flow_sat=float(np.median(flows)) if flows.size else 0.0,
    )


def max_flows(graph: ChannelGraph, worlds: int, pairs_per_world: int, seed: int) -> np.ndarray:
    """The maximum flow, in sat, of ``worlds × pairs_per_world`` random pairs."""
    index = graph.index
    active = sorted({index[p] for c in graph.channels for p in (c.node1_pub, c.node2_pub)})
    if len(active) < 2:
        return np.zeros(0)

    ends = np.array([(index[c.node1_pub], index[c.node2_pub]) for c in graph.channels])
    arcs = np.concatenate([ends, ends[:, ::-1]])
    network = ig.Graph(n=len(graph.nodes), edges=arcs.tolist(), directed=True)
    capacity_sat = np.array([c.capacity_sat for c in graph.channels], dtype=float)

    rng = np.random.default_rng(seed)
    nodes = np.asarray(active)
    flows = []
    for _ in range(worlds):
        forward_sat = rng.uniform(0.0, 1.0, size=capacity_sat.size) * capacity_sat
        # Set once per world: igraph would convert a list argument on every call.
        network.es["liquidity_sat"] = np.concatenate(
            [forward_sat, capacity_sat - forward_sat]
        ).tolist()
        for _ in range(pairs_per_world):
            source, target = rng.choice(nodes, size=2, replace=False)
            flows.append(network.maxflow_value(int(source), int(target), "liquidity_sat"))
    return np.asarray(flows)


def _share(flows: np.ndarray, amount_sat: int, worlds: int) -> AmountReachability:
    n = flows.size
    if n == 0:
        return AmountReachability(amount_sat, 0.0, 0.0, 1.0)
    routed = flows >= amount_sat
    p = float(np.mean(routed))
    if worlds < 2:
        low, high = wilson_interval(p, n)
        return AmountReachability(amount_sat, p, low, high)
    per_world = routed.reshape(worlds, -1).mean(axis=1)
    half = 1.96 * float(np.std(per_world, ddof=1)) / math.sqrt(worlds)
    return AmountReachability(amount_sat, p, max(0.0, p - half), min(1.0, p + half))


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p`` observed in ``n`` trials."""
    if n == 0:
        return 0.0, 1.0
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
