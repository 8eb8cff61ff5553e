"""The relay from NATS to the fan-out: good messages become frames, bad ones are skipped."""

from __future__ import annotations

import json

from nats.aio.client import Client as NATS

from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.relay import DecisionRelay
from chainwatch.dashboard.views import DecisionView
from chainwatch.shared import subjects
from chainwatch.shared.schemas import RiskBand

from .factories import make_decision


async def test_undecodable_message_is_counted_and_the_feed_goes_on(nc: NATS) -> None:
    hub = FeedHub(queue_size=4)
    client = hub.register()
    relay = DecisionRelay(nc, hub)
    good = make_decision(RiskBand.MEDIUM)

    relay.relay(subjects.TX_SCORED, b'{"txid": "not a txid"}')
    relay.relay(subjects.TX_SCORED, good.model_dump_json().encode())

    assert (relay.undecodable, relay.relayed) == (1, 1)
    frame = json.loads(await client.next_frame())
    assert frame["type"] == "decision"
    assert frame["decision"] == json.loads(DecisionView.from_scored(good).model_dump_json())
    assert client.pending == 0
