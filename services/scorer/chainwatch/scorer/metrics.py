"""Prometheus metrics of the scorer (served on its health port at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter(
    "chainwatch_scorer_decisions_total",
    "Decisions made, by band and deciding tier",
    ["band", "tier"],
)
AUDIT_ROWS = Counter(
    "chainwatch_scorer_audit_rows_total", "Audit rows written (repeats of a txid excluded)"
)
BATCH_SECONDS = Histogram(
    "chainwatch_scorer_batch_seconds",
    "Time to decide, audit and publish one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DECISION_LATENCY_SECONDS = Histogram(
    "chainwatch_scorer_decision_latency_seconds",
    "From ingest's observation of a transaction to its decision",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 1.0, 5.0),
)
BATCH_SIZE = Histogram(
    "chainwatch_scorer_batch_size", "Messages per batch", buckets=(1, 8, 32, 64, 128, 256, 512)
)
MODEL_VERSION = Gauge(
    "chainwatch_scorer_model_loaded",
    "1 for the model version each tier serves",
    ["tier", "version"],
)
