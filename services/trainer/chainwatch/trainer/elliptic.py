"""The Elliptic benchmark (Weber et al., 2019): the standard temporal split, illicit-class figures.

Elliptic's public data set is three CSV files in ``<data dir>/elliptic/``:

- ``elliptic_txs_features.csv``: no header; transaction id, time step (1..49), then 165
  anonymised features (93 local, 72 aggregated over neighbours);
- ``elliptic_txs_classes.csv``: header ``txId,class``; class ``1`` illicit, ``2`` licit,
  ``unknown`` (or ``0`` in a recoded copy) unlabelled;
- ``elliptic_txs_edgelist.csv``: header ``txId1,txId2``; payment flows between transactions.

Models are trained on the labelled transactions of time steps 1-34 and tested on those of
35-49, on all features ("AF": the time step and the 165 features), and judged on the
illicit class at a 0.5 threshold. Figures per model: precision, recall, F1, micro-averaged
F1, and F1 per test time step, which shows every model failing after step 43, when a large
dark market closed and illicit activity changed (concept drift).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FEATURES_FILE = "elliptic_txs_features.csv"
CLASSES_FILE = "elliptic_txs_classes.csv"
EDGELIST_FILE = "elliptic_txs_edgelist.csv"
FILES = (FEATURES_FILE, CLASSES_FILE, EDGELIST_FILE)

LAST_TRAIN_STEP = 34
LAST_STEP = 49
DARK_MARKET_SHUTDOWN_STEP = 43

BOOST_ROUNDS = 100
"""Trees of the XGBoost and LightGBM baselines (not in the paper; defaults otherwise)."""

UNKNOWN, LICIT, ILLICIT = -1, 0, 1
CLASS_CODES = {"unknown": UNKNOWN, "0": UNKNOWN, "1": ILLICIT, "2": LICIT}

PUBLISHED: dict[str, dict[str, float]] = {
    "logistic_regression": {"precision": 0.404, "recall": 0.593, "f1": 0.481, "micro_f1": 0.931},
    "random_forest": {"precision": 0.956, "recall": 0.670, "f1": 0.788, "micro_f1": 0.977},
    "gcn": {"precision": 0.812, "recall": 0.512, "f1": 0.628, "micro_f1": 0.961},
}
"""Weber et al. 2019, Table 1, illicit class, all features (AF); GCN on the graph."""


@dataclass(frozen=True)
class EllipticData:
    """Rows in the features file's order; ``edges`` as pairs of row indexes."""

    tx_ids: npt.NDArray[np.int64]
    steps: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]

    @property
    def train_mask(self) -> npt.NDArray[np.bool_]:
        return np.asarray((self.labels != UNKNOWN) & (self.steps <= LAST_TRAIN_STEP))

    @property
    def test_mask(self) -> npt.NDArray[np.bool_]:
        return np.asarray((self.labels != UNKNOWN) & (self.steps > LAST_TRAIN_STEP))


@dataclass(frozen=True)
class ModelResult:
    """One model's illicit-class figures on the test steps, and F1 step by step."""

    model: str
    precision: float
    recall: float
    f1: float
    micro_f1: float
    per_step_f1: dict[int, float | None]
    train_s: float
    published: dict[str, float] | None = None


