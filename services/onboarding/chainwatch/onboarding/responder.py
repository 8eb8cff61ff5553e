"""Request/reply on ``chainwatch.onboarding.score``: one decision per request.

Replicas subscribe in one queue group, so each request is answered once. A request is
answered with an ``OnboardingReply`` and the header ``Chainwatch-Status`` (200, 422, 503 or
500, as over HTTP). At most ``max_in_flight`` requests are decided at once; past that the
subscription waits, and NATS holds the rest as pending messages. On stop the subscription is
drained and every request in hand is answered first.
"""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from chainwatch.onboarding import metrics
from chainwatch.onboarding.service import OnboardingService
from chainwatch.shared.logs import log_context
from chainwatch.shared.onboarding import ONBOARDING_SCORE, OnboardingError, OnboardingReply

logger = logging.getLogger(__name__)

QUEUE_GROUP = "onboarding"
STATUS_HEADER = "Chainwatch-Status"


class Responder:
    def __init__(
        self,
        nc: NATS,
        service: OnboardingService,
        *,
        max_request_bytes: int,
        max_in_flight: int = 32,
    ) -> None:
        self.nc = nc
        self.service = service
        self.max_request_bytes = max_request_bytes
        self.slots = asyncio.Semaphore(max_in_flight)
        self.in_flight: set[asyncio.Task[None]] = set()
        self.subscription: Subscription | None = None

    async def start(self) -> None:
        self.subscription = await self.nc.subscribe(
            ONBOARDING_SCORE, queue=QUEUE_GROUP, cb=self._on_request
        )
        logger.info("answering %s in queue group %s", ONBOARDING_SCORE, QUEUE_GROUP)

    async def stop(self) -> None:
        """Stop taking requests; answer those in hand."""
        if self.subscription is not None and not self.nc.is_closed:
            await self.subscription.drain()  # type: ignore[no-untyped-call]
        await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def _on_request(self, msg: Msg) -> None:
        if not msg.reply:
            logger.warning("request on %s has no reply subject; ignored", msg.subject)
            return
        await self.slots.acquire()
        task = asyncio.create_task(self._answer(msg))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _answer(self, msg: Msg) -> None:
        try:
            with log_context(subject=msg.subject):
                status, reply = await self._decide(msg.data)
            await self.nc.publish(
                msg.reply, reply.model_dump_json().encode(), headers={STATUS_HEADER: str(status)}
            )
        except nats.errors.Error as exc:
            logger.warning("could not send the reply to %s: %s", msg.reply, exc)
        finally:
            self.slots.release()

    async def _decide(self, body: bytes) -> tuple[int, OnboardingReply]:
        if len(body) > self.max_request_bytes:
            metrics.REQUESTS.labels("nats", "invalid").inc()
            message = f"request of {len(body)} bytes is over the limit of {self.max_request_bytes}"
            return 422, OnboardingReply(
                error=OnboardingError(code="invalid_request", message=message)
            )
        try:
            return await self.service.handle(body, "nats")
        except Exception:  # the handler boundary: the requester always gets an answer
            metrics.REQUESTS.labels("nats", "error").inc()
            logger.exception("deciding on a request failed")
            error = OnboardingError(code="internal", message="internal error; no decision returned")
            return 500, OnboardingReply(error=error)
