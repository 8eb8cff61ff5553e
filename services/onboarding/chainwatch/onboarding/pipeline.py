"""Training end to end: data → cross-validation (model and baseline) → fairness → final fit →
card → registry → promotion, behind a gate.

``train_version`` does the computing and nothing else, so a Dagster asset can call it as it
is; ``publish_version`` stores the result and promotes it when it passes ``gate``.
``chainwatch-onboarding train`` runs both.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from nats.js import JetStreamContext

from chainwatch.onboarding.card import build_card
from chainwatch.onboarding.dataset import CreditData, feature_matrix
from chainwatch.onboarding.fairness import fairness_report, groupings
from chainwatch.onboarding.learners import GbmLearner, GbmMargin, LogisticLearner
from chainwatch.onboarding.model import OnboardingModel
from chainwatch.onboarding.settings import OnboardingSettings
from chainwatch.onboarding.training import Recipe, cross_validate, fit_calibrated
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import ModelPointer, promote

logger = logging.getLogger(__name__)

MIN_ROC_AUC = 0.70
"""The gate: a model ranking worse than this does not serve."""


@dataclass(frozen=True)
class TrainedVersion:
    """A trained model, its card and artifact files, not stored yet."""

    model: OnboardingModel
    card: dict[str, Any]
    files: dict[str, bytes]


def train_version(
    settings: OnboardingSettings,
    data: CreditData,
    *,
    now: datetime | None = None,
    run_id: str | None = None,
) -> TrainedVersion:
    """Cross-validate the model and the baseline, report fairness, fit the final model.

    The version is named ``<trained_at UTC>-<first 8 of run_id>`` (a random run id unless
    given, e.g. Dagster's).
    """
    train = settings.train
    features = settings.features
    matrix = feature_matrix(data.applicants, features)
    recipe = Recipe(
        folds=train.folds,
        inner_folds=train.inner_folds,
        seed=train.seed,
        cost=train.cost,
        threshold_method=train.threshold_method,
    )

    gbm = GbmLearner(features, train.gbm)
    evaluation = cross_validate(gbm, matrix, data.bad, recipe)
    baseline = cross_validate(LogisticLearner(features), matrix, data.bad, recipe)
    fairness = fairness_report(
        data.applicants,
        data.bad,
        evaluation.refused,
        evaluation.proba,
        groupings(settings.protected_attributes, settings.protected_bands),
        train.cost,
        train.min_group_size,
    )
    summary, baseline_summary = evaluation.summary(), baseline.summary()
    logger.info(
        "cross-validated %d folds: roc_auc %.3f (baseline %.3f), cost %.3f (baseline %.3f)",
        train.folds,
        summary["roc_auc_mean"],
        baseline_summary["roc_auc_mean"],
        summary["cost_per_applicant_mean"],
        baseline_summary["cost_per_applicant_mean"],
    )

    final = fit_calibrated(gbm, matrix, data.bad, recipe)
    trained_at = now or datetime.now(UTC)
    run_id = run_id or secrets.token_hex(8)
    version = f"{trained_at:%Y%m%dT%H%M%SZ}-{run_id[:8]}"
    card = build_card(
        name=settings.model_name,
        version=version,
        trained_at=trained_at,
        features=features,
        model=final,
        cost=train.cost,
        threshold_method=train.threshold_method,
        gbm=train.gbm,
        evaluation=summary,
        baseline=baseline_summary,
        fairness=fairness,
        protected=settings.protected_attributes,
        excluded=[a for a in settings.protected_attributes if a not in features],
        applicants=len(data),
        bad=int(np.sum(data.bad)),
        run_id=run_id,
    )
    assert isinstance(final.margin_model, GbmMargin)  # what GbmLearner.fit returns
    model = OnboardingModel(
        name=settings.model_name,
        version=version,
        booster=final.margin_model.booster,
        calibration=final.calibration,
        threshold=final.threshold,
        features=features,
        card=card,
    )
    return TrainedVersion(model, card, model.files())


def gate(card: dict[str, Any]) -> list[str]:
    """Why the version must not serve; empty when it may.

    It must rank applicants (cross-validated ROC-AUC at least ``MIN_ROC_AUC``) and its
    decisions must cost less than the cheaper of refusing everyone and accepting everyone.
    """
    metrics, costs = card["metrics"], card["cost_matrix"]
    bad_share = card["label_sources"]["statlog_german_credit"]["positives"] / max(
        card["label_sources"]["statlog_german_credit"]["rows"], 1
    )
    trivial = min(costs["good_refused"] * (1 - bad_share), costs["bad_accepted"] * bad_share)
    reasons = []
    if metrics["roc_auc_mean"] < MIN_ROC_AUC:
        reasons.append(f"roc_auc {metrics['roc_auc_mean']:.3f} below {MIN_ROC_AUC}")
    if metrics["cost_per_applicant_pooled"] >= trivial:
        reasons.append(
            f"cost {metrics['cost_per_applicant_pooled']:.3f} per applicant is no better than "
            f"a blanket decision ({trivial:.3f})"
        )
    return reasons


async def publish_version(
    js: JetStreamContext, store: ModelStore, trained: TrainedVersion
) -> ModelPointer | None:
    """Store the version; promote it unless the gate refuses (then return None)."""
    name, version = trained.model.name, trained.model.version
    stored = await store.put_version(name, version, trained.files, trained.card)
    logger.info("stored %s %s at %s", name, version, stored.uri)
    refusals = gate(trained.card)
    if refusals:
        logger.warning("%s %s not promoted: %s", name, version, "; ".join(refusals))
        return None
    return await promote(js, name, version, store=store, run_id=trained.card["run_id"])
