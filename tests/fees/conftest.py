"""Real data for the fee tests: the July 2023 mempool with Core's template, the per-block
series, and a small quantile model trained on that series once per session."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainwatch.devstack.servers import NatsServer
from chainwatch.fees.dataset import Dataset
from chainwatch.fees.features import FEATURE_SET_VERSION
from chainwatch.fees.model import MODEL_NAME, FeeModel, TrainConfig, fit_fee_model
from chainwatch.fees.series import P5Ratio, load_block_series, load_p5_ratio
from chainwatch.fees.snapshot import RecordedMempool, load_recorded_mempool
from chainwatch.fees.state import Observation
from chainwatch.ingest.normalise import normalise
from chainwatch.shared.schemas import Transaction

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"
BLOCK_574200 = "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz"

SMALL_CONFIG = TrainConfig(
    targets=(1, 6), quantiles=(0.1, 0.5, 0.9), num_rounds=60, early_stopping_rounds=10
)
"""Few boosters and rounds: enough to test properties, quick enough for every run."""


@pytest.fixture(scope="session")
def recorded(data_dir: Path) -> RecordedMempool:
    return load_recorded_mempool(data_dir)


@pytest.fixture(scope="session")
def series(data_dir: Path) -> list[Observation]:
    return load_block_series(data_dir)


@pytest.fixture(scope="session")
def p5_ratio(data_dir: Path, series: list[Observation]) -> P5Ratio:
    return load_p5_ratio(data_dir, series[0].block.height, series[-1].block.height)


@pytest.fixture(scope="session")
def dataset(series: list[Observation]) -> Dataset:
    return Dataset.build(series, SMALL_CONFIG.targets)


@pytest.fixture(scope="session")
def small_model(dataset: Dataset, p5_ratio: P5Ratio) -> FeeModel:
    x_train, y_train = dataset.part(dataset.split.train)
    x_valid, y_valid = dataset.part(dataset.split.valid)
    return fit_fee_model(
        "test-small", x_train, y_train, x_valid, y_valid, p5_ratio.mean, SMALL_CONFIG
    )


@pytest.fixture(scope="session")
def block277647(data_dir: Path) -> list[Transaction]:
    """A real block of 2013 with every prevout and fee (213 transactions)."""
    return [normalise(tx) for tx in json.loads((data_dir / BLOCK_277647).read_text())]


@pytest.fixture(scope="session")
def block574200(data_dir: Path) -> list[Transaction]:
    """A real block of 2019 (segwit, P2SH-wrapped multisig), without prevouts."""
    with gzip.open(data_dir / BLOCK_574200, "rt") as lines:
        return [normalise(json.loads(line)) for line in lines]


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server of the test's own: the streams hold only what the test published."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


def minimal_card(model: FeeModel) -> dict[str, Any]:
    """A card the registry accepts and ``load_fee_model`` reads, without the judgement."""
    return {
        "name": MODEL_NAME,
        "version": model.version,
        "framework": "lightgbm",
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(model.feature_names),
        "threshold": model.band_ratio,
        "trained_at": "2026-01-01T00:00:00+00:00",
        "data_window": {},
        "label_sources": {},
        "metrics": {},
        "metrics_by_label_source": {},
        "targets_blocks": list(model.targets),
        "quantiles": list(model.quantiles),
        "band_ratio": model.band_ratio,
        "rounding": model.rounding,
    }
