"""Liveness and readiness, for orchestrators and load balancers.

``/healthz`` answers 200 while the process serves requests at all. ``/readyz`` answers 200
only while the NATS connection is up and the database answers a query in time, else 503
with the check that failed, so a load balancer sends no browser to a dashboard that cannot
show anything.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from chainwatch.dashboard.deps import Resources, ResourcesDep
from chainwatch.shared.db import DATABASE_ERRORS

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Each dependency's state: "ok", or a short reason it is not (never a secret)."""

    ready: bool
    nats: str
    database: str
    feed_clients: int


@router.get("/healthz", name="healthz")
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    name="readyz",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness}},
)
async def readyz(resources: ResourcesDep, response: Response) -> Readiness:
    nats_state = "ok" if resources.nc.is_connected else "disconnected"
    database_state = await _database_state(resources)
    ready = nats_state == "ok" and database_state == "ok"
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(
        ready=ready,
        nats=nats_state,
        database=database_state,
        feed_clients=resources.hub.stats().clients,
    )


async def _database_state(resources: Resources) -> str:
    try:
        async with asyncio.timeout(resources.settings.ready_timeout_s):
            await resources.pool.fetchval("SELECT 1")
    except TimeoutError:
        return "timeout"
    except DATABASE_ERRORS as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"
