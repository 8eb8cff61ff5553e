"""Prediction drift: scores and flag rate against what the serving model produced first."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from chainwatch.drift.prediction import PredictionDrift
from chainwatch.drift.window import Observation

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _observation(seq: int, score: float, version: str | None = None) -> Observation:
    return Observation(seq, NOW, (), score, score >= 0.6, None, version)


def _drift() -> PredictionDrift:
    return PredictionDrift(
        bootstrap_size=150, bins=10, psi_threshold=0.25, alpha=0.01,
        flag_rate_min_change=0.05, min_window=100,
    )  # fmt: skip


def test_scores_that_rise_after_the_reference_are_drift_and_say_how_much() -> None:
    rng = np.random.default_rng(1)
    drift = _drift()
    calm = [_observation(i, s) for i, s in enumerate(rng.beta(1, 12, 150), start=1)]
    for o in calm:
        drift.observe(o)
    steady = [_observation(150 + i, s) for i, s in enumerate(rng.beta(1, 12, 200), start=1)]
    risen = [_observation(350 + i, s) for i, s in enumerate(rng.beta(4, 3, 200), start=1)]

    quiet = drift.check(steady)
    loud = drift.check(risen)

    assert quiet is not None and not quiet.drifted
    assert loud is not None and loud.drifted
    subjects = {f.subject: f for f in loud.findings}
    assert {"risk_score", "flag_rate"} <= set(subjects)
    flag = subjects["flag_rate"]
    assert flag.reference_value is not None and flag.window_value is not None
    assert flag.window_value - flag.reference_value > 0.3


def test_a_comparison_never_straddles_a_change_of_model() -> None:
    rng = np.random.default_rng(2)
    drift = _drift()
    drift.restart("v2")  # promoted; the scorer still decides with v1 for a while
    old_model = [_observation(i, s, "v1") for i, s in enumerate(rng.beta(4, 3, 100), start=1)]
    new_model = [
        _observation(100 + i, s, "v2") for i, s in enumerate(rng.beta(1, 12, 260), start=1)
    ]
    for o in old_model + new_model:
        drift.observe(o)

    assert drift.info is not None and drift.info.window is not None
    assert drift.info.window.first_seq == 101  # the bootstrap skipped v1's decisions
    assert drift.check(old_model + new_model[:150]) is None  # nothing after the reference yet
    result = drift.check((old_model + new_model)[-200:])  # 110 after the reference
    assert result is not None and not result.drifted
    assert result.window.first_seq > 250
