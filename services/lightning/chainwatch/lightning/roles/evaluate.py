"""Cross-validated comparison of the role models on one snapshot.

Stratified k-fold, repeated with several seeds; in every fold each model is fitted on the
training nodes' labels and scored on the held-out nodes by ROC AUC and average precision
(the area under the precision-recall curve; its chance level is the share of positives).
Features are standardised on the training nodes of each fold.

* ``logistic``: logistic regression on the node's own features.
* ``logistic+neighbours``: the same on the features and their Â-weighted neighbourhood
  mean (one propagation step, no training of the graph part: a simplified GCN).
* ``gcn``: the two-layer GCN (skipped when PyTorch is absent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from chainwatch.lightning.roles import gcn
from chainwatch.lightning.roles.features import RoleData

Model = Callable[
    [RoleData, npt.NDArray[np.float64], npt.NDArray[np.int64]], npt.NDArray[np.float64]
]


@dataclass(frozen=True)
class ModelScore:
    model: str
    roc_auc_mean: float
    roc_auc_std: float
    average_precision_mean: float
    average_precision_std: float
    folds: int


def logistic(
    data: RoleData, x: npt.NDArray[np.float64], train: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    model = LogisticRegression(class_weight="balanced", max_iter=2000)
    model.fit(x[train], data.y[train])
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def logistic_neighbours(
    data: RoleData, x: npt.NDArray[np.float64], train: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    return logistic(data, np.hstack([x, data.adjacency @ x]), train)


def graph_convolution(
    data: RoleData, x: npt.NDArray[np.float64], train: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    proba, _ = gcn.fit_predict_proba(x, data.y, data.adjacency, train)
    return proba


def models() -> dict[str, Model]:
    found: dict[str, Model] = {"logistic": logistic, "logistic+neighbours": logistic_neighbours}
    if gcn.available():
        found["gcn"] = graph_convolution
    return found


def cross_validate(
    data: RoleData, folds: int = 5, seeds: tuple[int, ...] = (0, 1, 2)
) -> tuple[list[ModelScore], dict[str, list[tuple[float, float]]]]:
    """Scores of every model, and each model's (ROC AUC, AP) per fold, folds aligned."""
    per_fold: dict[str, list[tuple[float, float]]] = {name: [] for name in models()}
    for seed in seeds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(data.x, data.y):
            mean, std = data.x[train].mean(axis=0), data.x[train].std(axis=0) + 1e-9
            x = (data.x - mean) / std
            for name, model in models().items():
                proba = model(data, x, train)
                per_fold[name].append(
                    (
                        roc_auc_score(data.y[test], proba[test]),
                        average_precision_score(data.y[test], proba[test]),
                    )
                )
    scores = [
        ModelScore(
            model=name,
            roc_auc_mean=float(np.mean([a for a, _ in values])),
            roc_auc_std=float(np.std([a for a, _ in values])),
            average_precision_mean=float(np.mean([p for _, p in values])),
            average_precision_std=float(np.std([p for _, p in values])),
            folds=len(values),
        )
        for name, values in per_fold.items()
    ]
    return scores, per_fold
