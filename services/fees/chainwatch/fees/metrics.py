"""Prometheus metrics of the fees service (served on its health port at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ESTIMATES = Counter("chainwatch_fees_estimates_total", "Estimates published, by method", ["method"])
TEMPLATE_SECONDS = Histogram(
    "chainwatch_fees_template_seconds",
    "Time to project the next blocks from the mempool",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
MEMPOOL_TXS = Gauge("chainwatch_fees_mempool_txs", "Transactions in the tracked mempool")
NEXT_BLOCK_OUTCOMES = Counter(
    "chainwatch_fees_next_block_outcomes_total",
    "Mined blocks by how the next-block rate recommended before them fared",
    ["outcome"],
)
MODEL_LOADED = Gauge(
    "chainwatch_fees_model_loaded", "1 for the fee model version served", ["version"]
)
MESSAGES_FAILED = Counter(
    "chainwatch_fees_messages_failed_total", "Messages dead-lettered, by subject", ["subject"]
)
