"""The promotion gate's rules, each on its own."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainwatch.trainer.gate import Champion, decide


def figures(pr_auc: float | None, positives: int = 10, prevalence: float = 0.01) -> dict[str, Any]:
    return {"pr_auc": pr_auc, "positives": positives, "prevalence": prevalence}


SCORES = np.linspace(0.0, 1.0, 50)


def test_first_candidate_with_skill_is_promoted() -> None:
    decision = decide(SCORES, figures(0.6), champion=None)

    assert decision.promote
    assert "first promotion" in decision.notes[0]


def test_worse_than_the_champion_on_the_same_rows_is_refused() -> None:
    champion = Champion("v1", comparable=True, metrics=figures(0.8))

    decision = decide(SCORES, figures(0.5), champion)

    assert not decision.promote
    assert "worse than the serving v1's 0.8000" in decision.reasons[0]
    assert decision.champion_version == "v1"


def test_within_tolerance_of_the_champion_passes() -> None:
    decision = decide(SCORES, figures(0.795), Champion("v1", True, figures(0.8)))

    assert decision.promote


def test_chance_level_too_few_positives_and_broken_scores_are_refused() -> None:
    assert not decide(SCORES, figures(0.015, prevalence=0.01), None).promote
    assert "too few to judge" in decide(SCORES, figures(0.9, positives=2), None).reasons[0]
    assert "learned nothing" in decide(np.full(50, 0.3), figures(0.9), None).reasons[0]
    assert "not probabilities" in decide(np.array([np.nan, 0.5]), figures(0.9), None).reasons[0]


def test_champion_on_another_feature_set_is_noted_not_compared() -> None:
    champion = Champion("v0", comparable=False, metrics=None, note="trained on feature set x")

    decision = decide(SCORES, figures(0.4), champion)

    assert decision.promote
    assert "not comparable" in decision.notes[0]
