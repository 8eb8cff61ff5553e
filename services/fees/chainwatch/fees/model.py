"""The learned part of the estimator: LightGBM quantile regression on mempool-state features.

For each confirmation target ``k`` (1, 3, 6 and 144 blocks) and each quantile level ``q``
one booster predicts the ``q``-quantile of ``log(Y_k)``, where ``Y_k`` is the lowest median
fee rate (sat/vB) among the next ``k`` blocks: the rate that, paid now, is at the middle of
at least one block within the target. Quantiles of one target are trained apart and can
cross; ``FeeModel.log_quantiles`` sorts each row (monotone rearrangement), so what it returns
is always ordered.

``choose_in_band`` turns those quantiles into one rate: the ``x`` that maximises the
predicted chance that ``band_ratio · Y ≤ x ≤ Y``, i.e. that the rate lands between the
target block's 5th percentile (taken as ``band_ratio`` times its median) and its median,
neither stranded nor overpaying. Block medians are often whole numbers (about a third of
them in the recorded series: wallets pay whole sat/vB), so the choice may be ``rounding``
to a whole sat/vB; training picks the band ratio and the rounding on validation blocks.

Artifacts: one LightGBM text model per (target, quantile), ``t<k>-q<pp>.txt``; the card
(``chainwatch.fees.card``) names them with the feature list and the judgement of the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from chainwatch.fees.errors import FeeModelError
from chainwatch.fees.features import FEATURE_NAMES

MODEL_NAME = "fees-lgbm"
TARGETS_BLOCKS: tuple[int, ...] = (1, 3, 6, 144)
QUANTILES: tuple[float, ...] = (0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95)
ROUNDINGS = ("none", "round", "ceil")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainConfig:
    """How the boosters are grown; the defaults are the ones the registered model used."""

    targets: tuple[int, ...] = TARGETS_BLOCKS
    quantiles: tuple[float, ...] = QUANTILES
    num_rounds: int = 200
    early_stopping_rounds: int = 20
    learning_rate: float = 0.1
    num_leaves: int = 15
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    seed: int = 7

    def params(self, quantile: float) -> dict[str, object]:
        return {
            "objective": "quantile",
            "alpha": quantile,
            "metric": "quantile",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": 1,
            "max_bin": 63,
            "verbosity": -1,
        }


def artifact_file(target: int, quantile: float) -> str:
    return f"t{target}-q{round(quantile * 100):02d}.txt"


@dataclass(frozen=True)
class FeeModel:
    """Quantile boosters by (target, quantile), and the band ratio of the decision rule."""

    version: str
    boosters: Mapping[tuple[int, float], lgb.Booster]
    targets: tuple[int, ...]
    quantiles: tuple[float, ...]
    band_ratio: float
    rounding: str = "none"
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def __post_init__(self) -> None:
        missing = [
            artifact_file(k, q)
            for k in self.targets
            for q in self.quantiles
            if (k, q) not in self.boosters
        ]
        if missing:
            raise FeeModelError(self.version, f"no booster for {', '.join(missing)}")
        if not 0 < self.band_ratio <= 1:
            raise FeeModelError(self.version, f"band ratio {self.band_ratio} outside (0, 1]")
        if self.rounding not in ROUNDINGS:
            raise FeeModelError(self.version, f"rounding {self.rounding!r} not in {ROUNDINGS}")

    def raw_log_quantiles(self, features: FloatArray) -> FloatArray:
        """Predictions as the boosters make them, ``[rows, targets, quantiles]``, log sat/vB."""
        features = np.atleast_2d(features)
        out = np.empty((len(features), len(self.targets), len(self.quantiles)))
        for t, target in enumerate(self.targets):
            for j, quantile in enumerate(self.quantiles):
                out[:, t, j] = self.boosters[(target, quantile)].predict(features)
        return out

    def log_quantiles(self, features: FloatArray) -> FloatArray:
        """Like ``raw_log_quantiles`` with each row's quantiles sorted: never crossing."""
        return np.sort(self.raw_log_quantiles(features), axis=2)

    def recommend_sat_vb(self, features: FloatArray) -> FloatArray:
        """The in-band choice per row and target, ``[rows, targets]``, sat/vB, rounded as
        the model says (never below 1 sat/vB when rounded)."""
        log_q = self.log_quantiles(features)
        return decide(log_q, self.quantiles, self.band_ratio, self.rounding)

    def with_decision(self, band_ratio: float, rounding: str) -> FeeModel:
        """The same boosters with another decision rule."""
        return FeeModel(
            self.version, self.boosters, self.targets, self.quantiles, band_ratio, rounding
        )

    def to_files(self) -> dict[str, bytes]:
        return {
            artifact_file(k, q): booster.model_to_string().encode()
            for (k, q), booster in self.boosters.items()
        }

    @classmethod
    def from_files(
        cls,
        version: str,
        files: Mapping[str, bytes],
        targets: Sequence[int],
        quantiles: Sequence[float],
        band_ratio: float,
        rounding: str,
        feature_names: Sequence[str],
    ) -> FeeModel:
        """Rebuild a model from its artifact files; ``FeeModelError`` if one is missing."""
        if tuple(feature_names) != FEATURE_NAMES:
            raise FeeModelError(version, "trained on other features than this service computes")
        boosters = {}
        for k in targets:
            for q in quantiles:
                name = artifact_file(k, q)
                if name not in files:
                    raise FeeModelError(version, f"artifact {name} is missing")
                boosters[(k, q)] = lgb.Booster(model_str=files[name].decode())
        return cls(version, boosters, tuple(targets), tuple(quantiles), band_ratio, rounding)


