"""The model card of an onboarding model version: what it is, how good, how fair.

Besides what every registry card holds (``chainwatch.shared.registry``), it records the
cross-validated figures of the model and of the logistic-regression baseline trained the
same way, the cost matrix and threshold, the calibration, the attribute encoding, the
protected attributes (and whether they were kept out of the features) and the fairness
report computed on the out-of-fold decisions of the cross-validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from chainwatch.onboarding.attributes import BY_NAME
from chainwatch.onboarding.costs import CostMatrix
from chainwatch.onboarding.learners import GbmParams
from chainwatch.onboarding.model import FEATURE_SET_VERSION, FRAMEWORK, encoding
from chainwatch.onboarding.training import Calibrated

LABEL_SOURCE = "statlog_german_credit"

DATA_DESCRIPTION = (
    "UCI Statlog (German Credit Data), Prof. Hans Hofmann, Universität Hamburg: 1,000 "
    "applicants, 20 attributes, 700 good and 300 bad risks; licence CC BY 4.0"
)

INTENDED_USE = (
    "Ranking the credit risk of an applicant at onboarding, as one input to a decision an "
    "officer can review; refusals carry their reasons."
)

LIMITATIONS = (
    "Trained on 1,000 applicants from 1970s Germany, amounts in Deutsche Mark: it shows "
    "the method, not a model to apply to today's customers.",
    "Cross-sectional data: no time order, so no test of how the model ages.",
    "Fairness figures come from 1,000 applicants; groups under the minimum size are listed "
    "but not compared, and gaps of a few points are within chance.",
    "Leaving protected attributes out of the features does not make a model fair: other "
    "attributes (housing, job, employment) can stand in for them; the report measures it.",
)


def build_card(
    *,
    name: str,
    version: str,
    trained_at: datetime,
    features: Sequence[str],
    model: Calibrated,
    cost: CostMatrix,
    threshold_method: str,
    gbm: GbmParams,
    evaluation: Mapping[str, Any],
    baseline: Mapping[str, Any],
    fairness: Mapping[str, Any],
    protected: Sequence[str],
    excluded: Sequence[str],
    applicants: int,
    bad: int,
    run_id: str,
) -> dict[str, Any]:
    """The card, as ``put_version`` stores it (the store adds ``registry``)."""
    return {
        "name": name,
        "version": version,
        "framework": FRAMEWORK,
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(features),
        "feature_labels": {f: BY_NAME[f].label for f in features},
        "encoding": encoding(features),
        "threshold": model.threshold,
        "threshold_method": threshold_method,
        "bayes_threshold": cost.bayes_threshold,
        "cost_matrix": {"bad_accepted": cost.bad_accepted, "good_refused": cost.good_refused},
        "calibration": {
            "method": "platt",
            "slope": model.calibration.slope,
            "intercept": model.calibration.intercept,
        },
        "trained_at": trained_at.isoformat(),
        "run_id": run_id,
        "data_window": {
            "kind": "cross-sectional",
            "applicants": applicants,
            "note": "the data set has no dates; folds are stratified random splits",
        },
        "label_sources": {LABEL_SOURCE: {"rows": applicants, "positives": bad}},
        "data": DATA_DESCRIPTION,
        "metrics": dict(evaluation),
        "metrics_by_label_source": {LABEL_SOURCE: dict(evaluation)},
        "baseline": dict(baseline),
        "hyperparameters": asdict(gbm),
        "protected_attributes": list(protected),
        "protected_excluded_from_features": list(excluded),
        "fairness": dict(fairness),
        "intended_use": INTENDED_USE,
        "limitations": list(LIMITATIONS),
    }
