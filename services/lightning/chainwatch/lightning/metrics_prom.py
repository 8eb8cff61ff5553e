"""Prometheus metrics of the lightning service (served at /metrics on its HTTP port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REPORTS = Counter("chainwatch_lightning_reports_total", "Health reports published", ["outcome"])
HEALTH_SCORE = Gauge(
    "chainwatch_lightning_health_score", "Health score of each snapshot, 0-100", ["snapshot"]
)
ANOMALIES = Gauge(
    "chainwatch_lightning_anomalies",
    "Anomalies found against each snapshot's baseline, by kind",
    ["snapshot", "kind"],
)
ANALYSIS_SECONDS = Histogram(
    "chainwatch_lightning_analysis_seconds",
    "Time to analyse one snapshot",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
