"""Consumer lag as Prometheus gauges, read from JetStream's own count of what is pending.

``chainwatch_consumer_pending_messages{stream, durable}`` is how many messages of the stream
the durable consumer has not been handed yet (``num_pending``);
``chainwatch_consumer_ack_pending_messages`` how many it was handed and has not acknowledged.
Every replica of a service reports the same durable, so a dashboard or an autoscaler takes the
maximum (or the average) over replicas, not the sum. The Kubernetes autoscalers of the scorer
and the explainer scale on the first (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
from nats.js import JetStreamContext
from prometheus_client import Gauge

logger = logging.getLogger(__name__)

PENDING = Gauge(
    "chainwatch_consumer_pending_messages",
    "Messages of the stream not yet delivered to the durable consumer",
    ["stream", "durable"],
)
ACK_PENDING = Gauge(
    "chainwatch_consumer_ack_pending_messages",
    "Messages delivered to the durable consumer and not acknowledged yet",
    ["stream", "durable"],
)
INTERVAL_S = 5.0


async def track(
    js: JetStreamContext, stream: str, durable: str, interval_s: float = INTERVAL_S
) -> None:
    """Update the gauges every ``interval_s`` until cancelled; a failed read keeps the last."""
    while True:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            info = await js.consumer_info(stream, durable)
            PENDING.labels(stream, durable).set(info.num_pending or 0)
            ACK_PENDING.labels(stream, durable).set(info.num_ack_pending or 0)
        await asyncio.sleep(interval_s)