@dataclass(frozen=True)
class BenchmarkResult:
    results: list[ModelResult]
    skipped: dict[str, str] = field(default_factory=dict)
    illicit_per_step: dict[int, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def missing_files(folder: Path) -> list[str]:
    return [name for name in FILES if not (folder / name).is_file()]


def load(folder: Path) -> EllipticData:
    """Read the three files; raises ``ValueError`` if they do not describe the same ids."""
    import pandas as pd  # type: ignore[import-untyped]

    features = pd.read_csv(folder / FEATURES_FILE, header=None)
    classes = pd.read_csv(folder / CLASSES_FILE, dtype={"txId": "int64", "class": "string"})
    edges = pd.read_csv(folder / EDGELIST_FILE, dtype="int64")

    tx_ids = features.iloc[:, 0].to_numpy(dtype=np.int64)
    row_of = pd.Series(np.arange(len(tx_ids)), index=tx_ids)
    codes = classes["class"].str.strip().map(CLASS_CODES)
    if codes.isna().any():
        bad = classes["class"][codes.isna()].unique()[:5]
        raise ValueError(f"{CLASSES_FILE}: unknown class values {list(bad)}")
    labels = np.full(len(tx_ids), UNKNOWN, dtype=np.int64)
    known = classes["txId"].isin(row_of.index)
    if not known.all():
        raise ValueError(f"{CLASSES_FILE}: {int((~known).sum())} ids not in {FEATURES_FILE}")
    labels[row_of[classes["txId"]].to_numpy()] = codes.to_numpy(dtype=np.int64)

    linked = edges.iloc[:, 0].isin(row_of.index) & edges.iloc[:, 1].isin(row_of.index)
    pairs = np.column_stack(
        [row_of[edges.iloc[:, 0][linked]].to_numpy(), row_of[edges.iloc[:, 1][linked]].to_numpy()]
    )
    return EllipticData(
        tx_ids=tx_ids,
        steps=features.iloc[:, 1].to_numpy(dtype=np.int64),
        x=features.iloc[:, 1:].to_numpy(dtype=np.float64),
        labels=labels,
        edges=pairs.astype(np.int64),
    )


Fitter = Callable[[EllipticData, int, int], npt.NDArray[np.float64]]
"""Trains on the train mask (data, seed, threads); returns P(illicit) for every row."""


def _logistic_regression(data: EllipticData, seed: int, threads: int) -> npt.NDArray[np.float64]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(data.x[data.train_mask], data.labels[data.train_mask])
    return np.asarray(model.predict_proba(data.x)[:, 1], dtype=np.float64)


def _random_forest(data: EllipticData, seed: int, threads: int) -> npt.NDArray[np.float64]:
    from sklearn.ensemble import RandomForestClassifier

    # As in the paper: 50 trees, 50 features considered at each split.
    max_features = min(50, data.x.shape[1])
    model = RandomForestClassifier(
        n_estimators=50, max_features=max_features, n_jobs=threads, random_state=seed
    )
    model.fit(data.x[data.train_mask], data.labels[data.train_mask])
    return np.asarray(model.predict_proba(data.x)[:, 1], dtype=np.float64)


def _xgboost(data: EllipticData, seed: int, threads: int) -> npt.NDArray[np.float64]:
    import xgboost as xgb

    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": threads}
    train = xgb.DMatrix(data.x[data.train_mask], label=data.labels[data.train_mask])
    booster = xgb.train({**params, "seed": seed}, train, num_boost_round=BOOST_ROUNDS)
    return np.asarray(booster.inplace_predict(data.x), dtype=np.float64)


def _lightgbm(data: EllipticData, seed: int, threads: int) -> npt.NDArray[np.float64]:
    import lightgbm as lgb

    params = {"objective": "binary", "num_threads": threads, "verbose": -1, "seed": seed}
    train = lgb.Dataset(data.x[data.train_mask], label=data.labels[data.train_mask])
    booster = lgb.train({**params, "deterministic": True}, train, num_boost_round=BOOST_ROUNDS)
    return np.asarray(booster.predict(data.x), dtype=np.float64)


def _gcn(data: EllipticData, seed: int, threads: int) -> npt.NDArray[np.float64]:
    from chainwatch.trainer.elliptic_gcn import gcn_proba

    return gcn_proba(data, seed, threads)


FITTERS: dict[str, Fitter] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "gcn": _gcn,
}


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def run_benchmark(
    data: EllipticData, models: Sequence[str] = tuple(FITTERS), seed: int = 7, threads: int = 1
) -> BenchmarkResult:
    """Train and test each of ``models``; the GCN is skipped, saying why, without PyTorch."""
    skipped: dict[str, str] = {}
    results = []
    for name in models:
        if name == "gcn" and not torch_available():
            skipped[name] = "PyTorch is not installed (install chainwatch-trainer[gcn])"
            logger.info("skipping the GCN: PyTorch is not installed")
            continue
        started = time.perf_counter()
        proba = FITTERS[name](data, seed, threads)
        elapsed = time.perf_counter() - started
        results.append(score(name, data, proba, elapsed))
        logger.info("elliptic %s: F1 %.3f in %.1fs", name, results[-1].f1, elapsed)

    test = data.test_mask
    illicit = {
        int(s): int(((data.steps == s) & test & (data.labels == ILLICIT)).sum())
        for s in range(LAST_TRAIN_STEP + 1, LAST_STEP + 1)
    }
    rows = {"train": int(data.train_mask.sum()), "test": int(test.sum()), "all": len(data.labels)}
    return BenchmarkResult(results, skipped, illicit, rows)


def score(
    name: str, data: EllipticData, proba: npt.NDArray[np.float64], train_s: float
) -> ModelResult:
    """Illicit-class figures at threshold 0.5 on the labelled test rows."""
    test = data.test_mask
    predicted = proba[test] >= 0.5
    truth = data.labels[test] == ILLICIT
    per_step: dict[int, float | None] = {}
    for step in range(LAST_TRAIN_STEP + 1, LAST_STEP + 1):
        at = data.steps[test] == step
        per_step[step] = _f1(predicted[at], truth[at]) if truth[at].any() else None
    precision, recall, f1 = _prf(predicted, truth)
    return ModelResult(
        model=name,
        precision=precision,
        recall=recall,
        f1=f1,
        micro_f1=float((predicted == truth).mean()) if len(truth) else 0.0,
        per_step_f1=per_step,
        train_s=round(train_s, 3),
        published=PUBLISHED.get(name),
    )


def _prf(predicted: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> tuple[float, ...]:
    hits = int((predicted & truth).sum())
    precision = hits / int(predicted.sum()) if predicted.any() else 0.0
    recall = hits / int(truth.sum()) if truth.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _f1(predicted: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    return _prf(predicted, truth)[2]


def as_dict(result: BenchmarkResult) -> dict[str, Any]:
    return {
        "split": {
            "train_steps": [1, LAST_TRAIN_STEP],
            "test_steps": [LAST_TRAIN_STEP + 1, LAST_STEP],
        },
        "rows": result.rows,
        "illicit_per_test_step": result.illicit_per_step,
        "skipped": result.skipped,
        "models": [r.__dict__ for r in result.results],
    }
