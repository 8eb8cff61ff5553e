"""The detectors over the decision stream, wired together, with no I/O.

``DecisionMonitor.observe`` takes one decision at a time in stream order and returns what
happened: a bootstrap reference completed, checks ran, and which of them are events (their
``Alarm`` says drift began or persisted long enough). The service stores and publishes
those; tests feed real decisions straight in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainwatch.drift.checks import Alarm, CheckResult
from chainwatch.drift.feature_drift import FeatureDriftParams, check_features
from chainwatch.drift.prediction import PredictionDrift
from chainwatch.drift.rates import AnomalyRate
from chainwatch.drift.reference import ActiveReference, ReferenceTracker
from chainwatch.drift.settings import DriftSettings
from chainwatch.drift.window import DecisionWindow, Observation, feature_matrix, span
from chainwatch.shared.drift import DriftKind
from chainwatch.shared.features import FEATURE_NAMES
from chainwatch.shared.schemas import ScoredTransaction


@dataclass
class Observed:
    """What one decision caused: a new reference, checks, and the checks that are events."""

    references: list[ActiveReference] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    events: list[CheckResult] = field(default_factory=list)


def event_id(result: CheckResult) -> str:
    """A stable id: the same check of the same window against the same reference."""
    anchor = result.reference.reference_id if result.reference else (result.tier or "stream")
    return f"{result.kind.value}:{anchor}:{result.window.first_seq}-{result.window.last_seq}"


class DecisionMonitor:
    def __init__(self, settings: DriftSettings, names: Sequence[str] = FEATURE_NAMES) -> None:
        self.names = tuple(names)
        self.params = FeatureDriftParams(
            psi_threshold=settings.psi_threshold,
            alpha=settings.alpha,
            min_drifted_features=settings.min_drifted_features,
            exclude=frozenset(settings.exclude_features),
        )
        self.window = DecisionWindow(settings.window_size, settings.check_every)
        self.reference = ReferenceTracker(self.names, settings.bootstrap_size, settings.bins)
        self.predictions = PredictionDrift(
            settings.bootstrap_size,
            settings.bins,
            settings.psi_threshold,
            settings.alpha,
            settings.flag_rate_min_change,
            min_window=settings.window_size // 2,
        )
        self.anomaly = AnomalyRate(
            settings.anomaly_threshold, settings.anomaly_delta, settings.anomaly_min_increase
        )
        self.alarms = {
            kind: Alarm(settings.realert_s) for kind in (DriftKind.FEATURE, DriftKind.PREDICTION)
        }

    def champion_changed(
        self, name: str, version: str | None, card: Mapping[str, Any] | None, why: str = ""
    ) -> ActiveReference | None:
        """Re-base on the promoted champion (None: no champion serves any more)."""
        self.predictions.restart(version)
        if version is None or card is None:
            self.reference.bootstrap(why or f"no version of {name} serves")
            return None
        return self.reference.use_card(name, version, card)

    def observe(self, decision: ScoredTransaction, seq: int) -> Observed:
        observation = Observation.of(decision, seq, self.names)
        observed = Observed()

        completed = self.reference.observe(observation)
        if completed is not None:
            observed.references.append(completed)
        self.predictions.observe(observation)
        if self.window.add(observation):
            observed.checks.extend(self._check_window())
        observed.events = [
            r
            for r in observed.checks
            if r.kind in self.alarms
            and self.alarms[r.kind].should_report(
                r.drifted, r.reference.reference_id if r.reference else None, r.window.last_at
            )
        ]

        # Each rise ADWIN finds is a change of its own: an event whenever it happens.
        anomaly = self.anomaly.update(observation.anomaly_score, seq, observation.decided_at)
        if anomaly is not None:
            observed.checks.append(anomaly)
            observed.events.append(anomaly)
        return observed

    def _check_window(self) -> list[CheckResult]:
        observations = self.window.observations()
        results = []
        active = self.reference.active
        if active is not None:
            results.append(
                check_features(
                    active.features,
                    active.info,
                    feature_matrix(observations),
                    self.names,
                    span(observations),
                    self.params,
                )
            )
        prediction = self.predictions.check(observations)
        if prediction is not None:
            results.append(prediction)
        results.append(self._anomaly_figures(observations))
        return results

    def _anomaly_figures(self, observations: list[Observation]) -> CheckResult:
        """The window's share of unusual decisions, for the charts; ADWIN decides drift."""
        scored = [o.anomaly_score for o in observations if o.anomaly_score is not None]
        threshold = self.anomaly.threshold
        rate = sum(s >= threshold for s in scored) / len(scored) if scored else None
        return CheckResult(
            kind=DriftKind.ANOMALY,
            drifted=False,
            summary=f"{len(scored)} scored decisions in the window",
            window=span(observations),
            figures={"anomaly_rate": {"window": rate, "adwin_mean": self.anomaly.detector.mean}},
            headline=rate,
        )
