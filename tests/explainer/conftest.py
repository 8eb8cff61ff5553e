"""Real decisions to explain, by real models, and a local Messages API.

The transactions are the 3,528 of blocks 277,647 and 574,200 (the latter with a payment to
an OFAC-listed address). They are decided by the scorer's own cascade, first by the rules
alone; a small XGBoost, a LightGBM and a River logistic model are then trained on their real
feature rows, with the rules' typology and exposure hits as a weak label (seeded), stored in
a registry, and the cascade decides again with each of them serving. Decisions go through
JSON as they do on the bus.
"""

from __future__ import annotations

import gzip
import json
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from river import compose, linear_model, preprocessing

from chainwatch.explainer.attributor import feature_rows
from chainwatch.ingest.normalise import normalise
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade, ServingModels
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.models import load_batch_model, load_online_model
from chainwatch.shared.features import FEATURE_NAMES, FEATURE_SET_VERSION, squash
from chainwatch.shared.model_store import FilesystemStore
from chainwatch.shared.registry import MODEL_CHAMPION, MODEL_ONLINE
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction, Transaction

from .messages_api import MessagesAPI

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"
BLOCK_574200 = "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz"
SANCTIONED_TXID = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"

XGB_VERSION = "xgb-real-1"
LGB_VERSION = "lgb-real-1"
ONLINE_VERSION = "online-real-1"
SCALED_VERSION = "online-scaled-1"
OTHERS_COUNT = 1200
"""Transactions decided by the LightGBM and online models; XGBoost decides all of them."""


@dataclass(frozen=True)
class RealDecisions:
    """The same transactions decided four ways: rules only, XGBoost, LightGBM, online (the
    last two on the first ``OTHERS_COUNT``, to keep the tests quick)."""

    rules: list[ScoredTransaction]
    xgboost: list[ScoredTransaction]
    lightgbm: list[ScoredTransaction]
    online: list[ScoredTransaction]
    store: FilesystemStore


def card(name: str, version: str, framework: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "framework": framework,
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold": 0.5,
        "trained_at": datetime.now(UTC).isoformat(),
        "data_window": {"train": ["2013-12-30", "2019-05-02"], "held_out": ["2019-05-02"] * 2},
        "label_sources": {"rules (weak)": 3528},
        "metrics": {},
        "metrics_by_label_source": {},
        **extra,
    }


@pytest.fixture(scope="session")
def real_transactions(data_dir: Path) -> list[Transaction]:
    txs = [normalise(tx) for tx in json.loads((data_dir / BLOCK_277647).read_text())]
    with gzip.open(data_dir / BLOCK_574200, "rt") as lines:
        txs += [normalise(json.loads(line)) for line in lines]
    return txs


def wire(decisions: list[ScoredTransaction]) -> list[ScoredTransaction]:
    """Through JSON and back, as the explainer receives them."""
    return [ScoredTransaction.model_validate_json(d.model_dump_json()) for d in decisions]


def weak_labels(decisions: list[ScoredTransaction]) -> np.ndarray:
    """1 where a typology or an exposure rule fired: a stand-in label, not a truth."""
    return np.array([float(bool(d.rule_hits)) for d in decisions])


def train_models(rows: np.ndarray, labels: np.ndarray) -> dict[str, bytes]:
    xgb_model = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 7, "nthread": 1},
        xgb.DMatrix(rows, labels, missing=np.nan),
        60,
    )
    lgb_model = lgb.train(
        {"objective": "binary", "num_leaves": 15, "seed": 7, "verbose": -1, "num_threads": 1},
        lgb.Dataset(rows, labels),
        40,
    )
    squashed = compose.FuncTransformer(squash) | linear_model.LogisticRegression()
    scaled = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    rng = np.random.default_rng(7)
    for i in rng.permutation(len(rows))[:1500].tolist():
        x = dict(zip(FEATURE_NAMES, np.nan_to_num(rows[i], nan=0.0).tolist(), strict=True))
        squashed.learn_one(x, bool(labels[i]))
        scaled.learn_one(x, bool(labels[i]))
    return {
        XGB_VERSION: bytes(xgb_model.save_raw("json")),
        LGB_VERSION: lgb_model.model_to_string().encode(),
        ONLINE_VERSION: pickle.dumps(squashed),
        SCALED_VERSION: pickle.dumps(scaled),
    }


@pytest.fixture(scope="session")
async def real_decisions(
    real_transactions: list[Transaction], data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> RealDecisions:
    txs = real_transactions
    exposures = await ExposureTracker(LabelBook(data_dir), MemoryTaintStore()).assess(txs)
    observed_at = datetime.now(UTC)
    raws = [RawTransaction(source="test", observed_at=observed_at, tx=tx) for tx in txs]
    cascade = Cascade(HeuristicTier(), RiskBands())
    rules = wire(cascade.decide_batch(raws, exposures))

    artifacts = train_models(feature_rows(rules), weak_labels(rules))
    store = FilesystemStore(tmp_path_factory.mktemp("models"))
    trusted = {"n_verdicts": 1500, "class_counts": {"true": 500, "false": 1000}}
    for version, framework, file in (
        (XGB_VERSION, "xgboost", "model.json"),
        (LGB_VERSION, "lightgbm", "model.txt"),
    ):
        await store.put_version(MODEL_CHAMPION, version, {file: artifacts[version]},
                                card(MODEL_CHAMPION, version, framework))  # fmt: skip
    for version in (ONLINE_VERSION, SCALED_VERSION):
        await store.put_version(MODEL_ONLINE, version, {"model.pkl": artifacts[version]},
                                card(MODEL_ONLINE, version, "river", **trusted))  # fmt: skip

    async def decide(models: ServingModels, count: int | None = None) -> list[ScoredTransaction]:
        cascade.models = models
        return wire(cascade.decide_batch(raws[:count], exposures[:count]))

    async def served(name: str, version: str) -> ServingModels:
        loaded = await store.get_version(name, version)
        if name == MODEL_ONLINE:
            return ServingModels(online=load_online_model(name, version, loaded))
        return ServingModels(champion=load_batch_model(name, version, loaded))

    return RealDecisions(
        rules=rules,
        xgboost=await decide(await served(MODEL_CHAMPION, XGB_VERSION)),
        lightgbm=await decide(await served(MODEL_CHAMPION, LGB_VERSION), OTHERS_COUNT),
        online=await decide(await served(MODEL_ONLINE, ONLINE_VERSION), OTHERS_COUNT),
        store=store,
    )


@pytest.fixture
def messages_api() -> Iterator[MessagesAPI]:
    api = MessagesAPI().start()
    yield api
    api.stop()
