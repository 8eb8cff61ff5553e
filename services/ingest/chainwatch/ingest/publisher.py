"""Put normalised transactions on ``chainwatch.tx.raw``, many at a time, each exactly once.

Every source (replay, live) hands its records, and its events, to one ``TxPublisher``. A
record that does not normalise goes to ``chainwatch.deadletter.ingest`` with the reason. A
transaction is published with its txid as ``Nats-Msg-Id``, so JetStream stores a repeat of
it once; an event has a message id of its own that makes a repeat a duplicate too.

Publishing does not wait for each acknowledgement in turn (one round trip each caps a
single connection near 2 500 msg/s): up to ``max_in_flight`` publishes wait for their acks
together. A publish that fails for a reason a retry can fix (timeout, no stream, the bus
reconnecting) is retried with backoff until it is acknowledged or the publisher is closed;
the txid as message id makes the retry safe.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck
from pydantic import BaseModel

from chainwatch.ingest import metrics
from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.normalise import normalise
from chainwatch.shared import bus, subjects
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import RawTransaction, Transaction

logger = logging.getLogger(__name__)

STAGE = "ingest"
"""The stage name on dead letters: ``chainwatch.deadletter.ingest``."""

AckCallback = Callable[[Transaction, PubAck], None]


@dataclass
class PublishCounts:
    """What a publisher has done so far; counters only grow."""

    published: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    failed: int = 0

    @property
    def acknowledged(self) -> int:
        """Messages JetStream confirmed: stored now, or stored before (a duplicate)."""
        return self.published + self.duplicates


class TxPublisher:
    """Normalises records and publishes them on ``tx.raw`` with acknowledgements pipelined.

    ``on_ack`` is called once per transaction after JetStream acknowledged it (new or
    duplicate), which is when a source may count it as delivered.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        max_in_flight: int = 256,
        publish_timeout_s: float = 5.0,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 5.0,
        on_ack: AckCallback | None = None,
    ) -> None:
        self.js = js
        self.max_in_flight = max_in_flight
        self.publish_timeout_s = publish_timeout_s
        self.retry_delay_s = retry_delay_s
        self.max_retry_delay_s = max_retry_delay_s
        self.on_ack = on_ack
        self.counts = PublishCounts()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def submit_record(
        self, record: object, *, source: str, location: str, first_seen_ts: int | None = None
    ) -> Transaction | None:
        """Normalise ``record`` and publish it; dead-letter it instead when it is refused.

        Returns the transaction once its publish is in flight, None when it was refused.
        """
        try:
            tx = normalise(record, first_seen_ts=first_seen_ts)
        except NormaliseError as exc:
            payload = record if isinstance(record, bytes) else _encode(record)
            await self.reject(payload, exc, location=location)
            return None
        await self.submit(tx, source=source)
        return tx

    async def submit(self, tx: Transaction, *, source: str) -> None:
        """Start publishing ``tx``; waits first while ``max_in_flight`` publishes are pending."""
        message = RawTransaction(source=source, observed_at=datetime.now(UTC), tx=tx)
        await self.submit_event(subjects.TX_RAW, message, msg_id=tx.txid, tx=tx)

    async def submit_event(
        self, subject: str, model: BaseModel, *, msg_id: str, tx: Transaction | None = None
    ) -> None:
        """Start publishing any wire model; ``tx`` is what ``on_ack`` hears about, if any."""
        while len(self._in_flight) >= self.max_in_flight:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)

        task = asyncio.create_task(
            self._publish(subject, model, msg_id, tx), name=f"publish-{msg_id[:24]}"
        )
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    async def reject(self, payload: bytes, error: NormaliseError, *, location: str) -> None:
        """Send a record that does not normalise to the dead-letter subject with the reason."""
        with log_context(txid=error.txid):
            await self._dead_letter(payload, error.reason, "NormaliseError", location, error.txid)

    @property
    def pending(self) -> int:
        """Publishes handed over and not yet acknowledged."""
        return len(self._in_flight)

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every publish handed over so far is acknowledged; False on timeout."""
        if not self._in_flight:
            return True
        _, pending = await asyncio.wait(set(self._in_flight), timeout=timeout_s)
        return not pending

    async def close(self, timeout_s: float = 10.0) -> None:
        """Finish the publishes in flight, waiting at most ``timeout_s``, then give up on the rest.

        A transaction given up on here was never acknowledged; a source that replays or
        resynchronises after a restart publishes it again.
        """
        if await self.flush(timeout_s):
            return
        logger.warning("giving up on %d unacknowledged publishes at shutdown", self.pending)
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _publish(
        self, subject: str, model: BaseModel, msg_id: str, tx: Transaction | None
    ) -> None:
        delay_s = self.retry_delay_s
        while True:
            try:
                ack = await bus.publish(
                    self.js, subject, model, msg_id=msg_id, timeout_s=self.publish_timeout_s
                )
            except nats.errors.MaxPayloadError:
                body = bus.encode(model)
                reason = f"message of {len(body)} bytes exceeds the bus's maximum payload"
                with log_context(txid=msg_id, subject=subject):
                    await self._dead_letter(body, reason, "MaxPayloadError", subject, msg_id)
                return
            except (TimeoutError, nats.errors.Error) as exc:
                logger.warning("publish id=%s failed (%r); retry in %.1fs", msg_id, exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(2 * delay_s, self.max_retry_delay_s)
                continue
            break

        if ack.duplicate:
            self.counts.duplicates += 1
            metrics.DUPLICATES.labels(subject).inc()
            logger.debug("duplicate id=%s on %s (stream seq %d)", msg_id, subject, ack.seq)
        else:
            self.counts.published += 1
            metrics.PUBLISHED.labels(subject).inc()
        if tx is not None and self.on_ack is not None:
            self.on_ack(tx, ack)

    async def _dead_letter(
        self, payload: bytes, reason: str, error_type: str, location: str, txid: str | None
    ) -> None:
        """Dead-letter one record; if even that fails, say so loudly and go on."""
        try:
            await bus.dead_letter(
                self.js,
                STAGE,
                original_subject=location,
                payload=payload,
                reason=reason,
                error_type=error_type,
                message_id=txid,
            )
        except (TimeoutError, nats.errors.Error):
            self.counts.failed += 1
            logger.exception("could not dead-letter %s (reason was: %s)", location, reason)
            return
        self.counts.dead_lettered += 1
        metrics.DEAD_LETTERED.inc()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.counts.failed += 1
            logger.error("publish task %s failed", task.get_name(), exc_info=exc)


def _encode(record: object) -> bytes:
    return json.dumps(record, separators=(",", ":"), default=str).encode()
