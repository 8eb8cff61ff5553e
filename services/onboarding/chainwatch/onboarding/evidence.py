"""The evidence of an onboarding decision: everything a narrative may say, and nothing else.

A plain-text document with fixed headings and one fact per line: the decision, the
threshold and costs behind it, the attributes the model used (protected attributes kept
out of the model are not in it, so no narrative can mention them) and the reasons with their
log-odds. A narrative is written from this document only, and a narrative that cites
anything the document does not hold is rejected for the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chainwatch.shared.onboarding import Outcome, Reason

MAX_REASONS = 6
"""Reasons written out in the narrative; the evidence lists them all."""


@dataclass(frozen=True)
class DecisionFacts:
    """What a narrative is written from."""

    outcome: Outcome
    risk_proba: float
    threshold: float
    cost_bad_accepted: float
    cost_good_refused: float
    base_log_odds: float
    output_log_odds: float
    reasons: Sequence[Reason]
    model_name: str
    model_version: str


def proba_text(value: float) -> str:
    return f"{value:.3f}"


def log_odds_text(value: float) -> str:
    return f"{value:+.2f}"


def evidence_document(facts: DecisionFacts) -> str:
    """The evidence document of ``facts``."""
    refused = facts.outcome is Outcome.REFUSE
    lines = [
        "DECISION",
        f"outcome: {facts.outcome.value}",
        f"probability of a bad risk (calibrated): {proba_text(facts.risk_proba)}",
        f"threshold: {proba_text(facts.threshold)} (refused at or above it)",
        f"the probability is {'at or above' if refused else 'below'} the threshold",
        f"cost of accepting a bad applicant: {facts.cost_bad_accepted:g}",
        f"cost of refusing a good applicant: {facts.cost_good_refused:g}",
        f"model: {facts.model_name} version {facts.model_version}",
        "",
        "APPLICANT (the attributes the model uses)",
        *(f"{r.label}: {r.value_text}" for r in facts.reasons),
        "",
        "REASONS (exact TreeSHAP contributions to the log-odds of a bad risk; positive "
        "raises the risk)",
        f"base log-odds: {log_odds_text(facts.base_log_odds)}",
        f"applicant's log-odds: {log_odds_text(facts.output_log_odds)}",
        *(
            f"{n}. {r.label} = {r.value_text}: {log_odds_text(r.log_odds)} log-odds "
            f"({'raises' if r.log_odds > 0 else 'lowers'} the risk)"
            for n, r in enumerate(facts.reasons, 1)
        ),
    ]
    return "\n".join(lines)


def template_narrative(facts: DecisionFacts) -> str:
    """A fixed-form narrative of ``facts``: every figure in it is in the evidence."""
    refused = facts.outcome is Outcome.REFUSE
    raising = [r for r in facts.reasons if r.log_odds > 0][:MAX_REASONS]
    lowering = [r for r in facts.reasons if r.log_odds < 0][:MAX_REASONS]
    ratio = facts.cost_bad_accepted / facts.cost_good_refused
    opening = (
        f"The applicant was {'refused' if refused else 'accepted'}: the model puts the "
        f"probability of a bad risk at {proba_text(facts.risk_proba)}, "
        f"{'at or above' if refused else 'below'} the threshold of "
        f"{proba_text(facts.threshold)}. The threshold is set where refusing costs less than "
        f"accepting, since accepting a bad applicant costs {ratio:g} times as much as "
        f"refusing a good one."
    )
    parts = [opening]
    if raising:
        parts.append(f"What raised the risk most: {_listed(raising)}.")
    if lowering:
        parts.append(f"What lowered it most: {_listed(lowering)}.")
    parts.append("Figures in brackets are contributions in log-odds.")
    return " ".join(parts)


def _listed(reasons: Sequence[Reason]) -> str:
    return "; ".join(f"{r.label} {r.value_text} ({log_odds_text(r.log_odds)})" for r in reasons)
