"""The Elliptic benchmark job on generated files in Elliptic's format, with a planted drift.

The generated set has 49 time steps; illicit transactions differ from licit ones in one
block of features up to step 42 and in another from step 43 on, as if a market closed and
its successors behaved differently. Models trained on steps 1-34 must then collapse after
step 43, as the published models do on the real data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from chainwatch.trainer.elliptic import (
    CLASSES_FILE,
    EDGELIST_FILE,
    FEATURES_FILE,
    load,
    torch_available,
)
from chainwatch.trainer.elliptic_assets import ASSETS, EllipticFolders
from chainwatch.trainer.elliptic_report import JSON_FILE, MARKDOWN_FILE, PLOT_FILE

PER_STEP = 40
N_FEATURES = 165  # after the id and the time step, as in the real file
OLD_SIGNAL = slice(2, 12)  # local features that give illicit away up to step 42
NEW_SIGNAL = slice(60, 70)  # and the ones that do from step 43


def write_elliptic(folder: Path, seed: int = 11) -> None:
    """Three files in Elliptic's layout: 49 steps, ~10% illicit, ~40% licit, rest unknown."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    spacing = 7919  # ids unique and unordered, like Elliptic's
    tx_ids = rng.permutation(1_000_000 + spacing * np.arange(49 * PER_STEP))
    tx_ids += rng.integers(0, spacing, size=len(tx_ids))
    steps = np.repeat(np.arange(1, 50), PER_STEP)
    features = rng.normal(size=(len(tx_ids), N_FEATURES))
    kind = rng.choice(["1", "2", "unknown"], size=len(tx_ids), p=[0.1, 0.4, 0.5])
    illicit = kind == "1"
    features[illicit & (steps < 43), OLD_SIGNAL] += 2.5
    features[illicit & (steps >= 43), NEW_SIGNAL] += 2.5

    table = np.column_stack([tx_ids, steps, features])
    np.savetxt(
        folder / FEATURES_FILE, table, fmt=["%d", "%d", *["%.6f"] * N_FEATURES], delimiter=","
    )
    with (folder / CLASSES_FILE).open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["txId", "class"])
        rows.writerows(zip(tx_ids.tolist(), kind.tolist(), strict=True))
    with (folder / EDGELIST_FILE).open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["txId1", "txId2"])
        for step in range(1, 50):
            members = tx_ids[steps == step]
            for _ in range(PER_STEP):
                a, b = rng.choice(members, size=2, replace=False)
                rows.writerow([int(a), int(b)])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("elliptic-data")
    write_elliptic(data_dir / "elliptic")
    return data_dir


def test_loader_reads_the_layout(generated: Path) -> None:
    data = load(generated / "elliptic")

    assert data.x.shape == (49 * PER_STEP, 1 + N_FEATURES)
    assert set(np.unique(data.labels)) == {-1, 0, 1}
    assert data.edges.shape == (49 * PER_STEP, 2)
    assert data.train_mask.sum() and not (data.train_mask & data.test_mask).any()


def test_benchmark_job_reports_beside_the_paper_and_shows_the_collapse(
    generated: Path, tmp_path: Path
) -> None:
    folders = EllipticFolders(generated, tmp_path / "reports")

    result = dg.materialize_to_memory(ASSETS, resources={"elliptic": folders})

    assert result.success
    report = result.output_for_node("elliptic_benchmark")
    by_model = {r.model: r for r in report.results}
    assert {"logistic_regression", "random_forest", "xgboost", "lightgbm"} <= set(by_model)
    forest = by_model["random_forest"]
    before = [f for s, f in forest.per_step_f1.items() if s < 43 and f is not None]
    after = [f for s, f in forest.per_step_f1.items() if s >= 43 and f is not None]
    assert np.mean(before) > 0.8 and np.mean(after) < 0.3
    assert forest.published == {"precision": 0.956, "recall": 0.670, "f1": 0.788, "micro_f1": 0.977}
    if torch_available():  # the optional extra: the GCN trains on the graph and is reported
        assert "gcn" in by_model and by_model["gcn"].per_step_f1
        assert by_model["gcn"].published["f1"] == 0.628
    else:
        assert "PyTorch is not installed" in report.skipped["gcn"]

    markdown = (tmp_path / "reports" / MARKDOWN_FILE).read_text()
    assert "0.956 / 0.670 / 0.788" in markdown and "0.812 / 0.512 / 0.628" in markdown
    assert (tmp_path / "reports" / JSON_FILE).is_file()
    assert (tmp_path / "reports" / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_job_skips_cleanly_without_the_files(data_dir: Path, tmp_path: Path) -> None:
    # The shipped data dir has the classes file only.
    folders = EllipticFolders(data_dir, tmp_path / "reports")

    result = dg.materialize_to_memory(ASSETS, resources={"elliptic": folders})

    assert result.success
    assert result.get_asset_materialization_events() == []
    assert not (tmp_path / "reports").exists()
