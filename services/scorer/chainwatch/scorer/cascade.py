"""The cascade: which tier decides a transaction's risk, why, and the decision it makes.

Policy (``CascadePolicy``), first match wins:

1. **Sanctions override.** Direct sanctions exposure makes the band Severe, whatever any
   model says; the heuristic tier is recorded as deciding.
2. **Online tier**, when trusted: the learner's River model has learned at least
   ``online_min_verdicts`` analyst verdicts, with at least ``online_min_per_class`` of each
   class. Verdicts are the ground truth, so a model that has seen enough of them outranks
   one trained on weak labels.
3. **Batch tier**, when a champion model is loaded (XGBoost from the registry).
4. **Heuristic tier** otherwise: no trusted model, and the decision says so.

With ``rules_floor`` (the default) a model's score never goes below the heuristic tier's:
a model may add suspicion to exposure and typology evidence, never explain it away. Every
tier that could score is recorded, abstentions with their reason, and the challenger
(LightGBM) is scored in the shadow and recorded without deciding.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from chainwatch.scorer.anomaly import AnomalyDetector
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.heuristics import HeuristicResult, HeuristicTier
from chainwatch.scorer.models import ServedModel
from chainwatch.shared.features import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    N_INTRINSIC,
    exposure_context,
    feature_index,
    feature_matrix,
)
from chainwatch.shared.schemas import (
    Exposure,
    RawTransaction,
    RiskBand,
    ScoredTransaction,
    Tier,
    TierOutput,
)

logger = logging.getLogger(__name__)

_ANOMALY_COLUMN = feature_index("anomaly_score")


@dataclass(frozen=True)
class CascadePolicy:
    online_min_verdicts: int = 200
    online_min_per_class: int = 20
    use_online: bool = True
    use_batch: bool = True
    rules_floor: bool = True


@dataclass
class ServingModels:
    """What the model watchers have loaded; replaced whole, read once per batch."""

    champion: ServedModel | None = None
    challenger: ServedModel | None = None
    online: ServedModel | None = None


@dataclass
class Cascade:
    heuristic: HeuristicTier
    bands: RiskBands
    policy: CascadePolicy = field(default_factory=CascadePolicy)
    models: ServingModels = field(default_factory=ServingModels)
    anomaly: AnomalyDetector = field(default_factory=AnomalyDetector)

    def online_trusted(self, model: ServedModel | None) -> tuple[bool, str]:
        if model is None:
            return False, "no online model published yet"
        learned, per_class = model.n_verdicts, model.class_counts
        fewest = min(per_class.values(), default=0)
        need_total, need_each = self.policy.online_min_verdicts, self.policy.online_min_per_class
        if learned < need_total:
            return False, f"learned {learned} verdicts, trusted from {need_total}"
        if len(per_class) < 2 or fewest < need_each:
            return False, f"fewest verdicts of one class {fewest}, trusted from {need_each}"
        return True, f"learned {learned} verdicts"

    def decide_batch(
        self, raws: Sequence[RawTransaction], exposures: Sequence[Sequence[Exposure]]
    ) -> list[ScoredTransaction]:
        txs = [raw.tx for raw in raws]
        rules = [self.heuristic.score(tx, exp) for tx, exp in zip(txs, exposures, strict=True)]
        matrix = feature_matrix(txs, [exposure_context(exp) for exp in exposures])
        anomaly = self.anomaly.score_and_learn(matrix[:, :N_INTRINSIC])
        matrix[:, _ANOMALY_COLUMN] = [math.nan if a is None else a for a in anomaly]

        models = self.models  # one consistent set for the whole batch, even if swapped meanwhile
        champion = _predict(models.champion, matrix) if self.policy.use_batch else None
        challenger = _predict(models.challenger, matrix)
        trusted, trust_note = self.online_trusted(models.online)
        online = _predict(models.online, matrix) if self.policy.use_online else None

        decided_at = datetime.now(UTC)
        decisions = []
        for i, (raw, result) in enumerate(zip(raws, rules, strict=True)):
            rules_note = f"{len(result.rule_hits)} rule hit(s)"
            tiers = [_abstained(Tier.HEURISTIC, rules_note, result.risk_score)]
            versions: dict[str, str] = {}
            if online is not None and models.online is not None and _finite(online[i]):
                note = trust_note if trusted else f"not trusted: {trust_note}"
                tiers.append(_tier(Tier.ONLINE, models.online, online[i], note))
                versions["online"] = models.online.version
            elif models.online is not None:
                tiers.append(_abstained(Tier.ONLINE, f"{models.online.version}: no usable score"))
            else:
                tiers.append(_abstained(Tier.ONLINE, trust_note))
            if champion is not None and models.champion is not None and _finite(champion[i]):
                tiers.append(_tier(Tier.BATCH, models.champion, champion[i], "champion"))
                versions["batch"] = models.champion.version
            elif models.champion is not None:
                tiers.append(_abstained(Tier.BATCH, f"{models.champion.version}: no usable score"))
            else:
                tiers.append(_abstained(Tier.BATCH, "no model loaded"))
            if challenger is not None and models.challenger is not None and _finite(challenger[i]):
                note = "challenger, shadow: recorded, never deciding"
                tiers.append(_tier(Tier.BATCH, models.challenger, challenger[i], note))
                versions["batch_challenger"] = models.challenger.version

            tier, risk, reason = self._choose(result, trusted, online, champion, i, models)
            band = RiskBand.SEVERE if result.sanctioned else self.bands.band(risk)
            decisions.append(
                _decision(raw, matrix[i], anomaly[i], result, exposures[i], tiers, versions,
                          tier, risk, reason, band, self.bands.is_flagged(band), decided_at)
            )  # fmt: skip
        return decisions

    def _choose(
        self,
        result: HeuristicResult,
        trusted: bool,
        online: np.ndarray | None,
        champion: np.ndarray | None,
        i: int,
        models: ServingModels,
    ) -> tuple[Tier, float, str]:
        if result.sanctioned:
            return (
                Tier.HEURISTIC,
                max(result.risk_score, self.bands.severe),
                ("sanctions exposure: hard override to Severe"),
            )
        if trusted and online is not None and models.online is not None and _finite(online[i]):
            tier, score = Tier.ONLINE, float(online[i])
            reason = f"online model {models.online.version} is trusted"
        elif champion is not None and models.champion is not None and _finite(champion[i]):
            tier, score = Tier.BATCH, float(champion[i])
            reason = f"batch champion {models.champion.version}"
            if models.online is None or not trusted:
                reason += "; online tier not trusted"
        else:
            return (
                Tier.HEURISTIC,
                result.risk_score,
                ("no trusted online model and no batch model: the rules decide"),
            )
        if self.policy.rules_floor and result.risk_score > score:
            return tier, result.risk_score, reason + "; raised to the rules' score (floor)"
        return tier, score, reason


def _predict(model: ServedModel | None, matrix: np.ndarray) -> np.ndarray | None:
    """The model's probabilities, NaN where it gave no finite answer; None when it failed.

    A tier whose model fails or answers NaN abstains for that transaction: a broken model
    must never lower a decision (NaN compares false, and would slip under the floor).
    """
    if model is None:
        return None
    try:
        scores = np.asarray(model.predict_proba(matrix), dtype=np.float64)
    except Exception:  # the model is at fault, not the transactions: the tier abstains
        logger.exception("%s %s failed to predict; its tier abstains", model.name, model.version)
        return None
    if scores.shape != (len(matrix),):
        logger.error("%s %s answered shape %s", model.name, model.version, scores.shape)
        return None
    return np.where(np.isfinite(scores), np.clip(scores, 0.0, 1.0), np.nan)


def _finite(score: float) -> bool:
    return bool(np.isfinite(score))


def _abstained(tier: Tier, note: str, risk_score: float = 0.0) -> TierOutput:
    """A tier's output without a model version: the rules, or a tier that had no model."""
    return TierOutput.model_construct(
        tier=tier, risk_score=risk_score, model_version=None, note=note
    )


