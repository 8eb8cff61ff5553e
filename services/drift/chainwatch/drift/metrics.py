"""Prometheus metrics of the drift service (served on its health port at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter("chainwatch_drift_decisions_total", "Decisions observed")
VERDICTS = Counter("chainwatch_drift_verdicts_total", "Verdicts with a label observed")
CHECKS = Counter(
    "chainwatch_drift_checks_total", "Checks run, by kind and outcome", ["kind", "drifted"]
)
EVENTS = Counter("chainwatch_drift_events_total", "Drift events published, by kind", ["kind"])
HEADLINE = Gauge(
    "chainwatch_drift_headline",
    "Latest headline figure per kind: largest PSI (feature, prediction) or ADWIN mean",
    ["kind"],
)
BOOTSTRAPPING = Gauge(
    "chainwatch_drift_bootstrapping", "1 while the feature reference is being bootstrapped"
)
RETRAIN_STEPS = Counter(
    "chainwatch_drift_retrain_steps_total", "Retraining steps recorded, by step", ["step"]
)
DRIFT_TO_SERVING_SECONDS = Histogram(
    "chainwatch_drift_to_serving_seconds",
    "From a retraining request on drift to the first decision by the promoted model",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)
