"""Fitting a calibrated, thresholded model, and judging one by cross-validation.

``fit_calibrated`` is the whole recipe for one training set: out-of-fold margins from
``inner_folds`` folds of it fit the Platt calibration and choose the threshold, then the
learner is fitted on all of it. ``cross_validate`` runs that recipe inside each of
``folds`` stratified folds and scores the held-out fold, so neither the calibration nor the
threshold ever sees the applicants it is judged on. The model and the baseline go through
exactly the same code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from chainwatch.onboarding.calibration import PlattScaling
from chainwatch.onboarding.costs import CostMatrix, ThresholdMethod, choose_threshold
from chainwatch.onboarding.learners import Learner, MarginModel, Matrix

logger = logging.getLogger(__name__)

RELIABILITY_BINS = 10


@dataclass(frozen=True)
class Recipe:
    """How a model is fitted and judged: folds, seed, costs and the threshold rule."""

    folds: int
    inner_folds: int
    seed: int
    cost: CostMatrix
    threshold_method: ThresholdMethod


@dataclass(frozen=True)
class Calibrated:
    """A fitted learner, its calibration and its operating threshold."""

    margin_model: MarginModel
    calibration: PlattScaling
    threshold: float

    def proba(self, features: Matrix) -> npt.NDArray[np.float64]:
        """Calibrated probability of a bad risk, one per row."""
        return self.calibration.proba(self.margin_model.margin(features))


def out_of_fold_margins(
    learner: Learner, features: Matrix, bad: npt.NDArray[np.int_], folds: int, seed: int
) -> npt.NDArray[np.float64]:
    """The margin of each applicant from a model fitted on the other folds."""
    margins = np.zeros(len(bad), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(features, bad):
        model = learner.fit(features[train], bad[train], seed)
        margins[held_out] = model.margin(features[held_out])
    return margins


def fit_calibrated(
    learner: Learner, features: Matrix, bad: npt.NDArray[np.int_], recipe: Recipe
) -> Calibrated:
    """Calibrate and threshold on out-of-fold margins, then fit on everything."""
    margins = out_of_fold_margins(learner, features, bad, recipe.inner_folds, recipe.seed)
    calibration = PlattScaling.fit(margins, bad)
    threshold = choose_threshold(
        recipe.cost, recipe.threshold_method, bad, calibration.proba(margins)
    )
    return Calibrated(learner.fit(features, bad, recipe.seed), calibration, threshold)


@dataclass(frozen=True)
class FoldResult:
    """One held-out fold: its size, ROC-AUC, cost per applicant and the threshold used."""

    fold: int
    applicants: int
    roc_auc: float
    cost_per_applicant: float
    threshold: float
    refused_share: float


@dataclass(frozen=True)
class CrossValidation:
    """Held-out results of every fold, and every applicant's out-of-fold probability."""

    learner: str
    folds: tuple[FoldResult, ...]
    proba: npt.NDArray[np.float64]
    refused: npt.NDArray[np.bool_]
    bad: npt.NDArray[np.int_]
    cost: CostMatrix

    def summary(self) -> dict[str, Any]:
        """The figures a card reports: means and standard deviations over folds, pooled."""
        auc = np.array([f.roc_auc for f in self.folds])
        cost = np.array([f.cost_per_applicant for f in self.folds])
        thresholds = np.array([f.threshold for f in self.folds])
        return {
            "learner": self.learner,
            "folds": len(self.folds),
            "roc_auc_mean": float(auc.mean()),
            "roc_auc_std": float(auc.std(ddof=1)) if len(auc) > 1 else 0.0,
            "roc_auc_pooled": float(roc_auc_score(self.bad, self.proba)),
            "cost_per_applicant_mean": float(cost.mean()),
            "cost_per_applicant_std": float(cost.std(ddof=1)) if len(cost) > 1 else 0.0,
            "cost_per_applicant_pooled": self.cost.per_applicant(self.bad, self.refused),
            "threshold_mean": float(thresholds.mean()),
            "refused_share": float(self.refused.mean()),
            "brier_score": float(np.mean((self.proba - self.bad) ** 2)),
            "reliability": reliability_bins(self.bad, self.proba),
            "per_fold": [vars(f) for f in self.folds],
        }


def cross_validate(
    learner: Learner, features: Matrix, bad: npt.NDArray[np.int_], recipe: Recipe
) -> CrossValidation:
    """Stratified ``recipe.folds``-fold cross-validation of the whole of ``fit_calibrated``."""
    cost = recipe.cost
    proba = np.zeros(len(bad), dtype=np.float64)
    refused = np.zeros(len(bad), dtype=bool)
    results = []
    splitter = StratifiedKFold(n_splits=recipe.folds, shuffle=True, random_state=recipe.seed)
    for number, (train, held_out) in enumerate(splitter.split(features, bad), start=1):
        model = fit_calibrated(learner, features[train], bad[train], recipe)
        fold_proba = model.proba(features[held_out])
        fold_refused = fold_proba >= model.threshold
        proba[held_out], refused[held_out] = fold_proba, fold_refused
        results.append(
            FoldResult(
                fold=number,
                applicants=len(held_out),
                roc_auc=float(roc_auc_score(bad[held_out], fold_proba)),
                cost_per_applicant=cost.per_applicant(bad[held_out], fold_refused),
                threshold=model.threshold,
                refused_share=float(fold_refused.mean()),
            )
        )
        logger.debug("%s fold %d: auc=%.3f", learner.name, number, results[-1].roc_auc)
    return CrossValidation(learner.name, tuple(results), proba, refused, bad, cost)


def reliability_bins(
    bad: npt.NDArray[np.int_], proba: npt.NDArray[np.float64], bins: int = RELIABILITY_BINS
) -> list[dict[str, float]]:
    """Mean predicted probability against the observed bad rate, in equal-width bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(proba, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        members = index == b
        if members.any():
            table.append(
                {
                    "low": round(float(edges[b]), 6),
                    "high": round(float(edges[b + 1]), 6),
                    "applicants": int(members.sum()),
                    "mean_proba": float(proba[members].mean()),
                    "bad_rate": float(bad[members].mean()),
                }
            )
    return table
