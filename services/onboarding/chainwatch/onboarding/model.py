"""The served model: a LightGBM booster, its Platt calibration and its threshold.

A stored version (``chainwatch.shared.registry``) has two artifact files, both digest-checked
by the store: ``model.txt`` (the booster, ``Booster.model_to_string``) and
``calibration.json`` (``{"slope", "intercept", "threshold"}``). Its card names the features
in column order and the category list of each categorical feature (``encoding``); a version
whose encoding differs from the attributes this code knows is refused, since its category
indices would mean other values.

Scores are exact in log-odds: LightGBM's TreeSHAP (``pred_contrib``) splits the booster's
margin into one contribution per attribute plus its expected margin; Platt scaling is affine
in the margin, so the contributions times ``slope`` and the expected margin times ``slope``
plus ``intercept`` add up to the calibrated log-odds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from chainwatch.onboarding.attributes import BY_NAME
from chainwatch.onboarding.calibration import PlattScaling, sigmoid
from chainwatch.onboarding.costs import CostMatrix
from chainwatch.onboarding.dataset import feature_matrix
from chainwatch.onboarding.errors import ModelRefusedError
from chainwatch.shared.model_store import ARTIFACT_FILE, LoadedModel
from chainwatch.shared.onboarding import Applicant

FRAMEWORK = "lightgbm"
MODEL_FILE = ARTIFACT_FILE[FRAMEWORK]
CALIBRATION_FILE = "calibration.json"
FEATURE_SET_VERSION = "german-credit-attributes-v1"
"""The attributes of ``attributes.ATTRIBUTES``, encoded by ``dataset.feature_row``."""


def encoding(features: Sequence[str]) -> dict[str, list[str]]:
    """Category lists of the categorical features: index i in the model means value i."""
    return {
        name: list(BY_NAME[name].categories)
        for name in features
        if BY_NAME[name].kind == "categorical"
    }


@dataclass(frozen=True)
class Score:
    """One applicant scored: calibrated probability and log-odds, and where they came from.

    ``base_log_odds + sum(contributions.values()) == log_odds`` up to float rounding;
    every value is calibrated log-odds of a bad risk (positive raises the risk).
    """

    proba: float
    log_odds: float
    base_log_odds: float
    contributions: Mapping[str, float]
    refused: bool


@dataclass(frozen=True)
class OnboardingModel:
    """A loaded version, ready to score applicants."""

    name: str
    version: str
    booster: lgb.Booster
    calibration: PlattScaling
    threshold: float
    features: tuple[str, ...]
    card: Mapping[str, Any]

    @property
    def cost(self) -> CostMatrix:
        """The cost matrix the threshold was chosen under, from the card."""
        costs = self.card["cost_matrix"]
        return CostMatrix(float(costs["bad_accepted"]), float(costs["good_refused"]))

    def score(self, applicant: Applicant) -> Score:
        row = feature_matrix([applicant], self.features)
        shap = np.asarray(
            self.booster.predict(row, pred_contrib=True, num_threads=1), dtype=np.float64
        )[0]
        slope, intercept = self.calibration.slope, self.calibration.intercept
        log_odds = slope * float(shap.sum()) + intercept
        proba = float(sigmoid(np.array([log_odds]))[0])
        return Score(
            proba=proba,
            log_odds=log_odds,
            base_log_odds=slope * float(shap[-1]) + intercept,
            contributions={
                n: slope * float(v) for n, v in zip(self.features, shap[:-1], strict=True)
            },
            refused=proba >= self.threshold,
        )

    def files(self) -> dict[str, bytes]:
        """The artifact files of this model, as the registry stores them."""
        calibration = {
            "slope": self.calibration.slope,
            "intercept": self.calibration.intercept,
            "threshold": self.threshold,
        }
        return {
            MODEL_FILE: self.booster.model_to_string().encode(),
            CALIBRATION_FILE: json.dumps(calibration, sort_keys=True).encode(),
        }

    @classmethod
    def from_loaded(cls, loaded: LoadedModel) -> OnboardingModel:
        """The model of a stored version; ``ModelRefusedError`` if it cannot serve here."""
        name, version, card = loaded.version.name, loaded.version.version, loaded.card
        if card.get("framework") != FRAMEWORK:
            raise ModelRefusedError(name, version, f"framework {card.get('framework')!r}")
        if card.get("feature_set_version") != FEATURE_SET_VERSION:
            reason = f"feature set {card.get('feature_set_version')!r}, not {FEATURE_SET_VERSION}"
            raise ModelRefusedError(name, version, reason)
        features = tuple(card["feature_names"])
        unknown = [f for f in features if f not in BY_NAME]
        if unknown:
            raise ModelRefusedError(name, version, f"unknown attributes {unknown}")
        if card.get("encoding") != encoding(features):
            raise ModelRefusedError(name, version, "category encoding differs from this code's")

        booster = lgb.Booster(model_str=loaded.files[MODEL_FILE].decode())
        if tuple(booster.feature_name()) != features:
            raise ModelRefusedError(name, version, "booster's features differ from the card's")
        calibration = json.loads(loaded.files[CALIBRATION_FILE])
        return cls(
            name=name,
            version=version,
            booster=booster,
            calibration=PlattScaling(calibration["slope"], calibration["intercept"]),
            threshold=float(calibration["threshold"]),
            features=features,
            card=card,
        )
