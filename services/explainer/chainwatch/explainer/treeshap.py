"""Exact TreeSHAP of the batch tier's models, by the models' own code.

XGBoost's ``predict(pred_contribs=True)`` and LightGBM's ``predict(pred_contrib=True)`` run
the exact TreeSHAP algorithm (Lundberg et al., "From local explanations to global
understanding with explainable AI for trees", Nature Machine Intelligence, 2020) over the
trees' own cover statistics. For XGBoost the ``shap`` package's ``TreeExplainer`` returns
the very same numbers (it delegates to this call), so it is not imported: it would cost two
seconds of import and a few milliseconds per row for nothing.

**The values are log-odds**: they explain the raw margin, the sum of the trees before the
logistic link, and add up to it with the base value (the last column the libraries return,
the expected margin over the training data). They do not add up to the probability; see
``contributions.proportional_proba`` for the reading in probability terms.
"""

from __future__ import annotations

import numpy as np

from chainwatch.explainer.contributions import Contributions, reproduces
from chainwatch.explainer.errors import AttributionUnavailableError
from chainwatch.scorer.models import ServedModel
from chainwatch.shared.features import Vector


def tree_contributions(model: ServedModel, rows: Vector) -> Contributions:
    """TreeSHAP contributions of ``model`` for full feature rows (n × len(FEATURE_NAMES)).

    NaN is a missing value, routed down each tree's default branch as in serving. Raises
    ``AttributionUnavailableError`` for a framework without TreeSHAP here, or a model whose
    probability is not the logistic of its raw output (the log-odds reading would be wrong).
    """
    x = np.ascontiguousarray(rows[:, list(model.columns)], dtype=np.float64)
    if model.framework == "xgboost":
        phi, margin = _xgboost(model, x)
    elif model.framework == "lightgbm":
        phi, margin = _lightgbm(model, x)
    else:
        raise AttributionUnavailableError(
            model.name, model.version, f"no TreeSHAP for framework {model.framework!r}"
        )

    if not reproduces(margin, model.predict_proba(rows)).all():
        raise AttributionUnavailableError(
            model.name, model.version, "its probability is not the logistic of its raw output"
        )
    return Contributions(
        columns=model.columns,
        log_odds=phi[:, :-1],
        expected_log_odds=phi[:, -1],
        output_log_odds=margin,
    )


def _xgboost(model: ServedModel, x: Vector) -> tuple[Vector, Vector]:
    import xgboost as xgb

    matrix = xgb.DMatrix(x, missing=np.nan)
    phi = model.native.predict(matrix, pred_contribs=True)
    margin = model.native.predict(matrix, output_margin=True)
    return np.asarray(phi, dtype=np.float64), np.asarray(margin, dtype=np.float64)


def _lightgbm(model: ServedModel, x: Vector) -> tuple[Vector, Vector]:
    phi = model.native.predict(x, pred_contrib=True, num_threads=1)
    margin = model.native.predict(x, raw_score=True, num_threads=1)
    return np.asarray(phi, dtype=np.float64), np.asarray(margin, dtype=np.float64)
