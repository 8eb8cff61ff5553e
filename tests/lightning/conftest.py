"""Lightning snapshots for the tests: the hand-written describegraph and the real graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainwatch.lightning.analysis import AnalysisOptions, GraphReport, analyse
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.loaders import load_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
DESCRIBEGRAPH = FIXTURES / "describegraph_small.json"

GFREE = "ln-graph-viz_2025-04-30_gfree.json"
GHIGH = "ln-graph-viz_2025-04-30_ghigh.json.gz"
GRAPHML_2018 = "kulpreet_mainnet_20180824_120001.graphml.gz"

FAST = AnalysisOptions(reachability_worlds=4, reachability_pairs_per_world=25)
"""Enough reachability samples for properties, few enough for a fast suite."""


@pytest.fixture(scope="session")
def lightning_dir(data_dir: Path) -> Path:
    path = data_dir / "lightning"
    if not (path / GHIGH).exists():
        pytest.skip(f"Lightning snapshots not found in {path}")
    return path


@pytest.fixture(scope="session")
def gfree(lightning_dir: Path) -> ChannelGraph:
    return load_snapshot(lightning_dir / GFREE)


@pytest.fixture(scope="session")
def ghigh(lightning_dir: Path) -> ChannelGraph:
    return load_snapshot(lightning_dir / GHIGH)


@pytest.fixture(scope="session")
def graph_2018(lightning_dir: Path) -> ChannelGraph:
    return load_snapshot(lightning_dir / GRAPHML_2018)


@pytest.fixture(scope="session")
def ghigh_report(ghigh: ChannelGraph) -> GraphReport:
    return analyse(ghigh, FAST)