def fit_fee_model(
    version: str,
    x_train: FloatArray,
    y_train: Mapping[int, FloatArray],
    x_valid: FloatArray,
    y_valid: Mapping[int, FloatArray],
    band_ratio: float,
    config: TrainConfig | None = None,
) -> FeeModel:
    """Grow one booster per (target, quantile) on rows whose target is known (finite).

    ``y_*[k]`` is ``log(Y_k)`` per row, NaN where the next ``k`` blocks are not all known;
    the validation rows stop each booster early.
    """
    config = config or TrainConfig()
    boosters = {}
    for target in config.targets:
        train_rows = np.isfinite(y_train[target])
        valid_rows = np.isfinite(y_valid[target])
        train_set = lgb.Dataset(
            x_train[train_rows],
            y_train[target][train_rows],
            feature_name=list(FEATURE_NAMES),
            free_raw_data=False,
        )
        valid_set = train_set.create_valid(x_valid[valid_rows], y_valid[target][valid_rows])
        for quantile in config.quantiles:
            boosters[(target, quantile)] = lgb.train(
                config.params(quantile),
                train_set,
                num_boost_round=config.num_rounds,
                valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
            )
    return FeeModel(version, boosters, config.targets, config.quantiles, band_ratio)


def decide(
    log_q: FloatArray, quantiles: Sequence[float], band_ratio: float, rounding: str
) -> FloatArray:
    """``choose_in_band`` for every target of ``log_q [rows, targets, quantiles]``, in sat/vB."""
    chosen = np.empty(log_q.shape[:2])
    for t in range(log_q.shape[1]):
        chosen[:, t] = choose_in_band(log_q[:, t, :], quantiles, band_ratio)
    rates = np.exp(chosen)
    if rounding == "round":
        return np.maximum(np.round(rates), 1.0)
    if rounding == "ceil":
        return np.maximum(np.ceil(rates), 1.0)
    return rates


def choose_in_band(
    log_q: FloatArray, quantiles: Sequence[float], band_ratio: float, grid: int = 96
) -> FloatArray:
    """Per row, the log rate ``x`` maximising ``P(x <= log Y <= x - log band_ratio)``.

    The predictive CDF of ``log Y`` is linear between the quantiles and reaches 0 and 1 half
    an inter-quantile step beyond the outer ones. Ties go to the lowest such ``x``.
    """
    log_q = np.atleast_2d(log_q)
    levels = np.asarray(quantiles, dtype=np.float64)
    width = -math.log(band_ratio)
    out = np.empty(len(log_q))
    for i, row in enumerate(log_q):
        low_pad = max(row[1] - row[0], 1e-3) * 1.5
        high_pad = max(row[-1] - row[-2], 1e-3) * 1.5
        knots = np.concatenate(([row[0] - low_pad], row, [row[-1] + high_pad]))
        knots = np.maximum.accumulate(knots + np.arange(len(knots)) * 1e-9)
        cdf = np.concatenate(([0.0], levels, [1.0]))
        candidates = np.linspace(knots[0] - width, knots[-1], grid)
        mass = np.interp(candidates + width, knots, cdf) - np.interp(candidates, knots, cdf)
        out[i] = candidates[int(np.argmax(mass))]
    return out


def pinball_loss(y: FloatArray, prediction: FloatArray, quantile: float) -> float:
    """Mean quantile (pinball) loss of ``prediction`` for ``y``, on finite ``y`` only."""
    rows = np.isfinite(y)
    diff = y[rows] - prediction[rows]
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))
