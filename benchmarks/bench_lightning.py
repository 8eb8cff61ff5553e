"""Lightning analysis time: how long one snapshot takes to analyse, stage by stage.

- every real snapshot in ``<data dir>/lightning``: load, then the full analysis with the
  service's default options (exact centrality up to 5,000 nodes; reachability from 20
  balance draws × 50 pairs), the median of ``--repeat`` runs;
- a synthetic graph the size of the whole public network in early 2024 (16,555 nodes,
  58,093 channels; scale-free degrees, log-normal capacities with a median of 1M sat),
  where centrality is sampled from 1,000 sources: what a full ``describegraph`` would cost.

Prints one Markdown table; ``make bench`` runs it with defaults.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import time
from pathlib import Path

import igraph as ig
import numpy as np

from chainwatch.lightning.analysis import AnalysisOptions, analyse
from chainwatch.lightning.graph import Channel, ChannelGraph, Node
from chainwatch.lightning.loaders import find_snapshots, load_snapshot

STAGES = ("build", "centrality", "topology", "reachability", "summary")


def synthetic_network(nodes: int, channels: int, seed: int) -> ChannelGraph:
    random.seed(seed)  # igraph draws from Python's generator
    g = ig.Graph.Static_Power_Law(nodes, channels, exponent_out=2.2)
    rng = np.random.default_rng(seed)
    capacity_sat = np.maximum(20_000, rng.lognormal(np.log(1_000_000), 1.2, g.ecount()))
    return ChannelGraph(
        name=f"synthetic {nodes} nodes",
        source_format="lnd-describegraph",
        nodes=tuple(Node(f"{i:066x}") for i in range(nodes)),
        channels=tuple(
            Channel(str(e), f"{a:066x}", f"{b:066x}", int(c))
            for e, ((a, b), c) in enumerate(zip(g.get_edgelist(), capacity_sat, strict=True))
        ),
    )


def measure(graph: ChannelGraph, options: AnalysisOptions, repeat: int) -> list[str]:
    runs = [analyse(graph, options) for _ in range(repeat)]
    stages = [statistics.median(r.timings_ms[s] for r in runs) for s in STAGES]
    report = runs[0]
    sampled = report.centrality_sampled_sources
    return [
        graph.name,
        f"{report.totals.active_node_count:,}",
        f"{report.totals.channel_count:,}",
        "exact" if sampled is None else f"{sampled} sources",
        *(f"{ms:,.0f}" for ms in stages),
        f"{sum(stages) / 1000:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CHAINWATCH_DATA_DIR", "../shared/data")),
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-synthetic", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = AnalysisOptions()

    rows = []
    folder = args.data_dir / "lightning"
    for path in find_snapshots(folder) if folder.is_dir() else []:
        started = time.perf_counter()
        graph = load_snapshot(path)
        load_s = time.perf_counter() - started
        rows.append([*measure(graph, options, args.repeat), f"{load_s:.2f}"])
    if not args.no_synthetic:
        graph = synthetic_network(16_555, 58_093, seed=0)
        rows.append([*measure(graph, options, 1), "-"])

    header = ["graph", "nodes", "channels", "centrality", *(f"{s} ms" for s in STAGES)]
    header += ["analysis s", "load s"]
    print(f"cpus: {os.cpu_count()}, repeat: {args.repeat} (median per stage)")  # noqa: T201
    for row in [header, ["---"] * len(header), *rows]:
        print("| " + " | ".join(row) + " |")  # noqa: T201


if __name__ == "__main__":
    main()
