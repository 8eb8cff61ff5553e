"""Prometheus metrics of the ingest service (served on its health port at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

PUBLISHED = Counter(
    "chainwatch_ingest_published_total",
    "Messages JetStream stored, by subject (transactions and events)",
    ["subject"],
)
DUPLICATES = Counter(
    "chainwatch_ingest_duplicates_total",
    "Publishes JetStream acknowledged as repeats of a stored message id",
    ["subject"],
)
DEAD_LETTERED = Counter(
    "chainwatch_ingest_dead_lettered_total", "Records and messages sent to the dead-letter subject"
)
SOURCE_CONNECTS = Counter(
    "chainwatch_ingest_source_connects_total", "Websocket connections opened to the source"
)
SOURCE_DISCONNECTS = Counter(
    "chainwatch_ingest_source_disconnects_total", "Websocket connections lost or refused"
)
REST_REQUESTS = Counter(
    "chainwatch_ingest_rest_requests_total",
    "REST requests to the source, by outcome (ok, failed, rate_limited)",
    ["outcome"],
)
