"""Reasons for a score: each attribute the model uses, its value in words and its weight.

A reason's ``log_odds`` is the attribute's exact TreeSHAP contribution to the calibrated
log-odds of a bad risk (``model.Score``): positive raises the risk, negative lowers it, and
with the base log-odds they add up to the applicant's log-odds. They are not contributions
to the probability, which is a non-linear function of their sum.
"""

from __future__ import annotations

from chainwatch.onboarding.attributes import BY_NAME
from chainwatch.onboarding.model import Score
from chainwatch.shared.onboarding import Applicant, Reason


def reasons(score: Score, applicant: Applicant) -> list[Reason]:
    """Every contribution of ``score`` as a reason, largest absolute log-odds first."""
    found = []
    for name, log_odds in score.contributions.items():
        attribute = BY_NAME[name]
        value = getattr(applicant, name)
        wire_value = value if isinstance(value, bool | int) else str(value)
        found.append(
            Reason(
                attribute=name,
                label=attribute.label,
                value=wire_value,
                value_text=attribute.value_text(wire_value),
                log_odds=log_odds,
                effect="raises_risk" if log_odds > 0 else "lowers_risk",
            )
        )
    return sorted(found, key=lambda r: abs(r.log_odds), reverse=True)
