"""The models the batch and online tiers serve, loaded from the registry and swapped live.

A model is refused (``ModelRefusedError``) when its card was computed on another feature
set than the one this scorer computes, or names a feature it does not know: serving it
would feed it columns that mean something else.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainwatch.shared.errors import ChainwatchError
from chainwatch.shared.features import FEATURE_NAMES, FEATURE_SET_VERSION, Vector
from chainwatch.shared.model_store import LoadedModel

logger = logging.getLogger(__name__)


class ModelRefusedError(ChainwatchError):
    def __init__(self, name: str, version: str, reason: str) -> None:
        super().__init__(f"model {name} {version} refused: {reason}")
        self.name = name
        self.version = version
        self.reason = reason


@dataclass(frozen=True)
class ServedModel:
    """A loaded model: ``predict_proba`` maps an (n × k) feature matrix to n probabilities."""

    name: str
    version: str
    framework: str
    threshold: float
    card: dict[str, Any]
    predict_proba: Callable[[Vector], Vector]
    native: Any = None
    """The framework's own model object (xgboost.Booster, lightgbm.Booster, River model)."""
    columns: tuple[int, ...] = ()
    """Indexes into the full feature row, in the order the model expects them."""


def _columns(name: str, version: str, card: dict[str, Any]) -> tuple[int, ...]:
    if card.get("feature_set_version") != FEATURE_SET_VERSION:
        raise ModelRefusedError(
            name,
            version,
            f"trained on feature set {card.get('feature_set_version')!r}, "
            f"this scorer computes {FEATURE_SET_VERSION!r}",
        )
    index = {n: i for i, n in enumerate(FEATURE_NAMES)}
    unknown = [f for f in card.get("feature_names", []) if f not in index]
    if unknown or not card.get("feature_names"):
        raise ModelRefusedError(name, version, f"unknown or missing features {unknown[:5]}")
    return tuple(index[f] for f in card["feature_names"])


def load_batch_model(name: str, version: str, loaded: LoadedModel) -> ServedModel:
    """An XGBoost (``model.json``) or LightGBM (``model.txt``) model from the registry."""
    card = dict(loaded.card)
    columns = np.array(_columns(name, version, card), dtype=np.intp)
    framework = card.get("framework")

    if framework == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(bytearray(loaded.files["model.json"]))

        def predict(x: Vector) -> Vector:
            return np.asarray(booster.inplace_predict(x[:, columns]), dtype=np.float64)

        native: Any = booster
    elif framework == "lightgbm":
        import lightgbm as lgb

        lgb_booster = lgb.Booster(model_str=loaded.files["model.txt"].decode())

        def predict(x: Vector) -> Vector:
            out = lgb_booster.predict(x[:, columns], num_threads=1)
            return np.asarray(out, dtype=np.float64)

        native = lgb_booster
    else:
        raise ModelRefusedError(name, version, f"unknown framework {framework!r}")

    return ServedModel(
        name=name,
        version=version,
        framework=framework,
        threshold=float(card.get("threshold", 0.5)),
        card=card,
        predict_proba=predict,
        native=native,
        columns=tuple(int(c) for c in columns),
    )


def load_online_model(name: str, version: str, loaded: LoadedModel) -> ServedModel:
    """The learner's River model (``model.pkl``), with how many verdicts it has learned.

    The pickle comes only from the registry, whose files are checked against the digests
    recorded when they were stored; it is never read from a message.
    """
    card = dict(loaded.card)
    columns = _columns(name, version, card)
    names = [FEATURE_NAMES[c] for c in columns]
    model = pickle.loads(loaded.files["model.pkl"])  # noqa: S301 - our own registry, digest-checked

    def predict(x: Vector) -> Vector:
        clean = np.nan_to_num(x[:, list(columns)], nan=0.0)
        out = [
            model.predict_proba_one(dict(zip(names, row, strict=True))).get(True, 0.0)
            for row in clean.tolist()
        ]
        return np.asarray(out, dtype=np.float64)

    return ServedModel(
        name=name,
        version=version,
        framework="river",
        threshold=float(card.get("threshold", 0.5)),
        card=card,
        predict_proba=predict,
        native=model,
        columns=columns,
    )
