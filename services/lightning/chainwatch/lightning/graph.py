"""The channel graph every loader produces and every metric reads.

A snapshot of the public Lightning graph is a set of nodes (identified by ``pub_key``) and
channels between two of them. A channel's ``capacity_sat`` is the amount locked in its
funding output, in integer satoshis; how it is split between the two ends (the liquidity)
is private and never in a snapshot. A routing policy is what one end announces for
forwarding out of the channel: fees, HTLC limits and CLTV delta. Sources that do not carry
policies (the ln-graph-viz JSON, the 2018 GraphML) leave them ``None``.

Two nodes may share several channels; the graph keeps every channel. ``peer_links`` merges
them into one undirected link per pair, which is what topology metrics look at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

SAT_PER_BTC = 100_000_000


@dataclass(frozen=True)
class RoutingPolicy:
    """What one end of a channel charges and accepts when forwarding out of it.

    The fee for forwarding ``amount_msat`` is ``fee_base_msat + amount_msat *
    fee_rate_milli_msat / 1_000_000`` (the rate is in parts per million).
    """

    fee_base_msat: int
    fee_rate_milli_msat: int
    min_htlc_msat: int
    max_htlc_msat: int | None
    time_lock_delta: int
    disabled: bool


@dataclass(frozen=True)
class Node:
    """A node of the graph.

    ``reported_capacity_sat`` and ``reported_channel_count`` are what the source says about
    the node in the *whole* network, when the snapshot is a filtered subgraph that says so
    (ln-graph-viz does); ``None`` otherwise. ``node_type`` is a source's label such as
    ``"LSP, Payment"``, empty when unlabelled.
    """

    pub_key: str
    alias: str = ""
    node_type: str = ""
    reported_capacity_sat: int | None = None
    reported_channel_count: int | None = None


@dataclass(frozen=True)
class Channel:
    """A public channel between ``node1_pub`` and ``node2_pub``.

    ``channel_id`` is the short channel id where the source has one (LND's decimal form),
    else the source's own edge id. ``node1_policy`` governs forwarding from node 1 to node 2.
    """

    channel_id: str
    node1_pub: str
    node2_pub: str
    capacity_sat: int
    chan_point: str | None = None
    last_update_ts: int | None = None
    node1_policy: RoutingPolicy | None = None
    node2_policy: RoutingPolicy | None = None


@dataclass(frozen=True)
class PeerLink:
    """All channels between one pair of nodes, merged: ``a < b`` by ``pub_key``."""

    a: str
    b: str
    channel_count: int
    capacity_sat: int


@dataclass(frozen=True)
class ChannelGraph:
    """One snapshot: nodes, channels, and where it came from.

    ``min_channel_capacity_sat`` is the filter the source applied (the snapshot holds only
    channels larger than it); ``None`` for a full graph. Metrics of a filtered graph describe
    that subgraph, not the network.
    """

    name: str
    source_format: str
    nodes: tuple[Node, ...]
    channels: tuple[Channel, ...]
    snapshot_at: datetime | None = None
    min_channel_capacity_sat: int | None = None

    @cached_property
    def index(self) -> dict[str, int]:
        """``pub_key`` → position in ``nodes``."""
        return {node.pub_key: i for i, node in enumerate(self.nodes)}

    @property
    def total_capacity_sat(self) -> int:
        return sum(channel.capacity_sat for channel in self.channels)

    @cached_property
    def node_capacity_sat(self) -> tuple[int, ...]:
        """Each node's capacity (its strength): the sum of its channels' capacities, by index.

        Every channel counts at both ends, so these add up to twice the total capacity.
        """
        totals = [0] * len(self.nodes)
        for channel in self.channels:
            totals[self.index[channel.node1_pub]] += channel.capacity_sat
            totals[self.index[channel.node2_pub]] += channel.capacity_sat
        return tuple(totals)

    @cached_property
    def node_channel_count(self) -> tuple[int, ...]:
        """Each node's number of channels (its degree in the multigraph), by index."""
        counts = [0] * len(self.nodes)
        for channel in self.channels:
            counts[self.index[channel.node1_pub]] += 1
            counts[self.index[channel.node2_pub]] += 1
        return tuple(counts)

    @cached_property
    def peer_links(self) -> tuple[PeerLink, ...]:
        """One link per pair of nodes with at least one channel, in a stable order."""
        merged: dict[tuple[str, str], tuple[int, int]] = {}
        for channel in self.channels:
            a, b = sorted((channel.node1_pub, channel.node2_pub))
            count, capacity_sat = merged.get((a, b), (0, 0))
            merged[(a, b)] = (count + 1, capacity_sat + channel.capacity_sat)
        return tuple(
            PeerLink(a, b, count, capacity_sat)
            for (a, b), (count, capacity_sat) in sorted(merged.items())
        )

    @property
    def has_policies(self) -> bool:
        return any(c.node1_policy or c.node2_policy for c in self.channels)

    def filtered(self, min_channel_capacity_sat: int, name: str | None = None) -> ChannelGraph:
        """The subgraph of channels larger than ``min_channel_capacity_sat`` and their nodes.

        The same filter as the ln-graph-viz subgraphs, so that an unfiltered snapshot can
        be compared with them like for like.
        """
        channels = tuple(c for c in self.channels if c.capacity_sat > min_channel_capacity_sat)
        kept = {pub for c in channels for pub in (c.node1_pub, c.node2_pub)}
        return replace(
            self,
            name=name or f"{self.name} >{min_channel_capacity_sat} sat",
            nodes=tuple(n for n in self.nodes if n.pub_key in kept),
            channels=channels,
            min_channel_capacity_sat=max(
                min_channel_capacity_sat, self.min_channel_capacity_sat or 0
            ),
        )

    def without_nodes(self, pub_keys: Iterable[str], name: str | None = None) -> ChannelGraph:
        """The graph with these nodes and all their channels removed (for what-if analyses)."""
        removed = set(pub_keys)
        return replace(
            self,
            name=name or f"{self.name} without {len(removed)} nodes",
            nodes=tuple(n for n in self.nodes if n.pub_key not in removed),
            channels=tuple(
                c
                for c in self.channels
                if c.node1_pub not in removed and c.node2_pub not in removed
            ),
        )
