"""Fit the batch models: XGBoost (the champion's kind) and LightGBM (the challenger's).

Both learn a probability of illicit activity from the full feature row, missing values as
NaN (each framework learns where a missing value goes). Positives are weighted up so the
classes weigh the same in the loss ("balanced"); the probabilities are then too high in
absolute terms, which the card's calibration figures show, and the operating threshold is
chosen on the validation window, not assumed to be 0.5. Training is deterministic for a
given seed and data. ``threads`` defaults to one: on a small machine shared with the
services, OpenMP threads that wait for a busy core slow training down many times over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chainwatch.shared.registry import ARTIFACT_FILE

Array = npt.NDArray[np.float64]

XGB_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "aucpr",
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.1,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
}
XGB_ROUNDS = 150

LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_data_in_leaf": 5,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
LGBM_ROUNDS = 200


@dataclass(frozen=True)
class FittedModel:
    """A trained model: its artifact bytes (as the registry stores them) and a predictor."""

    framework: str
    artifact: bytes
    params: dict[str, Any]
    rounds: int
    native: Any = field(repr=False)

    @property
    def files(self) -> dict[str, bytes]:
        return {ARTIFACT_FILE[self.framework]: self.artifact}

    def predict_proba(self, x: Array) -> Array:
        """Probability of illicit activity per row of ``x`` (n × k, NaN for missing)."""
        if self.framework == "xgboost":
            return np.asarray(self.native.inplace_predict(x), dtype=np.float64)
        return np.asarray(self.native.predict(x, num_threads=1), dtype=np.float64)


def balanced_weights(labels: npt.NDArray[np.int64], base: Array) -> Array:
    """``base`` weights with positives scaled so both classes carry the same total weight."""
    positive = labels == 1
    total_pos, total_neg = float(base[positive].sum()), float(base[~positive].sum())
    weights = base.copy()
    if total_pos > 0 and total_neg > 0:
        weights[positive] *= total_neg / total_pos
    return weights


def fit_xgboost(
    x: Array,
    y: npt.NDArray[np.int64],
    weights: Array,
    feature_names: Sequence[str],
    seed: int,
    rounds: int = XGB_ROUNDS,
    threads: int = 1,
) -> FittedModel:
    import xgboost as xgb

    params = {**XGB_PARAMS, "seed": seed, "nthread": threads}
    data = xgb.DMatrix(x, label=y, weight=weights, feature_names=list(feature_names))
    booster = xgb.train(params, data, num_boost_round=rounds)
    artifact = bytes(booster.save_raw(raw_format="json"))
    return FittedModel("xgboost", artifact, params, rounds, booster)


def fit_lightgbm(
    x: Array,
    y: npt.NDArray[np.int64],
    weights: Array,
    feature_names: Sequence[str],
    seed: int,
    rounds: int = LGBM_ROUNDS,
    threads: int = 1,
) -> FittedModel:
    import lightgbm as lgb

    params = {**LGBM_PARAMS, "seed": seed, "num_threads": threads}
    data = lgb.Dataset(x, label=y, weight=weights, feature_name=list(feature_names))
    booster = lgb.train(params, data, num_boost_round=rounds)
    artifact = booster.model_to_string().encode()
    return FittedModel("lightgbm", artifact, params, rounds, booster)


FITTERS = {"xgboost": fit_xgboost, "lightgbm": fit_lightgbm}
