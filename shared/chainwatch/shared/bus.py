"""NATS helpers: connect with retry, declare streams, publish once, consume in batches.

The consumer's promise is at-least-once with a safety net: a message is acknowledged only
after the handler has made its work durable; a failure that a retry can fix is
negatively acknowledged with a delay; a message that cannot be decoded, or that keeps
failing, goes to ``chainwatch.deadletter.<stage>`` with the reason and is then acknowledged,
so one bad message never blocks the stream. Publishers set the txid as ``Nats-Msg-Id`` and
JetStream drops a second publish of it within the stream's duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, PubAck, StreamConfig
from pydantic import BaseModel, ValidationError

from chainwatch.shared import lag, subjects
from chainwatch.shared.errors import DecodeError, TransientError
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import DeadLetter
from chainwatch.shared.settings import NatsSettings

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

MSG_ID_HEADER = "Nats-Msg-Id"
SCHEMA_HEADER = "Chainwatch-Schema"
BACKLOG_PROBE_S = 0.005
"""How long to wait for the server's answer to "what else is ready?" after a first message."""
DEADLETTER_PAYLOAD_LIMIT = 256 * 1024
"""Bytes of an original message kept in its dead letter; the rest is cut and marked."""


async def connect(settings: NatsSettings, name: str) -> NATS:
    """Connect to NATS, retrying with backoff and jitter while the server is not up yet.

    Once connected the client reconnects by itself for ever; disconnects are logged.
    """

    async def on_error(exc: Exception) -> None:
        logger.warning("nats error: %s", exc)

    clients: list[NATS] = []

    async def on_disconnect() -> None:
        closing = clients and (clients[0].is_closed or clients[0].is_draining)
        logger.log(logging.DEBUG if closing else logging.WARNING, "disconnected from nats")

    async def on_reconnect() -> None:
        logger.info("reconnected to nats")

    options: dict[str, object] = {
        "servers": settings.servers,
        "name": name,
        "connect_timeout": settings.connect_timeout_s,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "inbox_prefix": settings.inbox,
    }
    if settings.user:
        options["user"] = settings.user
        options["password"] = settings.password.get_secret_value() if settings.password else ""
    if settings.creds_file:
        options["user_credentials"] = str(settings.creds_file)

    for attempt in range(1, settings.connect_attempts + 1):
        try:
            # nats-py may keep retrying an unreachable server by itself: bound each attempt.
            client = await asyncio.wait_for(
                nats.connect(**options),  # type: ignore[arg-type]
                timeout=settings.connect_timeout_s * 2,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            if attempt == settings.connect_attempts:
                raise TransientError(f"nats unreachable at {settings.url}: {exc!r}") from exc
            delay_s = min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)
            logger.info("nats not reachable (%s), retry in %.1fs", exc, delay_s)
            await asyncio.sleep(delay_s)
        else:
            clients.append(client)
            url = client.connected_url
            logger.info("connected to nats %s as %s", url.netloc if url else "?", name)
            return client
    raise AssertionError("unreachable")


def stream_config(spec: subjects.StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        max_age=spec.max_age.total_seconds(),
        duplicate_window=spec.duplicate_window.total_seconds(),
    )


async def ensure_streams(
    js: JetStreamContext, specs: Sequence[subjects.StreamSpec] = subjects.ALL_STREAMS
) -> None:
    """Create each stream, or bring an existing one to the configuration named here.

    A new stream has one replica. The replicas of an existing one are left as they are: on a
    cluster the operator raises them (docs/operations.md), and a service restarting must not
    bring them back down to one.
    """
    for spec in specs:
        config = stream_config(spec)
        try:
            info = await js.stream_info(spec.name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            logger.info("created stream %s", spec.name)
        else:
            config.num_replicas = info.config.num_replicas
            await js.update_stream(config)


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def decode(model_type: type[M], data: bytes, subject: str) -> M:
    """Parse a message body as ``model_type``; raise DecodeError with a short reason."""
    try:
        return model_type.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DecodeError(subject, f"{where}: {first['msg']}{more}") from None


async def publish(
    js: JetStreamContext, subject: str, model: BaseModel, msg_id: str, timeout_s: float = 5.0
) -> PubAck:
    """Publish ``model`` on ``subject``; JetStream drops a repeat of ``msg_id`` in its window."""
    headers = {MSG_ID_HEADER: msg_id, SCHEMA_HEADER: str(getattr(model, "schema_version", 1))}
    return await js.publish(subject, encode(model), timeout=timeout_s, headers=headers)


async def publish_batch(
    js: JetStreamContext,
    subject: str,
    messages: Sequence[tuple[BaseModel, str]],
    timeout_s: float = 10.0,
) -> list[PubAck]:
    """Publish (model, msg_id) pairs on ``subject`` and wait for every acknowledgement.

    The publishes go out back to back and their acks are awaited together, which costs a
    fraction of one request per message. Raises ``TransientError`` when the acks do not all
    arrive in ``timeout_s``; publishing the same batch again is safe (message ids).
    """
    futures = []
    for model, msg_id in messages:
        headers = {MSG_ID_HEADER: msg_id, SCHEMA_HEADER: str(getattr(model, "schema_version", 1))}
        futures.append(await js.publish_async(subject, encode(model), headers=headers))
    try:
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout_s))
    except TimeoutError as exc:
        raise TransientError(f"{len(futures)} publishes on {subject} not acknowledged") from exc


