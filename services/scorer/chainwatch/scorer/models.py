"""The models the batch and online tiers serve, loaded from the registry and swapped live.

A model is refused (``ModelRefusedError``) when its card was computed on another feature
set than the one this scorer computes, or names a feature it does not know: serving it
would feed it columns that mean something else.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
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
    n_verdicts: int = 0
    """Online models: analysts' verdicts learned (the card's ``n_verdicts``)."""
    class_counts: dict[str, int] = field(default_factory=dict)
    """Online models: verdicts learned per class, ``{"true": n, "false": m}``."""


def _threshold(name: str, version: str, card: dict[str, Any]) -> float:
    value = card.get("threshold", 0.5)
    if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ModelRefusedError(name, version, f"threshold {value!r} is not a number in [0, 1]")
    return float(value)


def smoke_test(model: ServedModel) -> ServedModel:
    """Refuse a model that cannot score: it must answer a probability for an empty row."""
    try:
        out = model.predict_proba(np.zeros((2, len(FEATURE_NAMES))))
    except Exception as exc:  # whatever the framework raises, the model is unusable
        raise ModelRefusedError(model.name, model.version, f"cannot predict: {exc!r}") from exc
    if np.shape(out) != (2,) or not np.all(np.isfinite(out)) or not np.all((out >= 0) & (out <= 1)):
        raise ModelRefusedError(model.name, model.version, f"answers {out!r}, not probabilities")
    return model


def _columns(name: str, version: str, card: dict[str, Any]) -> tuple[int, ...]:
    if card.get("feature_set_version") != FEATURE_SET_VERSION:
        raise ModelRefusedError(
            name,
            version,
            f"trained on feature set {card.get('feature_set_version')!r}, "
            f"this scorer computes {FEATURE_SET_VERSION!r}",
        )
    index = {n: i for i, n in enumerate(FEATURE_NAMES)}
    names = card.get("feature_names")
    if not isinstance(names, list) or not all(isinstance(f, str) for f in names):
        raise ModelRefusedError(name, version, "feature_names is not a list of names")
    unknown = [f for f in names if f not in index]
    if unknown or not names:
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
        threshold=_threshold(name, version, card),
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
    try:
        model = pickle.loads(loaded.files["model.pkl"])  # noqa: S301 - our registry, digest-checked
    except Exception as exc:  # a corrupt or foreign pickle: refuse it, keep serving
        raise ModelRefusedError(name, version, f"model.pkl does not load: {exc!r}") from exc

    def predict(x: Vector) -> Vector:
        clean = np.nan_to_num(x[:, list(columns)], nan=0.0)
        out = [
            model.predict_proba_one(dict(zip(names, row, strict=True))).get(True, 0.0)
            for row in clean.tolist()
        ]
        return np.asarray(out, dtype=np.float64)

    n_verdicts, class_counts = card.get("n_verdicts", 0), card.get("class_counts", {})
    counts_ok = isinstance(class_counts, dict) and all(
        isinstance(v, int) and v >= 0 for v in class_counts.values()
    )
    if not isinstance(n_verdicts, int) or n_verdicts < 0 or not counts_ok:
        raise ModelRefusedError(name, version, "n_verdicts or class_counts malformed")
    return ServedModel(
        name=name,
        version=version,
        framework="river",
        threshold=_threshold(name, version, card),
        card=card,
        predict_proba=predict,
        native=model,
        columns=columns,
        n_verdicts=n_verdicts,
        class_counts={str(k): int(v) for k, v in class_counts.items()},
    )
