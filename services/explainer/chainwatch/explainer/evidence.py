"""The evidence document: everything a narrative may say about one decision, and nothing else.

It is built from the decision as published (and recorded in the audit trail), the rules that
fired and the model attribution, in plain text with fixed headings, one fact per line. Claude
is given this document and told to cite only it; ``citations.cite`` reads its facts back, and
a narrative citing anything else is rejected. It is published and stored with the
explanation, so a reader can check a narrative against exactly what its writer saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from chainwatch.explainer import formats as fmt
from chainwatch.explainer.citations import Citations, cite
from chainwatch.shared.explanations import ModelAttribution, RuleEvidence
from chainwatch.shared.schemas import ScoredTransaction, Tier, TierOutput

MAX_ADDRESSES = 10
"""Addresses listed per rule; the rest are counted."""

METHOD_WORDS = {
    "treeshap": "exact TreeSHAP",
    "linear": "logistic-regression terms (weight times standardised value)",
}


@dataclass(frozen=True)
class Evidence:
    """The document (``text``) and the facts read out of it (``facts``, read when first used:
    only a narrative from Claude needs checking)."""

    txid: str
    text: str

    @cached_property
    def facts(self) -> Citations:
        return cite(self.text)


def build_evidence(
    decision: ScoredTransaction,
    rules: Sequence[RuleEvidence],
    attribution: ModelAttribution | None,
    attribution_note: str = "",
) -> Evidence:
    lines = _decision(decision)
    lines += ["", "TIER OUTPUTS", *(_tier(t) for t in decision.tiers)]
    lines += ["", "TRANSACTION", *_transaction(decision)]
    lines += ["", "RULES THAT FIRED"]
    lines += [f"{n}. {rule_line(r)}" for n, r in enumerate(rules, 1)] or ["none"]
    lines += ["", "MODEL ATTRIBUTION"]
    lines += _attribution(attribution) if attribution else [f"none: {attribution_note}"]
    text = "\n".join(lines)
    return Evidence(decision.txid, text)


def rule_line(rule: RuleEvidence) -> str:
    """One rule in words: what fired, on which category, how far away, how much value."""
    category = fmt.category(rule.category)
    if rule.hops is None:
        head = f"typology {category} (rule {rule.rule}): {rule.detail}".rstrip(": ")
    else:
        verb = "came from" if rule.direction != "to" else "was paid to"
        kind = "direct" if rule.hops == 0 else "indirect"
        head = f"{kind} exposure to {category}: value {verb} addresses labelled {category}"
        head += "; hops: 0 (direct)" if rule.hops == 0 else f"; hops: {rule.hops}"
        if rule.via_txid:
            head += f"; via transaction {rule.via_txid}"
    parts = [head, f"share of value: {fmt.percent(rule.share_of_value)}"]
    if rule.addresses:
        parts.append(f"addresses: {address_list(rule.addresses)}")
    if rule.entities:
        parts.append(f"entities: {', '.join(rule.entities)}")
    return "; ".join(parts)


def address_list(addresses: Sequence[str]) -> str:
    shown = ", ".join(addresses[:MAX_ADDRESSES])
    more = len(addresses) - MAX_ADDRESSES
    return f"{shown} and {more} more" if more > 0 else shown


def _decision(decision: ScoredTransaction) -> list[str]:
    flagged = "yes" if decision.flagged else "no"
    return [
        "DECISION",
        f"txid: {decision.txid}",
        f"decided at: {fmt.timestamp(decision.decided_at)}",
        f"risk score: {fmt.score_and_percent(decision.risk_score)}",
        f"band: {decision.band.value}; flagged for analyst review: {flagged}",
        f"deciding tier: {decision.deciding_tier.value}",
        f"policy reason: {decision.decision_reason or 'not given'}",
    ]


def _tier(output: TierOutput) -> str:
    if output.model_version is None and output.tier != Tier.HEURISTIC:
        return f"- {output.tier.value} tier: did not score ({output.note})"
    model = f", model {output.model_version}" if output.model_version else ""
    score = fmt.score_and_percent(output.risk_score)
    return f"- {output.tier.value} tier{model}: score {score}; {output.note}".rstrip("; ")


def _transaction(decision: ScoredTransaction) -> list[str]:
    fee = "unknown" if decision.fee is None else fmt.amount(decision.fee)
    rate = decision.features.get("fee_rate_sat_vb")
    if rate is not None:
        fee += f"; fee rate {fmt.fee_rate(rate)}"
    anomaly = "not scored" if decision.anomaly_score is None else fmt.score(decision.anomaly_score)
    return [
        f"value out: {fmt.amount(decision.value_out)}",
        f"fee: {fee}",
        f"inputs: {decision.input_count}; outputs: {decision.output_count}; "
        f"virtual size: {decision.vsize:,} vB",
        f"anomaly score (unsupervised, 1 most unusual): {anomaly}",
    ]


def _attribution(a: ModelAttribution) -> list[str]:
    lines = [
        f"method: {METHOD_WORDS[a.method.value]} of model {a.model_name} version "
        f"{a.model_version} ({a.framework})",
        "units: log-odds figures are exact contributions to the model's raw output; "
        "percentage points are an approximation of the same in probability terms",
        f"base value: log-odds {fmt.log_odds(a.expected_log_odds)} "
        f"(probability {fmt.percent(a.expected_proba)})",
        f"model output: log-odds {fmt.log_odds(a.output_log_odds)} "
        f"(probability {fmt.percent(a.output_proba)})",
        "largest contributions:",
    ]
    for n, c in enumerate(a.contributions, 1):
        lines.append(
            f"{n}. {c.value_text}: {fmt.log_odds(c.log_odds)} log-odds ({fmt.points(c.proba)})"
        )
    if a.rest_count:
        lines.append(
            f"other {a.rest_count} features together: {fmt.log_odds(a.rest_log_odds)} log-odds "
            f"({fmt.points(a.rest_proba)})"
        )
    return lines
