"""Helpers of the onboarding integration tests: a service wired to real servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NATS

from chainwatch.onboarding.api import create_app
from chainwatch.onboarding.grounded import GroundedNarrator
from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.onboarding.responder import Responder
from chainwatch.onboarding.service import OnboardingService
from chainwatch.shared.onboarding import ONBOARDING_SCORE

MAX_REQUEST_BYTES = 64 * 1024


@dataclass
class Wired:
    service: OnboardingService
    http: httpx.AsyncClient
    nc: NATS
    pool: asyncpg.Pool

    async def request(self, body: bytes) -> tuple[str, dict[str, Any]]:
        """Send ``body`` on the request subject; the status header and the reply."""
        reply = await self.nc.request(ONBOARDING_SCORE, body, timeout=10)
        assert reply.headers is not None
        return reply.headers["Chainwatch-Status"], json.loads(reply.data)

    async def rows(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM onboarding_decision"))


@asynccontextmanager
async def wired(
    nc: NATS, pool: asyncpg.Pool, trained: TrainedVersion | None
) -> AsyncIterator[Wired]:
    """The service with ``trained`` as its model (None: no model yet), its HTTP API in
    process, and its responder on the test NATS."""
    service = OnboardingService(pool, GroundedNarrator(None), "onboarding-test")
    service.model = trained.model if trained else None
    app = create_app(service, pool, {}, MAX_REQUEST_BYTES)
    responder = Responder(nc, service, max_request_bytes=MAX_REQUEST_BYTES)
    await responder.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://onboarding") as http:
            yield Wired(service, http, nc, pool)
    finally:
        await responder.stop()
