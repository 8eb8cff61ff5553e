"""Which model explains a decision, and its attribution in log-odds and probability terms.

The deciding tier says what to explain: the batch tier's champion by exact TreeSHAP, the
online tier's logistic model by its terms, and nothing for the rules (their evidence is the
rules that fired, ``rules.py``). Decisions are grouped by model version so that each group
costs one call of the model's contribution code, run off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainwatch.explainer import metrics
from chainwatch.explainer.contributions import Contributions, proportional_proba, sigmoid
from chainwatch.explainer.errors import AttributionUnavailableError
from chainwatch.explainer.linear import linear_contributions
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.treeshap import tree_contributions
from chainwatch.scorer.models import ServedModel
from chainwatch.shared.explanations import AttributionMethod, FeatureContribution, ModelAttribution
from chainwatch.shared.features import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURE_SPECS,
    Vector,
    describe,
)
from chainwatch.shared.registry import MODEL_CHAMPION, MODEL_ONLINE
from chainwatch.shared.schemas import ScoredTransaction, Tier

logger = logging.getLogger(__name__)

RECORDED_TOLERANCE = 1e-5
"""Largest gap between the recomputed probability and the recorded tier score deemed equal."""

ADDITIVITY_TOLERANCE = 1e-3
"""Largest |expected + sum - output| in log-odds before an attribution is reported as off."""


@dataclass(frozen=True)
class Target:
    """The model a decision is explained by."""

    name: str
    version: str
    method: AttributionMethod


@dataclass(frozen=True)
class Attributed:
    """An attribution, or a note saying why there is none."""

    attribution: ModelAttribution | None
    note: str = ""


def feature_rows(decisions: Sequence[ScoredTransaction]) -> Vector:
    """The decisions' feature vectors as a matrix over ``FEATURE_NAMES``; unknown is NaN."""
    rows = np.full((len(decisions), len(FEATURE_NAMES)), math.nan)
    for i, decision in enumerate(decisions):
        for j, name in enumerate(FEATURE_NAMES):
            value = decision.features.get(name)
            if value is not None:
                rows[i, j] = value
    return rows


def target_of(decision: ScoredTransaction) -> Target | str:
    """The model that decided, or a note saying why no model explains the decision."""
    if decision.deciding_tier is Tier.HEURISTIC:
        return "decided by the rules; the rules that fired are its evidence"
    if decision.feature_set_version != FEATURE_SET_VERSION:
        return (
            f"decided on feature set {decision.feature_set_version!r}; "
            f"this explainer knows {FEATURE_SET_VERSION!r}"
        )
    if decision.deciding_tier is Tier.BATCH:
        name, key, method = MODEL_CHAMPION, "batch", AttributionMethod.TREESHAP
    else:
        name, key, method = MODEL_ONLINE, "online", AttributionMethod.LINEAR
    version = decision.model_versions.get(key)
    if version is None:
        return f"the decision names no {key} model version"
    return Target(name, version, method)


class Attributor:
    def __init__(self, models: ModelCache, top_k: int = 8) -> None:
        self.models = models
        self.top_k = top_k

    async def explain(self, decisions: Sequence[ScoredTransaction]) -> list[Attributed]:
        """One ``Attributed`` per decision, in order; a model that cannot explain is a note.

        Raises ``TransientError`` when the model store cannot be reached.
        """
        results: list[Attributed] = [Attributed(None)] * len(decisions)
        groups: dict[Target, list[int]] = {}
        for i, decision in enumerate(decisions):
            target = target_of(decision)
            if isinstance(target, str):
                results[i] = Attributed(None, target)
            else:
                groups.setdefault(target, []).append(i)

        for target, indexes in groups.items():
            members = [decisions[i] for i in indexes]
            try:
                model = await self.models.get(target.name, target.version)
                contributions = await asyncio.to_thread(_compute, target, model, members)
            except AttributionUnavailableError as exc:
                for i in indexes:
                    results[i] = Attributed(None, f"no attribution: {exc.reason}")
                continue
            proba = proportional_proba(contributions)
            for row, i in enumerate(indexes):
                results[i] = Attributed(
                    _attribution(target, model, contributions, proba, row, decisions[i], self.top_k)
                )
        return results


def _compute(
    target: Target, model: ServedModel, decisions: list[ScoredTransaction]
) -> Contributions:
    rows = feature_rows(decisions)
    if target.method is AttributionMethod.TREESHAP:
        return tree_contributions(model, rows)
    return linear_contributions(model, rows)


def _attribution(
    target: Target,
    model: ServedModel,
    contributions: Contributions,
    proba_terms: Vector,
    row: int,
    decision: ScoredTransaction,
    top_k: int,
) -> ModelAttribution:
    log_odds = contributions.log_odds[row]
    proba = proba_terms[row]
    order = np.argsort(-np.abs(log_odds), kind="stable")
    shown, rest = order[:top_k], order[top_k:]

    listed = []
    for j in shown.tolist():
        column = contributions.columns[j]
        spec = FEATURE_SPECS[column]
        value = decision.features.get(spec.name)
        listed.append(
            FeatureContribution(
                name=spec.name,
                label=spec.label,
                unit=spec.unit,
                value=value,
                value_text=describe(spec.name, math.nan if value is None else value),
                log_odds=float(log_odds[j]),
                proba=float(proba[j]),
            )
        )

    expected = float(contributions.expected_log_odds[row])
    output = float(contributions.output_log_odds[row])
    output_proba = float(sigmoid(np.array([output]))[0])
    error = float(contributions.additivity_error[row])
    recorded = _recorded_score(decision, target)
    reproduced = recorded is not None and abs(output_proba - recorded) <= RECORDED_TOLERANCE
    if error > ADDITIVITY_TOLERANCE or not reproduced:
        metrics.ATTRIBUTION_OFF.inc()
        logger.warning(
            "attribution of %s by %s %s: additivity error %.2e, recorded %s, recomputed %.6f",
            decision.txid, target.name, target.version, error, recorded, output_proba,
        )  # fmt: skip
    return ModelAttribution(
        method=target.method,
        model_name=target.name,
        model_version=target.version,
        framework=model.framework,
        expected_log_odds=expected,
        output_log_odds=output,
        expected_proba=float(sigmoid(np.array([expected]))[0]),
        output_proba=output_proba,
        contributions=listed,
        rest_log_odds=float(log_odds[rest].sum()),
        rest_proba=float(proba[rest].sum()),
        rest_count=len(rest),
        additivity_error_log_odds=error,
        recorded_score=recorded,
        reproduced=reproduced,
    )


def _recorded_score(decision: ScoredTransaction, target: Target) -> float | None:
    tier = Tier.BATCH if target.method is AttributionMethod.TREESHAP else Tier.ONLINE
    for output in decision.tiers:
        if output.tier == tier and output.model_version == target.version:
            return output.risk_score
    return None
