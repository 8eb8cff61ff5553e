"""The live feed websocket behind real uvicorn: decisions published on NATS reach clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from chainwatch.shared.schemas import RiskBand

from .conftest import PublishScored, ServedDashboard
from .factories import make_decision, sanctions_hit


async def _next_decision(socket: ClientConnection, txid: str) -> dict[str, Any]:
    """The frame of ``txid``, passing over frames of decisions other tests published."""
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] == "decision" and frame["decision"]["txid"] == txid:
            decision: dict[str, Any] = frame["decision"]
            return decision


async def test_published_decision_reaches_every_websocket_client(
    served_dashboard: ServedDashboard, publish_scored: PublishScored
) -> None:
    scored = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit(0.8)])
    url = served_dashboard.ws_url("/ws/feed")

    async with (
        connect(url) as first,
        connect(url, origin=Origin(served_dashboard.origin)) as second,
    ):
        await publish_scored(scored)
        async with asyncio.timeout(10):
            received = [await _next_decision(s, scored.txid) for s in (first, second)]

    for decision in received:
        assert decision["band"] == "Severe"
        assert decision["top_rule"]["rule"] == "direct_exposure"
        assert decision["value_out_sat"] == scored.value_out


async def test_a_page_from_another_site_may_not_open_the_feed(
    served_dashboard: ServedDashboard,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            served_dashboard.ws_url("/ws/feed"), origin=Origin("http://evil.example")
        ):
            pass

    assert refused.value.response.status_code == 403
