"""The promotion gate: may this candidate replace the model that serves now?

A candidate is judged on the held-out window, and so is the serving model of the same name
(its champion), on the very same rows. The candidate is refused, with every reason that
applies, when:

1. its scores are not probabilities (NaN, outside [0, 1]) or do not vary at all;
2. the held-out window holds fewer than ``min_positives`` positives: nothing can be judged;
3. its PR-AUC is below ``min_lift`` times the held-out prevalence (a model with no skill
   scores the prevalence);
4. a champion serves, was trained on the same feature set, and the candidate's PR-AUC is
   more than ``tolerance`` below the champion's on the same rows.

A champion trained on another feature set cannot be scored on these rows; the decision
says so and rests on rules 1 to 3. No champion at all is the first promotion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class GateParams:
    min_positives: int = 5
    min_lift: float = 2.0
    tolerance: float = 0.01
    """Absolute PR-AUC a candidate may lose to the champion (noise between equal models)."""


DEFAULT_GATE = GateParams()


@dataclass(frozen=True)
class Champion:
    """The serving version of a model, as the gate sees it."""

    version: str
    comparable: bool
    metrics: dict[str, Any] | None
    note: str = ""


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    champion_version: str | None = None
    champion_metrics: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "champion_version": self.champion_version,
            "champion_metrics": self.champion_metrics,
        }


def decide(
    scores: npt.NDArray[np.float64],
    metrics: dict[str, Any],
    champion: Champion | None,
    params: GateParams = DEFAULT_GATE,
) -> GateDecision:
    """Judge a candidate by its held-out ``scores`` and ``metrics`` (see ``metrics.evaluate``)."""
    refusals: list[str] = []
    notes: list[str] = []

    if not np.all(np.isfinite(scores)) or np.any((scores < 0) | (scores > 1)):
        refusals.append("scores are not probabilities: NaN or outside [0, 1]")
    elif len(scores) and float(np.ptp(scores)) == 0.0:
        refusals.append(f"every held-out score is {scores[0]:.4f}: the model learned nothing")

    positives, pr_auc, prevalence = metrics["positives"], metrics["pr_auc"], metrics["prevalence"]
    if positives < params.min_positives:
        refusals.append(
            f"held-out window holds {positives} positives, fewer than {params.min_positives}: "
            "too few to judge"
        )
    elif pr_auc is not None and pr_auc < params.min_lift * prevalence:
        refusals.append(
            f"PR-AUC {pr_auc:.4f} is below {params.min_lift:g}x the prevalence "
            f"{prevalence:.4f}: no better than chance"
        )

    if champion is None:
        notes.append("no model serves yet: first promotion")
    elif not champion.comparable or champion.metrics is None:
        notes.append(f"champion {champion.version} not comparable: {champion.note}")
    else:
        theirs = champion.metrics["pr_auc"]
        if pr_auc is not None and theirs is not None and pr_auc < theirs - params.tolerance:
            refusals.append(
                f"PR-AUC {pr_auc:.4f} is worse than the serving {champion.version}'s "
                f"{theirs:.4f} on the same held-out window"
            )
        else:
            notes.append(
                f"PR-AUC {_fmt(pr_auc)} vs serving {champion.version}'s {_fmt(theirs)} "
                f"on the same window (tolerance {params.tolerance})"
            )

    return GateDecision(
        promote=not refusals,
        reasons=tuple(refusals) or ("passed every rule",),
        champion_version=champion.version if champion else None,
        champion_metrics=champion.metrics if champion else None,
        notes=tuple(notes),
    )


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"
