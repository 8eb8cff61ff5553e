"""``lncli describegraph`` JSON, the format of LND's ``DescribeGraph`` RPC.

LND writes 64-bit integers as strings (``"capacity": "5000000"``) and 32-bit ones as
numbers (``"time_lock_delta": 40``); both are accepted everywhere. ``min_htlc`` is in
millisatoshis despite its name. A policy an end never announced is ``null``. A channel
whose end is missing from ``nodes`` still counts: the node is added with an empty alias.
The snapshot's time is the latest ``last_update`` of any node or channel.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainwatch.lightning.errors import SnapshotFormatError
from chainwatch.lightning.graph import Channel, ChannelGraph, Node, RoutingPolicy

logger = logging.getLogger(__name__)

FORMAT = "lnd-describegraph"


def parse(document: dict[str, Any], name: str, path: Path | str) -> ChannelGraph:
    nodes: dict[str, Node] = {}
    latest_ts = 0
    for i, raw in enumerate(document["nodes"]):
        pub_key = _text(raw, "pub_key", f"nodes[{i}]", path)
        nodes[pub_key] = Node(pub_key=pub_key, alias=str(raw.get("alias") or ""))
        latest_ts = max(latest_ts, _int(raw.get("last_update") or 0, f"nodes[{i}]", path))

    channels = []
    missing = 0
    for i, raw in enumerate(document["edges"]):
        where = f"edges[{i}]"
        ends = (_text(raw, "node1_pub", where, path), _text(raw, "node2_pub", where, path))
        for pub_key in ends:
            if pub_key not in nodes:
                nodes[pub_key] = Node(pub_key=pub_key)
                missing += 1
        last_update_ts = _int(raw.get("last_update") or 0, where, path)
        latest_ts = max(latest_ts, last_update_ts)
        channels.append(
            Channel(
                channel_id=_text(raw, "channel_id", where, path),
                node1_pub=ends[0],
                node2_pub=ends[1],
                capacity_sat=_int(raw.get("capacity"), f"{where}.capacity", path),
                chan_point=raw.get("chan_point") or None,
                last_update_ts=last_update_ts or None,
                node1_policy=_policy(raw.get("node1_policy"), f"{where}.node1_policy", path),
                node2_policy=_policy(raw.get("node2_policy"), f"{where}.node2_policy", path),
            )
        )
    if missing:
        logger.warning("%s: %d channel ends not among the nodes; added bare", name, missing)

    return ChannelGraph(
        name=name,
        source_format=FORMAT,
        nodes=tuple(nodes.values()),
        channels=tuple(channels),
        snapshot_at=datetime.fromtimestamp(latest_ts, UTC) if latest_ts else None,
    )


def _policy(raw: Any, where: str, path: Path | str) -> RoutingPolicy | None:
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise SnapshotFormatError(path, where, "expected an object or null")
    max_htlc = raw.get("max_htlc_msat")
    return RoutingPolicy(
        fee_base_msat=_int(raw.get("fee_base_msat", 0), f"{where}.fee_base_msat", path),
        fee_rate_milli_msat=_int(
            raw.get("fee_rate_milli_msat", 0), f"{where}.fee_rate_milli_msat", path
        ),
        min_htlc_msat=_int(raw.get("min_htlc", 0), f"{where}.min_htlc", path),
        max_htlc_msat=_int(max_htlc, f"{where}.max_htlc_msat", path) if max_htlc else None,
        time_lock_delta=_int(raw.get("time_lock_delta", 0), f"{where}.time_lock_delta", path),
        disabled=bool(raw.get("disabled", False)),
    )


def _text(raw: Any, key: str, where: str, path: Path | str) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, str | int) or value == "":
        raise SnapshotFormatError(path, f"{where}.{key}", "missing")
    return str(value)


def _int(value: Any, where: str, path: Path | str) -> int:
    """An integer given as a number or a decimal string; negative values are refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SnapshotFormatError(path, where, f"expected an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise SnapshotFormatError(path, where, f"expected an integer, got {value!r}") from None
    if number < 0:
        raise SnapshotFormatError(path, where, f"negative: {number}")
    return number
