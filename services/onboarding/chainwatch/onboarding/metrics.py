"""Prometheus metrics of the onboarding service (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "chainwatch_onboarding_requests_total",
    "Requests by channel and result: accept, refuse, invalid, no_model, unavailable, error",
    ["channel", "result"],
)
NARRATIVES = Counter(
    "chainwatch_onboarding_narratives_total", "Narratives by who wrote them", ["path"]
)
DECISION_SECONDS = Histogram(
    "chainwatch_onboarding_decision_seconds",
    "From a valid request to its recorded decision, seconds (narrative included)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
)
MODEL_VERSION = Gauge(
    "chainwatch_onboarding_model_version", "1 for the model version that serves", ["version"]
)