async def dead_letter(
    js: JetStreamContext,
    stage: str,
    *,
    original_subject: str,
    payload: bytes,
    reason: str,
    error_type: str,
    message_id: str | None = None,
    delivered_count: int = 1,
) -> None:
    """Publish a message that ``stage`` gave up on, with the reason, to its dead-letter subject."""
    letter = DeadLetter(
        stage=stage,
        reason=reason,
        error_type=error_type,
        original_subject=original_subject,
        message_id=message_id,
        delivered_count=delivered_count,
        failed_at=datetime.now(UTC),
        payload=payload[:DEADLETTER_PAYLOAD_LIMIT].decode("utf-8", errors="replace"),
        payload_truncated=len(payload) > DEADLETTER_PAYLOAD_LIMIT,
    )
    await js.publish(subjects.deadletter_subject(stage), encode(letter))
    logger.warning("dead-lettered message on %s: %s", original_subject, reason)


@dataclass(frozen=True)
class Delivery(Generic[M]):
    """A decoded message and where it sits in its stream."""

    message: M
    msg_id: str | None
    stream_seq: int
    num_delivered: int


BatchHandler = Callable[[Sequence[Delivery[M]]], Awaitable[None]]

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    OSError,
    TimeoutError,
    nats.errors.Error,
)


