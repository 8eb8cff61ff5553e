"""The snapshots the service has analysed, and which earlier one each is compared with.

A snapshot's *baseline* is the most recent snapshot taken on an earlier date whose filter is
no stricter. When the baseline holds smaller channels than the snapshot does, it is first
filtered the same way, so the comparison is like for like (the 2018 full graph, cut to
channels above 5,000,000 sat, is the baseline of the 2025 ``ghigh`` subgraph). A snapshot
with no baseline, or whose filtered baseline has no channel, is reported without a change.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chainwatch.lightning.analysis import AnalysisOptions, GraphReport, analyse
from chainwatch.lightning.changes import SnapshotChange, compare
from chainwatch.lightning.errors import EmptyGraphError, LightningError
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.loaders import find_snapshots, load_snapshot
from chainwatch.lightning.report import to_wire
from chainwatch.shared.lightning import LightningHealthReport

logger = logging.getLogger(__name__)

_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    path: Path
    digest: str
    graph: ChannelGraph
    report: GraphReport
    wire: LightningHealthReport


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SnapshotCatalog:
    """Analyses each snapshot file once per content; keeps the results in memory."""

    def __init__(self, options: AnalysisOptions) -> None:
        self.options = options
        self.entries: dict[str, Entry] = {}

    def refresh(self, directory: Path) -> list[LightningHealthReport]:
        """Analyse every snapshot in ``directory`` that is new or changed; return their
        reports, oldest snapshot first. A file that cannot be read is logged and skipped."""
        fresh: list[tuple[Path, str, ChannelGraph]] = []
        for path in find_snapshots(directory):
            digest = file_digest(path)
            known = next((e for e in self.entries.values() if e.path == path), None)
            if known is not None and known.digest == digest:
                continue
            try:
                fresh.append((path, digest, load_snapshot(path)))
            except LightningError as exc:
                logger.error("skipped snapshot %s: %s", path.name, exc)

        published = []
        for path, digest, graph in sorted(fresh, key=lambda f: _order(f[2])):
            try:
                report = analyse(graph, self.options)
            except EmptyGraphError:
                logger.warning("snapshot %s has no channel; nothing to report", graph.name)
                continue
            change = self._change_since_baseline(graph, report)
            wire = to_wire(report, digest, change)
            # A new mapping, not an update: the API reads ``entries`` from another thread.
            self.entries = {**self.entries, graph.name: Entry(path, digest, graph, report, wire)}
            published.append(wire)
        return published

    def ordered(self) -> list[Entry]:
        """Every analysed snapshot, oldest first."""
        return sorted(self.entries.values(), key=lambda e: _order(e.graph))

    def latest(self) -> Entry | None:
        """The most recent snapshot; of several on one date, the one with the most nodes."""
        return max(
            self.entries.values(),
            key=lambda e: (_order(e.graph)[0], e.report.totals.active_node_count),
            default=None,
        )

    def baseline(self, graph: ChannelGraph) -> ChannelGraph | None:
        """The graph ``graph`` is compared with, filtered like it (see the module docstring)."""
        taken = graph.snapshot_at or _EPOCH
        threshold = graph.min_channel_capacity_sat or 0
        earlier = [
            e.graph
            for e in self.entries.values()
            if (e.graph.snapshot_at or _EPOCH) < taken
            and (e.graph.min_channel_capacity_sat or 0) <= threshold
        ]
        if not earlier:
            return None
        base = max(earlier, key=_order)
        if (base.min_channel_capacity_sat or 0) < threshold:
            base = base.filtered(threshold)
        return base

    def _change_since_baseline(
        self, graph: ChannelGraph, report: GraphReport
    ) -> SnapshotChange | None:
        base = self.baseline(graph)
        if base is None:
            return None
        try:
            base_report = analyse(base, self.options)
        except EmptyGraphError:
            logger.info(
                "baseline %s of %s has no channel; no change reported", base.name, graph.name
            )
            return None
        change = compare(base_report, report)
        if change.anomalies:
            kinds = Counter(a.kind for a in change.anomalies)
            logger.warning(
                "%s vs %s: %d anomalies (%s)",
                graph.name,
                base.name,
                len(change.anomalies),
                ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items())),
            )
        for anomaly in change.anomalies:
            logger.info("%s: %s: %s", graph.name, anomaly.kind, anomaly.detail)
        return change


def _order(graph: ChannelGraph) -> tuple[datetime, str]:
    return graph.snapshot_at or _EPOCH, graph.name
