"""The local mempool.space: its scenario of recorded data, and its websocket protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from chainwatch.ingest.localserver.scenario import build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats
from chainwatch.shared.errors import ConfigurationError


def test_scenario_links_real_replacements_and_mines_real_blocks(data_dir: Path) -> None:
    scenario = build_scenario(data_dir, ["eras"], batch_size=100)
    kinds = [step.kind for step in scenario.steps[:5]]
    assert kinds == ["add", "replace", "replace", "replace", "evict"]
    for step in scenario.steps[1:4]:
        [(replaced_txid, replacement)] = step.replaced
        original = next(tx for tx in scenario.steps[0].added if tx["txid"] == replaced_txid)
        spent = {(i["txid"], i["vout"]) for i in original["vin"]}
        assert spent & {(i["txid"], i["vout"]) for i in replacement["vin"]}
    assert [b.height for b in scenario.blocks] == [277_647, 540_107, 574_200]
    assert len(scenario.txids) == 9 + 213 + 230 + 3315
    added = [tx for step in scenario.steps for tx in step.added]
    assert all(tx["status"] == {"confirmed": False} for tx in added)
    assert not any(tx["vin"][0].get("is_coinbase") for tx in added)  # coinbases only in blocks


def test_an_unknown_block_is_a_configuration_error(data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="block1"):
        build_scenario(data_dir, ["block1"])


@pytest.fixture
async def server(data_dir: Path) -> AsyncIterator[LocalMempoolServer]:
    scenario = build_scenario(data_dir, ["block277647"], batch_size=100)
    async with LocalMempoolServer(scenario, RecordedStats.load(data_dir)) as server:
        yield server


async def test_websocket_answers_want_track_and_ping(server: LocalMempoolServer) -> None:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "want", "data": ["stats", "mempool-blocks"]}))
        initial = json.loads(await ws.recv())
        assert initial["mempoolInfo"]["size"] == 112_686 and "fees" in initial
        assert initial["mempool-blocks"][0]["nTx"] > 0

        await ws.send(json.dumps({"track-mempool-txids": True}))
        await server.wait_subscriptions(1)
        await server.advance(1)
        delta = json.loads(await ws.recv())["mempool-txids"]
        assert delta["sequence"] == 1 and len(delta["added"]) == 6
        assert all(isinstance(txid, str) for txid in delta["added"])

        await ws.send(json.dumps({"action": "ping"}))
        assert json.loads(await ws.recv()) == {"pong": True}

        await ws.send("not json")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_a_found_block_is_announced_with_the_state_and_the_mined_txids(
    server: LocalMempoolServer,
) -> None:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "want", "data": ["blocks"]}))
        assert json.loads(await ws.recv()) == {"blocks": []}
        await ws.send(json.dumps({"track-mempool": True}))
        await server.wait_subscriptions(1)
        await server.advance(len(server.scenario.steps))
        messages = [json.loads(await ws.recv()) for _ in server.scenario.steps]
    block_message = messages[-1]
    assert block_message["block"]["height"] == 277_647
    assert block_message["block"]["tx_count"] == 213
    assert len(block_message["mempool-transactions"]["mined"]) == 213
    assert server.finished.is_set()