def _tier(tier: Tier, model: ServedModel, score: float, note: str) -> TierOutput:
    return TierOutput.model_construct(
        tier=tier, risk_score=float(score), model_version=model.version, note=note
    )


def _decision(
    raw: RawTransaction,
    row: np.ndarray,
    anomaly: float | None,
    result: HeuristicResult,
    exposures: Sequence[Exposure],
    tiers: list[TierOutput],
    versions: dict[str, str],
    tier: Tier,
    risk: float,
    reason: str,
    band: RiskBand,
    flagged: bool,
    decided_at: datetime,
) -> ScoredTransaction:
    tx = raw.tx
    features = {
        name: (None if math.isnan(v) else v)
        for name, v in zip(FEATURE_NAMES, row.tolist(), strict=True)
    }
    # Every value here was validated on its way in or is computed above: construct directly,
    # the hot path cannot afford a second validation of each decision.
    return ScoredTransaction.model_construct(
        txid=tx.txid,
        decided_at=decided_at,
        risk_score=round(min(1.0, max(0.0, risk)), 6),
        band=band,
        flagged=flagged,
        deciding_tier=tier,
        decision_reason=reason,
        tiers=tiers,
        rule_hits=list(result.rule_hits),
        exposure=list(exposures),
        anomaly_score=anomaly,
        features=features,
        feature_set_version=FEATURE_SET_VERSION,
        model_versions=versions,
        value_out=tx.value_out,
        fee=tx.fee,
        vsize=tx.vsize,
        input_count=len(tx.vin),
        output_count=len(tx.vout),
        source=raw.source,
        latency_ms=max(0.0, (decided_at - raw.observed_at).total_seconds() * 1000.0),
    )
