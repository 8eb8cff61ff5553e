"""The txids ingest has already published, remembered across reconnects and restarts.

A transaction reaches ingest more than once: in a mempool delta and again in the block that
mines it, in a resynchronisation after a reconnect, or after a restart. JetStream drops a
repeated ``Nats-Msg-Id`` only within the stream's duplicate window (two hours), and only
after the message crossed the network. This set stops repeats before that, and for longer.

It needs no store of its own: the ``chainwatch.tx.raw`` stream already is the record of what
was published. At start-up the set is filled with the message ids of the stream's last
``lookback_s`` seconds, read headers-only. In memory it keeps the newest ``capacity`` txids.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.shared import bus, subjects

logger = logging.getLogger(__name__)


class SeenTxids:
    """A bounded set of txids, oldest forgotten first."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._txids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, txid: object) -> bool:
        return txid in self._txids

    def __len__(self) -> int:
        return len(self._txids)

    def add(self, txid: str) -> bool:
        """Remember ``txid``; True when it is new."""
        if txid in self._txids:
            return False
        self._txids[txid] = None
        if len(self._txids) > self.capacity:
            self._txids.popitem(last=False)
        return True

    def discard(self, txid: str) -> None:
        self._txids.pop(txid, None)

    async def load_from_stream(
        self,
        js: JetStreamContext,
        lookback_s: float,
        *,
        subject: str = subjects.TX_RAW,
        stream: str = subjects.TX_RAW_STREAM.name,
        batch_size: int = 2_000,
    ) -> int:
        """Add the message ids published on ``subject`` in the last ``lookback_s``.

        Returns how many were added. The same works for any subject whose message id is the
        key to remember (block hashes on ``chainwatch.block.connected``).
        """
        started_s = time.monotonic()
        since = datetime.now(UTC) - timedelta(seconds=lookback_s)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            inactive_threshold=30.0,
        )
        sub = await js.pull_subscribe(subject, stream=stream, config=config)
        loaded = 0
        try:
            pending = (await sub.consumer_info()).num_pending
            while pending:
                try:
                    msgs = await sub.fetch(batch_size, timeout=1.0)
                except nats.errors.TimeoutError:
                    break
                for msg in msgs:
                    txid = msg.headers.get(bus.MSG_ID_HEADER) if msg.headers else None
                    if txid and self.add(txid):
                        loaded += 1
                pending = msgs[-1].metadata.num_pending if msgs else 0
        finally:
            await sub.unsubscribe()
        logger.info(
            "remembered %d ids published on %s in the last %.0fs (%.1fs)",
            loaded,
            subject,
            lookback_s,
            time.monotonic() - started_s,
        )
        return loaded
