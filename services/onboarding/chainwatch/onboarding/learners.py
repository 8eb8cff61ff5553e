"""The two learners: gradient-boosted trees (the model) and logistic regression (the baseline).

Both take the same feature matrix (``dataset.feature_matrix``: categories as indices,
integers as they are) and give a raw margin, log-odds before calibration; a higher margin
means a worse risk. They are calibrated, thresholded and cross-validated the same way
(``training``), so their figures compare like with like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from chainwatch.onboarding.attributes import BY_NAME

Matrix = npt.NDArray[np.float64]


class MarginModel(Protocol):
    def margin(self, features: Matrix) -> npt.NDArray[np.float64]:
        """Raw log-odds of a bad risk, one per row."""
        ...


class Learner(Protocol):
    @property
    def name(self) -> str:
        """What the figures of this learner are reported as."""
        ...

    def fit(self, features: Matrix, bad: npt.NDArray[np.int_], seed: int) -> MarginModel: ...


@dataclass(frozen=True)
class GbmParams:
    """LightGBM settings; small, shallow trees for 1,000 applicants.

    Categorical attributes are split natively (LightGBM's ``categorical_feature``), so
    TreeSHAP gives one contribution per attribute rather than one per indicator column.
    """

    rounds: int = 150
    learning_rate: float = 0.05
    num_leaves: int = 7
    max_depth: int = 3
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    cat_smooth: float = 10.0
    min_data_per_group: int = 20
    max_cat_to_onehot: int = 4

    def lightgbm_params(self, seed: int) -> dict[str, Any]:
        params: dict[str, Any] = {k: v for k, v in asdict(self).items() if k != "rounds"}
        return params | {
            "objective": "binary",
            "seed": seed,
            "deterministic": True,
            "num_threads": 1,  # 1,000 rows: threads cost more than they save
            "verbose": -1,
        }


@dataclass(frozen=True)
class GbmMargin:
    booster: lgb.Booster

    def margin(self, features: Matrix) -> npt.NDArray[np.float64]:
        raw = self.booster.predict(features, raw_score=True, num_threads=1)
        return np.asarray(raw, dtype=np.float64)


@dataclass(frozen=True)
class GbmLearner:
    """LightGBM on the attributes named by ``features``, categorical ones split natively."""

    features: tuple[str, ...]
    params: GbmParams = GbmParams()
    name: str = "lightgbm"

    def fit(self, features: Matrix, bad: npt.NDArray[np.int_], seed: int) -> GbmMargin:
        data = lgb.Dataset(
            features,
            label=bad,
            feature_name=list(self.features),
            categorical_feature=categorical_columns(self.features),
            free_raw_data=True,
        )
        booster = lgb.train(
            self.params.lightgbm_params(seed), data, num_boost_round=self.params.rounds
        )
        return GbmMargin(booster)


@dataclass(frozen=True)
class LogisticMargin:
    pipeline: Pipeline

    def margin(self, features: Matrix) -> npt.NDArray[np.float64]:
        return np.asarray(self.pipeline.decision_function(features), dtype=np.float64)


@dataclass(frozen=True)
class LogisticLearner:
    """L2-regularised logistic regression: categories one-hot, integers standardised."""

    features: tuple[str, ...]
    inverse_regularisation: float = 1.0
    name: str = "logistic_regression"

    def fit(self, features: Matrix, bad: npt.NDArray[np.int_], seed: int) -> LogisticMargin:
        categorical = categorical_columns(self.features)
        numeric = [i for i in range(len(self.features)) if i not in categorical]
        categories = [list(range(len(BY_NAME[self.features[i]].categories))) for i in categorical]
        columns = ColumnTransformer(
            [
                ("categorical", OneHotEncoder(categories=categories), categorical),
                ("numeric", StandardScaler(), numeric),
            ]
        )
        model = LogisticRegression(
            C=self.inverse_regularisation, solver="liblinear", random_state=seed
        )
        return LogisticMargin(make_pipeline(columns, model).fit(features, bad))


def categorical_columns(features: Sequence[str]) -> list[int]:
    """Indices of the categorical attributes among ``features``."""
    return [i for i, name in enumerate(features) if BY_NAME[name].kind == "categorical"]
