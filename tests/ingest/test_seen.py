"""The seen-set: bounded in memory, refilled from the stream after a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from nats.js import JetStreamContext

from chainwatch.ingest.live.seen import SeenTxids
from chainwatch.ingest.publisher import TxPublisher
from chainwatch.ingest.replay import ReplayPlan, replay


def test_the_oldest_txids_are_forgotten_first() -> None:
    seen = SeenTxids(capacity=3)
    assert all(seen.add(t) for t in ("a", "b", "c"))
    assert not seen.add("a")
    seen.add("d")
    assert "a" not in seen and {"b", "c", "d"} <= {t for t in "abcd" if t in seen}
    assert len(seen) == 3


async def test_a_restart_remembers_what_the_stream_holds(
    js: JetStreamContext, data_dir: Path
) -> None:
    await replay(TxPublisher(js), ReplayPlan(data_dir=data_dir), asyncio.Event())
    seen = SeenTxids()
    assert await seen.load_from_stream(js, lookback_s=3600) == 213
    block = json.loads(
        (data_dir / "mempool_api/derived/block277647_txs_with_prevouts.json").read_text()
    )
    assert all(tx["txid"] in seen for tx in block)
    assert await SeenTxids().load_from_stream(js, lookback_s=0.001) == 0
