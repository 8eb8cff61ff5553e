"""The node/edge JSON of ln-graph-viz (sigma.js style), e.g. the 2025-04-30 subgraphs.

Nodes have a numeric ``id``, ``pub_key``, ``alias``, ``Node_Type`` and what the source
computed on the *whole* network: ``Total_Capacity`` (sat) and ``Total_Channels``. Edges
have ``source``, ``target`` (node ids) and ``capacity`` (sat); there is one edge per pair of
nodes and no routing policy. The files are filtered subgraphs, named by the filter:
``gfree`` holds channels above 1 BTC, ``ghigh`` channels above 5,000,000 sat, ``gall`` all.
The snapshot's date is the one in the file name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainwatch.lightning.errors import SnapshotFormatError
from chainwatch.lightning.graph import Channel, ChannelGraph, Node

FORMAT = "ln-graph-viz"

SUBGRAPH_MIN_CAPACITY_SAT = {"gfree": 100_000_000, "ghigh": 5_000_000, "gall": None}
"""The filter each ln-graph-viz subgraph applies: channels strictly larger than this."""

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse(document: dict[str, Any], name: str, path: Path | str) -> ChannelGraph:
    pub_key_of: dict[str, str] = {}
    nodes = []
    for i, raw in enumerate(document["nodes"]):
        where = f"nodes[{i}]"
        node_id, pub_key = raw.get("id"), raw.get("pub_key")
        if not node_id or not pub_key:
            raise SnapshotFormatError(path, where, "missing id or pub_key")
        pub_key_of[str(node_id)] = pub_key
        nodes.append(
            Node(
                pub_key=pub_key,
                alias=str(raw.get("alias") or ""),
                node_type=str(raw.get("Node_Type") or ""),
                reported_capacity_sat=_optional_int(raw.get("Total_Capacity")),
                reported_channel_count=_optional_int(raw.get("Total_Channels")),
            )
        )

    channels = []
    for i, raw in enumerate(document["edges"]):
        where = f"edges[{i}]"
        try:
            ends = pub_key_of[str(raw["source"])], pub_key_of[str(raw["target"])]
        except KeyError as exc:
            raise SnapshotFormatError(path, where, f"unknown node {exc}") from None
        capacity = raw.get("capacity")
        if isinstance(capacity, bool) or not isinstance(capacity, int | float) or capacity < 0:
            raise SnapshotFormatError(path, f"{where}.capacity", f"not satoshis: {capacity!r}")
        channels.append(
            Channel(
                channel_id=str(raw.get("id") or f"{raw['source']}-{raw['target']}"),
                node1_pub=ends[0],
                node2_pub=ends[1],
                capacity_sat=int(capacity),
            )
        )

    return ChannelGraph(
        name=name,
        source_format=FORMAT,
        nodes=tuple(nodes),
        channels=tuple(channels),
        snapshot_at=_date(name),
        min_channel_capacity_sat=next(
            (v for k, v in SUBGRAPH_MIN_CAPACITY_SAT.items() if name.endswith(k)), None
        ),
    )


def _optional_int(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


def _date(name: str) -> datetime | None:
    match = _DATE.search(name)
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups())
    return datetime(year, month, day, tzinfo=UTC)
