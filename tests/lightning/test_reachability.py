"""Reachability against cases with a known answer, and bounds on the real graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from chainwatch.lightning.graph import Channel, ChannelGraph, Node
from chainwatch.lightning.metrics import reachability

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def graph_of(channels: list[tuple[str, str, int]]) -> ChannelGraph:
    pubs = sorted({p for a, b, _ in channels for p in (a, b)})
    return ChannelGraph(
        name="synthetic",
        source_format="lnd-describegraph",
        nodes=tuple(Node(p) for p in pubs),
        channels=tuple(Channel(f"{i}", a, b, c) for i, (a, b, c) in enumerate(channels)),
    )


def test_one_channel_routes_an_amount_with_probability_one_minus_its_share() -> None:
    # Either end holds Uniform(0, c): P(balance >= a) = 1 - a / c, whichever way the pair goes.
    graph = graph_of([("a", "b", 1_000_000)])

    result = reachability.estimate(
        graph, amounts_sat=(100_000, 500_000, 900_000), worlds=400, pairs_per_world=5, seed=11
    )

    for point, expected in zip(result.by_amount, (0.9, 0.5, 0.1), strict=True):
        assert point.ci_low <= expected <= point.ci_high
        assert point.probability == pytest.approx(expected, abs=0.05)


def test_parallel_paths_add_up_and_a_chain_multiplies() -> None:
    # a -> c through b (chain, both hops must carry it) and directly: max-flow uses both.
    chain = graph_of([("a", "b", 1_000), ("b", "c", 1_000)])
    flows = reachability.max_flows(chain, worlds=300, pairs_per_world=4, seed=2)
    # Any pair that includes the middle node needs one hop; the ends need both hops.
    assert np.mean(flows >= 500) == pytest.approx((2 / 3) * 0.5 + (1 / 3) * 0.25, abs=0.05)

    split = graph_of([("a", "b", 1_000), ("a", "b", 1_000)])
    both = reachability.max_flows(split, worlds=2000, pairs_per_world=1, seed=3)
    assert both.max() > 1_000  # two channels carry more than either one


def test_estimates_are_seeded_and_monotone_in_the_amount() -> None:
    graph = graph_of([("a", "b", 50_000), ("b", "c", 2_000_000), ("c", "a", 300_000)])

    first = reachability.estimate(graph, worlds=10, pairs_per_world=10, seed=5)
    again = reachability.estimate(graph, worlds=10, pairs_per_world=10, seed=5)

    assert first == again
    probabilities = [p.probability for p in first.by_amount]
    assert probabilities == sorted(probabilities, reverse=True)


@pytest.mark.data
def test_no_pair_routes_across_components(gfree: ChannelGraph) -> None:
    g = nx.Graph()
    g.add_edges_from((c.node1_pub, c.node2_pub) for c in gfree.channels)
    n = g.number_of_nodes()
    same_component = sum(len(c) * (len(c) - 1) for c in nx.connected_components(g)) / (n * (n - 1))

    result = reachability.estimate(gfree, worlds=20, pairs_per_world=50, seed=0)
    smallest = result.by_amount[0]

    # Below the smallest channel (100M sat), reachable means connected: the estimate can only
    # be the share of pairs in one component, within sampling error (3 standard errors).
    assert smallest.probability == pytest.approx(same_component, abs=0.03)
    assert result.by_amount[-1].probability <= smallest.probability
