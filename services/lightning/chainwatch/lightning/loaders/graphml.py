"""GraphML converted from ``lncli describegraph`` (the 2018 snapshot is one).

Nodes carry ``pub_key`` and ``name`` (the alias); edges carry the short channel id as the
GraphML edge id, ``chan_point``, ``last_update`` (Unix seconds) and ``capacity`` (sat).
GraphML has one set of attributes per edge, so a routing policy cannot be told apart by
direction: policy keys are not read (in the 2018 file they are declared and empty anyway).
The snapshot's time is the latest ``last_update``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from chainwatch.lightning.errors import SnapshotFormatError
from chainwatch.lightning.graph import Channel, ChannelGraph, Node

FORMAT = "graphml"
NS = "{http://graphml.graphdrawing.org/xmlns}"


def parse(data: bytes, name: str, path: Path | str) -> ChannelGraph:
    try:
        # A local snapshot file; Python's expat refuses external entities.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise SnapshotFormatError(path, "body", f"not XML: {exc}") from None
    keys = {key.get("id"): key.get("attr.name") for key in root.iter(f"{NS}key")}
    graph = root.find(f"{NS}graph")
    if graph is None:
        raise SnapshotFormatError(path, "graphml", "no <graph> element")

    nodes = []
    for element in graph.iter(f"{NS}node"):
        values = _data(element, keys)
        pub_key = values.get("pub_key") or element.get("id")
        if not pub_key:
            raise SnapshotFormatError(path, "node", "no id and no pub_key")
        nodes.append(Node(pub_key=pub_key, alias=values.get("name", "")))

    channels = []
    latest_ts = 0
    for i, element in enumerate(graph.iter(f"{NS}edge")):
        values = _data(element, keys)
        where = f"edge {element.get('id') or i}"
        source, target = element.get("source"), element.get("target")
        if not source or not target:
            raise SnapshotFormatError(path, where, "no source or target")
        last_update_ts = _int(values.get("last_update", "0"), f"{where}.last_update", path)
        latest_ts = max(latest_ts, last_update_ts)
        channels.append(
            Channel(
                channel_id=element.get("id") or values.get("chan_point") or str(i),
                node1_pub=source,
                node2_pub=target,
                capacity_sat=_int(values.get("capacity"), f"{where}.capacity", path),
                chan_point=values.get("chan_point"),
                last_update_ts=last_update_ts or None,
            )
        )

    known = {node.pub_key for node in nodes}
    ends = {pub for c in channels for pub in (c.node1_pub, c.node2_pub)}
    nodes += [Node(pub_key=pub) for pub in sorted(ends - known)]
    return ChannelGraph(
        name=name,
        source_format=FORMAT,
        nodes=tuple(nodes),
        channels=tuple(channels),
        snapshot_at=datetime.fromtimestamp(latest_ts, UTC) if latest_ts else None,
    )


def _data(element: ET.Element, keys: dict[str | None, str | None]) -> dict[str, str]:
    found = {}
    for item in element.iter(f"{NS}data"):
        name = keys.get(item.get("key")) or item.get("key")
        if name and item.text is not None and item.text.strip():
            found[name] = item.text.strip()
    return found


def _int(value: str | None, where: str, path: Path | str) -> int:
    if value is None:
        raise SnapshotFormatError(path, where, "missing")
    try:
        number = int(value)
    except ValueError:
        raise SnapshotFormatError(path, where, f"expected an integer, got {value!r}") from None
    if number < 0:
        raise SnapshotFormatError(path, where, f"negative: {number}")
    return number
