"""ADWIN wiring: rises are reported with their sub-windows, falls and noise are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from chainwatch.drift.adwin import Rise, RisingMean
from chainwatch.drift.rates import AnomalyRate, TierErrors
from chainwatch.shared.drift import DriftKind
from chainwatch.shared.schemas import Tier

START = datetime(2026, 1, 1, tzinfo=UTC)


def _feed(detector: RisingMean, values: np.ndarray) -> list[tuple[int, Rise]]:
    """Feed values in order; return (sequence, rise) of every reported rise."""
    rises = []
    for seq, value in enumerate(values, start=1):
        rise = detector.update(float(value), seq, START + timedelta(seconds=seq))
        if rise is not None:
            rises.append((seq, rise))
    return rises


def test_a_rise_is_reported_soon_after_it_happens_with_both_sub_windows() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate((rng.random(1000) < 0.1, rng.random(500) < 0.6)).astype(float)
    detector = RisingMean(delta=0.002, min_increase=0.25)

    rises = _feed(detector, values)

    assert rises, "no rise found"
    seq, rise = rises[0]
    assert 1000 < seq <= 1000 + 150
    assert rise.increase >= 0.25 and rise.before < 0.15
    assert rise.older.first_seq < rise.older.last_seq < rise.newer.first_seq
    assert rise.newer.last_seq == seq
    assert rise.older.size + rise.newer.size <= seq


def test_a_fall_is_seen_by_adwin_but_not_reported() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate((rng.random(1000) < 0.6, rng.random(500) < 0.1)).astype(float)
    detector = RisingMean(delta=0.002, min_increase=0.25)

    assert _feed(detector, values) == []
    assert detector.last_change is not None and detector.last_change.increase < 0


def test_a_stationary_stream_raises_nothing() -> None:
    rng = np.random.default_rng(3)
    detector = RisingMean(delta=0.002, min_increase=0.1)

    assert _feed(detector, (rng.random(20_000) < 0.3).astype(float)) == []


def test_a_rise_smaller_than_the_minimum_is_not_drift() -> None:
    rng = np.random.default_rng(4)
    values = np.concatenate((rng.random(3000) < 0.2, rng.random(3000) < 0.3)).astype(float)

    assert _feed(RisingMean(delta=0.002, min_increase=0.25), values) == []
    assert _feed(RisingMean(delta=0.002, min_increase=0.05), values)


def test_anomaly_rate_counts_scores_above_the_threshold_and_skips_unscored() -> None:
    rate = AnomalyRate(threshold=0.8, delta=0.002, min_increase=0.25)
    rng = np.random.default_rng(5)
    scores = [None] * 250 + list(rng.uniform(0.0, 0.85, 800)) + list(rng.uniform(0.7, 1.0, 300))

    results = [
        r
        for seq, score in enumerate(scores, start=1)
        if (r := rate.update(score, seq, START)) is not None
    ]

    assert results and results[0].kind == DriftKind.ANOMALY
    assert results[0].findings[0].subject == "anomaly_rate"
    assert results[0].window.first_seq > 1050 - 800
    assert rate.detector.width <= 1100


def test_tier_errors_rise_for_the_batch_tier_only_and_reset_on_a_new_model() -> None:
    errors = TierErrors(delta=0.002, min_increase=0.1)
    rng = np.random.default_rng(6)
    found = []
    for seq in range(1, 1201):
        label = int(rng.random() < 0.5)
        batch_score = label * 0.9 + 0.05 if seq <= 800 else 1.0 - label  # batch turns wrong
        online_score = label * 0.8 + 0.1
        for tier, score in ((Tier.BATCH, batch_score), (Tier.ONLINE, online_score)):
            result = errors.update(tier, label, score, seq, START)
            if result is not None:
                found.append(result)

    assert found and {r.tier for r in found} == {Tier.BATCH}
    assert found[0].kind == DriftKind.PERFORMANCE
    assert found[0].findings[0].subject == "batch_error"
    assert found[0].findings[0].window_value is not None
    assert found[0].findings[0].window_value > 0.5

    errors.reset(Tier.BATCH)
    assert errors.detectors[Tier.BATCH].width == 0