class BatchConsumer(Generic[M]):
    """A durable pull consumer that hands decoded batches to a handler.

    The handler must make its work durable before it returns; then the batch is acked.
    When it raises an error listed in ``transient_errors`` (a dependency is down) the batch
    is retried in place with backoff, however long that takes, without redelivery. Any other
    error is taken as a sign that one message in the batch is poison: the batch is retried
    one message at a time, and a message that still fails after ``max_attempts`` deliveries
    is dead-lettered.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stage: str,
        stream: str,
        subject: str,
        durable: str,
        model: type[M],
        handler: BatchHandler[M],
        batch_size: int = 256,
        fetch_timeout_s: float = 1.0,
        max_attempts: int = 5,
        ack_wait_s: float = 30.0,
        retry_delay_s: float = 2.0,
        transient_errors: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    ) -> None:
        self.js = js
        self.stage = stage
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.model = model
        self.handler = handler
        self.batch_size = batch_size
        self.fetch_timeout_s = fetch_timeout_s
        self.max_attempts = max_attempts
        self.ack_wait_s = ack_wait_s
        self.retry_delay_s = retry_delay_s
        self.transient_errors = transient_errors
        self.processed = 0
        self.dead_lettered = 0
        self._stopping = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch, handle and ack until ``stop`` is set; the batch in hand is finished first."""
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max(4 * self.batch_size, 1024),
        )
        sub = await self.js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config
        )
        self._stopping = stop
        logger.info("consuming %s as %s", self.subject, self.durable)
        tracking = asyncio.create_task(lag.track(self.js, self.stream, self.durable))
        try:
            while not stop.is_set():
                try:
                    msgs = await self._fetch(sub)
                except TimeoutError:  # nats' own and asyncio's: nothing to fetch right now
                    continue
                except nats.errors.Error as exc:
                    logger.warning("fetch from %s failed: %s", self.subject, exc)
                    await asyncio.sleep(self.retry_delay_s)
                    continue
                await self.process(msgs)
        finally:
            tracking.cancel()
            await sub.unsubscribe()
        logger.info("stopped consuming %s", self.subject)

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait for one message, then take what else is already there, up to a batch.

        A plain ``fetch(batch_size)`` waits until the batch is full or the timeout passes,
        so at low rates every message would wait for the timeout; here a batch is as large
        as the backlog and never waits to fill up.
        """
        msgs = await sub.fetch(1, timeout=self.fetch_timeout_s)
        if self.batch_size > 1:
            with contextlib.suppress(TimeoutError):
                msgs += await sub.fetch(self.batch_size - 1, timeout=BACKLOG_PROBE_S)
        return msgs

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Decode, dead-letter the undecodable, hand the rest to the handler, ack or nak."""
        deliveries: list[tuple[Msg, Delivery[M]]] = []
        for msg in msgs:
            delivery = await self._decode_or_dead_letter(msg)
            if delivery is not None:
                deliveries.append((msg, delivery))
        if not deliveries:
            return

        try:
            await self._handle_through_outages(deliveries)
        except self.transient_errors:
            for msg, _ in deliveries:  # stopping while the outage lasts: leave them for later
                await msg.nak(delay=self.retry_delay_s)
            return
        except Exception as exc:
            if len(deliveries) == 1:
                await self._fail_one(*deliveries[0], exc)
                return
            logger.warning("batch of %d failed; retrying one at a time", len(deliveries))
            for msg, delivery in deliveries:
                await self._handle_one(msg, delivery)
            return

        for msg, _ in deliveries:
            await msg.ack()
        self.processed += len(deliveries)

    async def _handle_through_outages(self, deliveries: list[tuple[Msg, Delivery[M]]]) -> None:
        """Run the handler, retrying in place while it fails for a transient reason.

        The messages stay with this consumer meanwhile (``in_progress`` keeps their ack
        wait from running out), so an outage neither redelivers them nor counts against
        ``max_attempts``, which is kept for failures of the messages themselves.
        """
        delay_s = self.retry_delay_s
        while True:
            try:
                await self.handler([d for _, d in deliveries])
            except self.transient_errors as exc:
                if self._stopping.is_set():
                    raise
                logger.warning("batch of %d waits for a dependency: %s", len(deliveries), exc)
                for msg, _ in deliveries:
                    with contextlib.suppress(nats.errors.Error):  # the bus may be what is down
                        await msg.in_progress()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay_s)
                delay_s = min(delay_s * 2, self.ack_wait_s / 2)
            else:
                return

    async def _handle_one(self, msg: Msg, delivery: Delivery[M]) -> None:
        try:
            await self._handle_through_outages([(msg, delivery)])
        except self.transient_errors as exc:
            logger.warning("message failed, will retry: %s", exc)
            await msg.nak(delay=self.retry_delay_s)
        except Exception as exc:
            await self._fail_one(msg, delivery, exc)
        else:
            await msg.ack()
            self.processed += 1

    async def _fail_one(self, msg: Msg, delivery: Delivery[M], exc: Exception) -> None:
        """A message failed for a reason that is not transient: retry, or give it up."""
        with log_context(subject=msg.subject, txid=delivery.msg_id):
            if delivery.num_delivered < self.max_attempts:
                logger.warning(
                    "handler failed on delivery %d of %d",
                    delivery.num_delivered,
                    self.max_attempts,
                    exc_info=exc,
                )
                await msg.nak(delay=self.retry_delay_s)
                return
            logger.error("handler failed %d times; dead-lettering", delivery.num_delivered)
            await dead_letter(
                self.js,
                self.stage,
                original_subject=msg.subject,
                payload=msg.data,
                reason=f"handler failed {delivery.num_delivered} times: {exc!s:.500}",
                error_type=type(exc).__name__,
                message_id=delivery.msg_id,
                delivered_count=delivery.num_delivered,
            )
            await msg.ack()
            self.dead_lettered += 1

    async def _decode_or_dead_letter(self, msg: Msg) -> Delivery[M] | None:
        msg_id = msg.headers.get(MSG_ID_HEADER) if msg.headers else None
        try:
            message = decode(self.model, msg.data, msg.subject)
        except DecodeError as exc:
            await dead_letter(
                self.js,
                self.stage,
                original_subject=msg.subject,
                payload=msg.data,
                reason=exc.reason,
                error_type="decode",
                message_id=msg_id,
                delivered_count=msg.metadata.num_delivered,
            )
            await msg.ack()
            self.dead_lettered += 1
            return None
        return Delivery(
            message=message,
            msg_id=msg_id,
            stream_seq=msg.metadata.sequence.stream,
            num_delivered=msg.metadata.num_delivered,
        )
