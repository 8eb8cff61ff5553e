"""The live websocket behind real uvicorn: decisions published on NATS reach signed-in clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from chainwatch.dashboard.auth.sessions import SESSION_COOKIE
from chainwatch.shared.schemas import RiskBand
from chainwatch.shared.verdicts import REVIEW_VERDICT

from .conftest import Accounts, PublishScored, ServedDashboard, session_for
from .factories import make_decision, sanctions_hit


async def _next_decision(socket: ClientConnection, txid: str) -> dict[str, Any]:
    """The frame of ``txid``, passing over frames of decisions other tests published."""
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] == "decision" and frame["decision"]["txid"] == txid:
            decision: dict[str, Any] = frame["decision"]
            return decision


async def test_published_decision_reaches_every_signed_in_client(
    served_dashboard: ServedDashboard,
    publish_scored: PublishScored,
    pool: asyncpg.Pool,
    accounts: Accounts,
) -> None:
    token, _ = await session_for(pool, accounts.analyst)
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    scored = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit(0.8)])
    url = served_dashboard.ws_url("/ws/feed")

    async with (
        connect(url, additional_headers=cookie) as first,
        connect(url, additional_headers=cookie, origin=Origin(served_dashboard.origin)) as second,
    ):
        await publish_scored(scored)
        async with asyncio.timeout(10):
            received = [await _next_decision(s, scored.txid) for s in (first, second)]

    for decision in received:
        assert decision["band"] == "Severe"
        assert decision["top_rule"]["rule"] == "direct_exposure"
        assert decision["value_out_sat"] == scored.value_out


async def test_a_client_without_a_session_is_refused(served_dashboard: ServedDashboard) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(served_dashboard.ws_url("/ws/feed")):
            pass

    assert refused.value.response.status_code == 403


async def test_a_page_from_another_site_may_not_open_the_feed(
    served_dashboard: ServedDashboard, pool: asyncpg.Pool, accounts: Accounts
) -> None:
    token, _ = await session_for(pool, accounts.analyst)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            served_dashboard.ws_url("/ws/feed"),
            origin=Origin("http://evil.example"),
            additional_headers={"Cookie": f"{SESSION_COOKIE}={token}"},
        ):
            pass

    assert refused.value.response.status_code == 403


async def test_a_verdict_from_any_replica_reaches_the_queues_as_a_case_frame(
    served_dashboard: ServedDashboard, pool: asyncpg.Pool, accounts: Accounts, nc: NATS
) -> None:
    token, _ = await session_for(pool, accounts.analyst)
    txid = make_decision(RiskBand.HIGH).txid

    async with connect(
        served_dashboard.ws_url("/ws/feed"),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={token}"},
    ) as socket:
        await nc.publish(REVIEW_VERDICT, json.dumps({"txid": txid}).encode())
        async with asyncio.timeout(10):
            while json.loads(await socket.recv()) != {"type": "case", "txid": txid}:
                pass
