"""The template narrative: deterministic, built from the evidence alone, good enough to file.

It is what every narrative is on a fresh machine (no Claude key), and what replaces Claude's
whenever that fails or is rejected. It writes every figure with the same formatting as the
evidence document, so it passes the same citation check as Claude's text (a test holds it to
that on real transactions).
"""

from __future__ import annotations

from collections.abc import Sequence

from chainwatch.explainer import formats as fmt
from chainwatch.explainer.evidence import METHOD_WORDS, address_list
from chainwatch.shared.explanations import FeatureContribution, ModelAttribution, RuleEvidence
from chainwatch.shared.schemas import ScoredTransaction, Tier

RAISING_SHOWN = 3
LOWERING_SHOWN = 2


def template_narrative(
    decision: ScoredTransaction,
    rules: Sequence[RuleEvidence],
    attribution: ModelAttribution | None,
    attribution_note: str = "",
) -> str:
    """A narrative of ``decision`` in plain sentences: decision, exposure, model, transaction."""
    sentences = [_opening(decision)]
    exposure = [r for r in rules if r.hops is not None]
    typologies = [r for r in rules if r.hops is None]
    if any(r.category == "sanctions" and r.hops == 0 for r in exposure):
        sentences.append(
            "Direct sanctions exposure is a hard override in the screening policy: the band is "
            "Severe whatever the models say."
        )
    sentences += [_exposure(r) for r in exposure]
    if typologies:
        sentences.append("Its shape matches " + "; ".join(_typology(r) for r in typologies) + ".")
    if not rules:
        sentences.append("No rule fired on it.")
    if attribution is not None:
        sentences += _attribution(attribution)
    elif decision.deciding_tier != Tier.HEURISTIC:
        sentences.append(f"No model attribution is available: {attribution_note}.")
    sentences.append(_transaction(decision))
    sentences.append(
        "An analyst should review the exposure and the counterparties before the funds are "
        "released."
        if decision.flagged
        else "It is below the review threshold."
    )
    return " ".join(sentences)


def _opening(decision: ScoredTransaction) -> str:
    status = "was flagged for analyst review" if decision.flagged else "was screened"
    reason = decision.decision_reason or "no reason recorded"
    return (
        f"Transaction {decision.txid} {status} on {fmt.timestamp(decision.decided_at)} with a "
        f"risk score of {fmt.score_and_percent(decision.risk_score)}, band "
        f"{decision.band.value}; the {decision.deciding_tier.value} tier decided ({reason})."
    )


def _exposure(rule: RuleEvidence) -> str:
    category = fmt.category(rule.category)
    verb = "was paid to" if rule.direction == "to" else "came from"
    distance = "directly" if rule.hops == 0 else f"through {rule.hops} hops"
    via = f", via transaction {rule.via_txid}" if rule.via_txid else ""
    entities = f" (entities: {', '.join(rule.entities)})" if rule.entities else ""
    addresses = f": {address_list(rule.addresses)}" if rule.addresses else ""
    return (
        f"{fmt.percent(rule.share_of_value)} of its value {verb} addresses labelled {category} "
        f"{distance}{via}{entities}{addresses}."
    )


def _typology(rule: RuleEvidence) -> str:
    detail = f"{rule.detail}; " if rule.detail else ""
    return (
        f"the {fmt.category(rule.category)} typology ({detail}share of value "
        f"{fmt.percent(rule.share_of_value)})"
    )


def _attribution(a: ModelAttribution) -> list[str]:
    role = "online" if a.method.value == "linear" else "batch"
    sentences = [
        f"The {role} model {a.model_name} version {a.model_version} decided: it gave a "
        f"probability of {fmt.percent(a.output_proba)} (log-odds {fmt.log_odds(a.output_log_odds)}"
        f" against a base value of {fmt.log_odds(a.expected_log_odds)}; attribution by "
        f"{METHOD_WORDS[a.method.value]})."
    ]
    raising = [c for c in a.contributions if c.log_odds > 0][:RAISING_SHOWN]
    lowering = [c for c in a.contributions if c.log_odds < 0][:LOWERING_SHOWN]
    if raising:
        sentences.append(f"What raised it most: {_contributions(raising)}.")
    if lowering:
        sentences.append(f"What lowered it most: {_contributions(lowering)}.")
    if raising or lowering:
        sentences.append(
            "The log-odds contributions are exact; the percentage points are an approximation."
        )
    if not a.reproduced:
        sentences.append(
            "Recomputing the model did not reproduce the score it recorded on the decision; "
            "this attribution must be treated with care."
        )
    return sentences


def _contributions(contributions: Sequence[FeatureContribution]) -> str:
    return ", ".join(
        f"{c.value_text} ({fmt.log_odds(c.log_odds)} log-odds, {fmt.points(c.proba)})"
        for c in contributions
    )


def _transaction(decision: ScoredTransaction) -> str:
    inputs = f"{decision.input_count} input" + ("s" if decision.input_count != 1 else "")
    outputs = f"{decision.output_count} output" + ("s" if decision.output_count != 1 else "")
    if decision.fee is None:
        fee = "an unknown fee"
    else:
        fee = f"a fee of {fmt.amount(decision.fee)}"
        rate = decision.features.get("fee_rate_sat_vb")
        if rate is not None:
            fee += f" ({fmt.fee_rate(rate)})"
    return f"It moves {fmt.amount(decision.value_out)} in {inputs} and {outputs}, paying {fee}."
