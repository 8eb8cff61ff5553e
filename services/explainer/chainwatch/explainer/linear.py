"""Attribution of the online tier's River model: a logistic regression, read term by term.

The learner's model is ``FuncTransformer(squash) | LogisticRegression`` (a ``StandardScaler``
in place of the squash, or no transform at all, work the same way). Its raw output is
``intercept + sum_j w_j * z_j``, where ``z_j = g_j(x_j)`` is feature j after the transform.
Each term ``w_j * z_j`` is feature j's contribution **in log-odds**. Because the model is
additive in the features, the terms are exactly the Shapley values of the raw output against
the baseline input whose transformed values are all 0 (all-zero features for the squash, the
running means for a standard scaler), where the output is the intercept: the base value.

This holds when each transform maps every feature on its own, as the squash and the scaler
do; a transform that mixed features would break it, and the check that the terms reproduce
the model's probability would then refuse the attribution. Any other kind of River model
raises ``AttributionUnavailableError``: its decisions are explained by their rules only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainwatch.explainer.contributions import Contributions, reproduces
from chainwatch.explainer.errors import AttributionUnavailableError
from chainwatch.scorer.models import ServedModel
from chainwatch.shared.features import FEATURE_NAMES, Vector

SUPPORTED = "[FuncTransformer | StandardScaler] | LogisticRegression with log loss"


def linear_contributions(model: ServedModel, rows: Vector) -> Contributions:
    """Log-odds terms of the online model for full feature rows (n × len(FEATURE_NAMES)).

    Unknown values (NaN) enter as 0.0, as the scorer and the learner feed them to the model.
    """
    transforms, regression = _parts(model)
    names = [FEATURE_NAMES[c] for c in model.columns]
    weights: dict[str, float] = dict(regression.weights)
    intercept = float(regression.intercept)

    clean = np.nan_to_num(rows[:, list(model.columns)], nan=0.0)
    terms = np.zeros_like(clean)
    for i, row in enumerate(clean.tolist()):
        z = dict(zip(names, row, strict=True))
        for transform in transforms:
            z = transform.transform_one(z)
        terms[i] = [weights.get(name, 0.0) * float(z.get(name, 0.0)) for name in names]

    expected = np.full(len(rows), intercept)
    output = expected + terms.sum(axis=1)
    if not reproduces(output, model.predict_proba(rows)).all():
        raise AttributionUnavailableError(
            model.name, model.version, "its terms do not reproduce its probability"
        )
    return Contributions(model.columns, terms, expected, output)


def _parts(model: ServedModel) -> tuple[list[Any], Any]:
    """The transforms, in order, and the logistic regression of a supported River model."""
    from river import compose, linear_model, optim, preprocessing

    native = model.native
    steps = list(native.steps.values()) if isinstance(native, compose.Pipeline) else [native]
    *transforms, regression = steps
    supported = (
        isinstance(regression, linear_model.LogisticRegression)
        and isinstance(regression.loss, optim.losses.Log)
        and all(
            isinstance(t, compose.FuncTransformer | preprocessing.StandardScaler)
            for t in transforms
        )
    )
    if not supported:
        shape = " | ".join(type(s).__name__ for s in steps)
        raise AttributionUnavailableError(
            model.name, model.version, f"{shape} has no attribution here (supported: {SUPPORTED})"
        )
    return transforms, regression
