"""The ADWIN-based detectors: the anomaly rate of decisions, and tier errors on verdicts.

Each turns a ``Rise`` of its ``RisingMean`` into a ``CheckResult`` whose evidence names the
two sub-windows ADWIN compared (older and newer), their means, and the rise.
"""

from __future__ import annotations

from datetime import datetime

from chainwatch.drift.adwin import Rise, RisingMean
from chainwatch.drift.checks import CheckResult
from chainwatch.shared.drift import DriftFinding, DriftKind
from chainwatch.shared.schemas import Tier

MONITORED_TIERS = (Tier.ONLINE, Tier.BATCH)


def rise_result(kind: DriftKind, subject: str, rise: Rise, tier: Tier | None = None) -> CheckResult:
    finding = DriftFinding(
        subject=subject,
        test="adwin",
        statistic=rise.increase,
        reference_value=rise.before,
        window_value=rise.after,
    )
    return CheckResult(
        kind=kind,
        drifted=True,
        summary=(
            f"{subject} rose from {rise.before:.3f} over {rise.older.size} to {rise.after:.3f} "
            f"over the last {rise.newer.size}"
        ),
        window=rise.newer,
        findings=[finding],
        figures={
            subject: {"before": rise.before, "after": rise.after, "older_size": rise.older.size}
        },
        headline=rise.after,
        tier=tier,
    )


class AnomalyRate:
    """The share of decisions whose anomaly score is at least ``threshold``, under ADWIN."""

    def __init__(self, threshold: float, delta: float, min_increase: float) -> None:
        self.threshold = threshold
        self.detector = RisingMean(delta, min_increase)

    def update(self, anomaly_score: float | None, seq: int, at: datetime) -> CheckResult | None:
        if anomaly_score is None:
            return None
        unusual = 1.0 if anomaly_score >= self.threshold else 0.0
        rise = self.detector.update(unusual, seq, at)
        return None if rise is None else rise_result(DriftKind.ANOMALY, "anomaly_rate", rise)


class TierErrors:
    """Each monitored tier's absolute error on analysts' verdicts, under ADWIN."""

    def __init__(self, delta: float, min_increase: float) -> None:
        self.detectors = {tier: RisingMean(delta, min_increase) for tier in MONITORED_TIERS}

    def reset(self, tier: Tier) -> None:
        """A new model serves the tier: its errors are a new stream."""
        self.detectors[tier].reset()

    def update(
        self, tier: Tier, label: int, score: float, seq: int, at: datetime
    ) -> CheckResult | None:
        rise = self.detectors[tier].update(abs(label - score), seq, at)
        if rise is None:
            return None
        return rise_result(DriftKind.PERFORMANCE, f"{tier.value}_error", rise, tier)
