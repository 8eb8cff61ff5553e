"""Read a channel-graph snapshot from a file, whatever its format, into a ``ChannelGraph``.

Formats, told apart by the file's suffix and then its content (``.gz`` is read through gzip):

* ``lncli describegraph`` JSON (LND): ``{"nodes": [{pub_key, alias}], "edges": [{channel_id,
  node1_pub, node2_pub, capacity, node1_policy, node2_policy}]}``; see ``lnd``.
* GraphML (``.graphml`` or ``.xml``), as converted from ``describegraph``; see ``graphml``.
* ln-graph-viz node/edge JSON (``{"nodes": [{id, pub_key}], "edges": [{source, target,
  capacity}]}``), the filtered 2025 subgraphs; see ``lngraphviz``.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

from chainwatch.lightning.errors import SnapshotFormatError
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.loaders import graphml, lnd, lngraphviz

logger = logging.getLogger(__name__)

SNAPSHOT_SUFFIXES = (".json", ".json.gz", ".graphml", ".graphml.gz", ".xml", ".xml.gz")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def snapshot_name(path: Path) -> str:
    """The file name without its format suffixes: ``ln-graph-viz_2025-04-30_ghigh``."""
    name = path.name
    for suffix in (".gz", ".json", ".graphml", ".xml"):
        name = name.removesuffix(suffix)
    return name


def load_snapshot(path: Path) -> ChannelGraph:
    """Load one snapshot file; raises ``SnapshotFormatError`` naming what did not fit."""
    data = read_bytes(path)
    name = snapshot_name(path)
    stem = path.name.removesuffix(".gz")

    if stem.endswith((".graphml", ".xml")):
        graph = graphml.parse(data, name, path)
    elif stem.endswith(".json"):
        document = _json(data, path)
        graph = _parse_json(document, name, path)
    else:
        raise SnapshotFormatError(path, "file name", f"not one of {', '.join(SNAPSHOT_SUFFIXES)}")

    logger.info(
        "loaded snapshot %s (%s): %d nodes, %d channels",
        name,
        graph.source_format,
        len(graph.nodes),
        len(graph.channels),
    )
    return graph


def find_snapshots(directory: Path) -> list[Path]:
    """Snapshot files in ``directory``, by name."""
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.name.endswith(SNAPSHOT_SUFFIXES)
    )


def _json(data: bytes, path: Path) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotFormatError(path, "body", f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SnapshotFormatError(path, "body", "expected an object with nodes and edges")
    return document


def _parse_json(document: dict[str, Any], name: str, path: Path) -> ChannelGraph:
    edges = document.get("edges")
    if not isinstance(edges, list) or not isinstance(document.get("nodes"), list):
        raise SnapshotFormatError(path, "body", "expected lists 'nodes' and 'edges'")
    first = edges[0] if edges and isinstance(edges[0], dict) else {}
    if not edges or "node1_pub" in first:
        return lnd.parse(document, name, path)
    if "source" in first and "target" in first:
        return lngraphviz.parse(document, name, path)
    raise SnapshotFormatError(path, "edges[0]", "neither describegraph nor ln-graph-viz edges")
