"""Why a decision was made: the wire model of ``chainwatch.tx.explained``.

The explainer publishes one ``ExplainedTransaction`` per explained decision (by default the
flagged ones), after storing the same message in the audit trail (``audit_explanation``,
linked to the decision's own audit row by ``decision_row_hash``). It carries three kinds of
reasons, each checkable on its own:

- ``attribution``: for a decision of the batch or online tier, how much each feature moved
  the deciding model's output. **Contributions are in log-odds**, the model's raw output
  before the logistic link: they add up exactly, ``expected_log_odds + sum(log_odds) ==
  output_log_odds``. The ``proba`` figures are an approximation in probability terms (see
  ``ModelAttribution``); they are *not* Shapley values of the probability.
- ``rules``: for every decision, the rules that fired, with the addresses, categories, hop
  counts and share of value behind them.
- ``narrative``: a plain-language account written from ``evidence`` only, by Claude when it
  is configured and its text passes a check against the evidence, else by a fixed template.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from chainwatch.shared.schemas import RiskBand, Tier, Txid, WireModel


class NarrativePath(StrEnum):
    """Who wrote the narrative: Claude (checked against the evidence) or the template."""

    CLAUDE = "claude"
    TEMPLATE = "template"


class AttributionMethod(StrEnum):
    TREESHAP = "treeshap"
    """Exact TreeSHAP of a tree ensemble (XGBoost or LightGBM), by the model's own code."""
    LINEAR = "linear"
    """A logistic model's weight times the (standardised) feature value."""


class FeatureContribution(WireModel):
    """One feature's part in a model's output for one transaction."""

    name: str = Field(description="Feature column, as in the decision's features")
    label: str = Field(description="Readable name, e.g. 'fee rate'")
    unit: str = Field(description="Unit of value, e.g. 'sat/vB', 'fraction 0..1'")
    value: float | None = Field(description="The feature's value; null when unknown (NaN)")
    value_text: str = Field(description="The value in words, e.g. 'fee rate 12.4 sat/vB'")
    log_odds: float = Field(description="Contribution to the raw output, log-odds (exact)")
    proba: float = Field(
        description="Approximate contribution to the probability, -1..1 (see proba_method)"
    )


class ModelAttribution(WireModel):
    """How the deciding model reached its output, feature by feature.

    Log-odds (exact): ``expected_log_odds + sum(contributions.log_odds) + rest_log_odds ==
    output_log_odds`` up to ``additivity_error_log_odds``. Probability (approximate): every
    log-odds contribution is scaled by ``(output_proba - expected_proba) / (output_log_odds -
    expected_log_odds)``, so the ``proba`` figures keep their signs and order and add up to
    ``output_proba - expected_proba`` exactly; they are not the Shapley values of the
    probability, which depend on how the features interact through the logistic link.
    """

    method: AttributionMethod
    model_name: str
    model_version: str
    framework: str = Field(description="xgboost, lightgbm or river")
    expected_log_odds: float = Field(
        description="Base value: the model's expected raw output (TreeSHAP: over its training "
        "data; linear: at the scaler's running means), log-odds"
    )
    output_log_odds: float = Field(description="The model's raw output for this transaction")
    expected_proba: float = Field(ge=0.0, le=1.0, description="sigmoid(expected_log_odds)")
    output_proba: float = Field(ge=0.0, le=1.0, description="sigmoid(output_log_odds)")
    contributions: list[FeatureContribution] = Field(
        description="The largest contributions by absolute log-odds, largest first"
    )
    rest_log_odds: float = Field(description="Sum of the contributions not listed, log-odds")
    rest_proba: float = Field(description="Their approximate sum in probability terms")
    rest_count: int = Field(ge=0, description="How many contributions are not listed")
    additivity_error_log_odds: float = Field(
        ge=0.0, description="|expected + sum of all contributions - output|, log-odds"
    )
    proba_method: Literal["proportional"] = "proportional"
    recorded_score: float | None = Field(
        None, description="The score this model gave on the decision, as recorded by the scorer"
    )
    reproduced: bool = Field(
        description="output_proba equals recorded_score: the explained model is the deciding one"
    )


class RuleEvidence(WireModel):
    """A rule that fired, with what made it fire.

    Exposure rules (``direct_exposure``, ``indirect_exposure``) carry ``hops`` (0 direct),
    ``direction`` (value came from the category, or was paid to it), ``via_txid`` (the
    exposed transaction whose output was spent) and ``entities``; typology rules (coinjoin,
    peel chain, ...) leave those null and say what they saw in ``detail``.
    """

    rule: str
    category: str
    share_of_value: float = Field(ge=0.0, le=1.0, description="Share of the value involved")
    addresses: list[str] = Field(default_factory=list)
    hops: int | None = Field(None, ge=0)
    direction: Literal["from", "to"] | None = None
    via_txid: str | None = None
    entities: list[str] = Field(default_factory=list)
    detail: str = ""


class Narrative(WireModel):
    """The narrative, who wrote it, and what it cost."""

    text: str
    path: NarrativePath
    fallback_reason: str | None = Field(
        None, description="Why the template was used: no key, timeout, overload, rejected, ..."
    )
    model: str | None = Field(None, description="The Claude model asked, when it was asked")
    latency_ms: float = Field(
        ge=0.0, description="Time to produce the narrative, fallback included"
    )
    input_tokens: int | None = Field(None, ge=0, description="Claude input tokens, when asked")
    output_tokens: int | None = Field(None, ge=0, description="Claude output tokens, when asked")
    rejected_citations: list[str] = Field(
        default_factory=list,
        description="What Claude's text cited that the evidence does not hold (it was rejected)",
    )


class ExplainedTransaction(WireModel):
    """A decision with its reasons (subject ``chainwatch.tx.explained``), stored before publish."""

    schema_version: Literal[1] = 1
    txid: Txid
    explained_at: AwareDatetime
    decided_at: AwareDatetime
    risk_score: float = Field(ge=0.0, le=1.0)
    band: RiskBand
    flagged: bool
    deciding_tier: Tier
    decision_reason: str = ""
    decision_row_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="row_hash of the decision's audit row, hex"
    )
    attribution: ModelAttribution | None = Field(
        None, description="For batch and online decisions; null for the rules' decisions"
    )
    attribution_note: str = Field("", description="Why there is no attribution, when there is none")
    rules: list[RuleEvidence] = Field(default_factory=list)
    evidence: str = Field(description="The evidence document the narrative was written from")
    narrative: Narrative
