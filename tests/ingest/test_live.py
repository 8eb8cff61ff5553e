"""The live source against the local replay server and a real JetStream.

Every test drives the server's scenario one step at a time, and waits on what arrives on
the bus (a core NATS subscription sees every publish, repeats included), never on a clock.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from chainwatch.ingest.__main__ import run
from chainwatch.ingest.localserver.scenario import Scenario, build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats
from chainwatch.ingest.settings import IngestSettings
from chainwatch.shared import subjects
from chainwatch.shared.mempool_events import MempoolSnapshot, TxConfirmed, TxReplaced
from chainwatch.shared.schemas import DeadLetter, RawTransaction
from chainwatch.shared.settings import DataSettings, NatsSettings


class Collector:
    """Every message published on some subjects, and a way to wait for a condition on them."""

    def __init__(self) -> None:
        self.messages: dict[str, list[bytes]] = {}
        self._changed = asyncio.Condition()

    async def on_message(self, msg: Msg) -> None:
        self.messages.setdefault(msg.subject, []).append(msg.data)
        async with self._changed:
            self._changed.notify_all()

    def on(self, subject: str) -> list[bytes]:
        return self.messages.get(subject, [])

    def raw_txids(self) -> list[str]:
        return [RawTransaction.model_validate_json(d).tx.txid for d in self.on(subjects.TX_RAW)]

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(condition)


@pytest.fixture
async def collector(own_nc: NATS) -> AsyncIterator[Collector]:
    collector = Collector()
    subs = [
        await own_nc.subscribe(subject, cb=collector.on_message)
        for subject in (f"{subjects.PREFIX}.tx.>", f"{subjects.PREFIX}.block.>",
                        f"{subjects.PREFIX}.mempool.>", f"{subjects.DEADLETTER_PREFIX}.>")
    ]  # fmt: skip
    yield collector
    for sub in subs:
        await sub.unsubscribe()


@pytest.fixture
def scenario(data_dir: Path) -> Scenario:
    return build_scenario(data_dir, ["block277647"], batch_size=10)


@pytest.fixture
async def server(scenario: Scenario, data_dir: Path) -> AsyncIterator[LocalMempoolServer]:
    async with LocalMempoolServer(scenario, RecordedStats.load(data_dir)) as server:
        yield server


def live_settings(server: LocalMempoolServer, nats: NatsSettings, data_dir: Path) -> IngestSettings:
    return IngestSettings(
        mode="live",
        live_base_url=server.base_url,
        resync_full_mempool=True,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.2,
        snapshot_min_interval_s=0,
        health_enabled=False,
        nats=nats,
        data=DataSettings(data_dir=data_dir),
    )


FIXTURE_STEPS = 5
"""The scenario's mempool-fixture phase: one add, three replacements, one eviction."""


@pytest.mark.parametrize("track", ["mempool", "mempool-txids"])
async def test_scenario_arrives_complete_with_its_events(
    track: str,
    js: JetStreamContext,
    collector: Collector,
    server: LocalMempoolServer,
    scenario: Scenario,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    settings = live_settings(server, own_nats_settings, data_dir).model_copy(
        update={"live_track": track}
    )
    stop = asyncio.Event()
    service = asyncio.create_task(run(settings, stop))
    await server.wait_subscriptions(1)
    await server.advance(len(scenario.steps))
    await collector.wait_for(lambda: len(collector.on(subjects.BLOCK_CONNECTED)) == 1)
    stop.set()
    await service

    assert sorted(collector.raw_txids()) == sorted(scenario.txids)
    assert len(scenario.txids) == 9 + 213
    confirmed = [TxConfirmed.model_validate_json(d) for d in collector.on(subjects.TX_CONFIRMED)]
    block = scenario.blocks[0]
    assert [c.txid for c in sorted(confirmed, key=lambda c: c.position)] == block.txids
    assert {(c.height, c.block_time_ts) for c in confirmed} == {(277_647, 1_388_367_102)}

    replaced = {
        (r.replaced_txid[:12], r.replacement_txid[:12])
        for r in (TxReplaced.model_validate_json(d) for d in collector.on(subjects.TX_REPLACED))
    }
    assert replaced == {
        ("008592364e21", "7219d95161f3"),
        ("b7981a624e42", "5387881d695d"),
        ("242f3fff9ca7", "b6a53d8a8025"),
    }
    [evicted] = [json.loads(d)["txid"] for d in collector.on(subjects.TX_EVICTED)]
    assert evicted.startswith("8e89b20f8a7f")  # the cheapest left, 691 sat for 651 vB

    snapshot = MempoolSnapshot.model_validate_json(collector.on(subjects.MEMPOOL_SNAPSHOT)[-1])
    assert snapshot.tx_count == 112_686 and snapshot.min_fee_rate_sat_vb == pytest.approx(1.305)
    assert snapshot.recommended_fees is not None and snapshot.recommended_fees.fastest_sat_vb == 8
    assert snapshot.projected_blocks and snapshot.projected_blocks[0].tx_count > 0
    assert not collector.on(f"{subjects.DEADLETTER_PREFIX}.ingest")


async def test_websocket_drop_and_restart_lose_nothing_and_publish_nothing_twice(
    js: JetStreamContext,
    collector: Collector,
    server: LocalMempoolServer,
    scenario: Scenario,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    settings = live_settings(server, own_nats_settings, data_dir)
    block_batches = len(scenario.steps) - FIXTURE_STEPS - 1

    def published_at_least(count: int) -> Callable[[], bool]:
        return lambda: len(collector.on(subjects.TX_RAW)) >= count

    first_stop = asyncio.Event()
    first = asyncio.create_task(run(settings, first_stop))
    await server.wait_subscriptions(1)
    await server.advance(FIXTURE_STEPS + 2)
    await collector.wait_for(published_at_least(9 + 20))

    # The network fails; five batches enter the mempool while the source is away.
    assert server.drop_connections() == 1
    await server.advance(5)
    await server.wait_subscriptions(2)
    await collector.wait_for(published_at_least(9 + 70))

    # The service restarts; five more batches enter while it is down.
    first_stop.set()
    await first
    await server.advance(5)
    second_stop = asyncio.Event()
    second = asyncio.create_task(run(settings, second_stop))
    await server.wait_subscriptions(3)
    await server.advance(block_batches - 12 + 1)  # the rest, and the block
    await collector.wait_for(lambda: len(collector.on(subjects.BLOCK_CONNECTED)) == 1)
    second_stop.set()
    await second

    published = Counter(collector.raw_txids())
    assert set(published) == scenario.txids, "no transaction lost"
    assert max(published.values()) == 1, "none published twice"
    stored = await js.stream_info(subjects.TX_RAW_STREAM.name)
    assert stored.state.messages == len(scenario.txids)
    confirmations = Counter(
        TxConfirmed.model_validate_json(d).txid for d in collector.on(subjects.TX_CONFIRMED)
    )
    assert set(confirmations) == set(scenario.blocks[0].txids)
    assert max(confirmations.values()) == 1


async def test_hostile_messages_are_dead_lettered_and_the_source_goes_on(
    js: JetStreamContext,
    collector: Collector,
    server: LocalMempoolServer,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    stop = asyncio.Event()
    service = asyncio.create_task(run(live_settings(server, own_nats_settings, data_dir), stop))
    await server.wait_subscriptions(1)
    hostile = [
        b"{truncated",
        b"[1, 2, 3]",
        json.dumps({"block": {"id": "zz", "height": -1}}).encode(),
        json.dumps({"mempool-transactions": {"added": [{"txid": "ab" * 32, "vin": "x"}]}}).encode(),
        json.dumps({"mempoolInfo": {"size": 1, "total_fee": 1e30}}).encode(),
        b"[" * 50_000 + b"]" * 50_000,
    ]
    for data in hostile:
        await server.inject(data)
    await server.advance(1)  # a good message after them still arrives
    dead = f"{subjects.DEADLETTER_PREFIX}.ingest"
    await collector.wait_for(
        lambda: len(collector.on(dead)) == len(hostile) and len(collector.on(subjects.TX_RAW)) >= 6
    )
    stop.set()
    await service

    reasons = [DeadLetter.model_validate_json(d).reason for d in collector.on(dead)]
    assert "not valid JSON" in reasons[0]
    assert reasons[1] == "message is a JSON list, not an object"
    assert reasons[2].startswith("block.id: not a txid")
    assert reasons[3] == "vin: expected an array, got string"
    assert reasons[4].startswith("mempool state refused")
    assert "not valid JSON" in reasons[5]


async def test_a_rate_limited_handshake_waits_for_retry_after(
    js: JetStreamContext,
    collector: Collector,
    server: LocalMempoolServer,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    server.fail_next(2, status=429, retry_after="0", websocket=True)
    server.fail_next(1, status=503)
    stop = asyncio.Event()
    service = asyncio.create_task(run(live_settings(server, own_nats_settings, data_dir), stop))
    await server.wait_subscriptions(1)
    await server.advance(1)
    await collector.wait_for(lambda: len(collector.on(subjects.TX_RAW)) >= 6)
    stop.set()
    await service
    assert server.failures_served == 3  # two refused handshakes, one 503 retried


async def test_local_mode_serves_recorded_data_to_itself(
    js: JetStreamContext, collector: Collector, own_nats_settings: NatsSettings, data_dir: Path
) -> None:
    settings = IngestSettings(
        mode="local",
        local_blocks=("block277647",),
        local_steps_per_s=500,
        local_batch_size=50,
        health_port=0,
        nats=own_nats_settings,
        data=DataSettings(data_dir=data_dir),
    )
    stop = asyncio.Event()
    service = asyncio.create_task(run(settings, stop))
    await collector.wait_for(lambda: len(collector.on(subjects.BLOCK_CONNECTED)) == 1)
    stop.set()
    await service
    confirmed = {
        TxConfirmed.model_validate_json(d).txid for d in collector.on(subjects.TX_CONFIRMED)
    }
    assert len(confirmed) == 213 and confirmed <= set(collector.raw_txids())


async def test_a_silent_websocket_is_replaced(
    js: JetStreamContext,
    server: LocalMempoolServer,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    settings = live_settings(server, own_nats_settings, data_dir).model_copy(
        update={"stale_after_s": 0.3}
    )
    stop = asyncio.Event()
    service = asyncio.create_task(run(settings, stop))
    await server.wait_subscriptions(3)  # the scenario is paused: nothing is said after hello
    stop.set()
    await service


async def test_a_block_found_while_the_service_was_down_is_caught_up(
    js: JetStreamContext,
    collector: Collector,
    server: LocalMempoolServer,
    scenario: Scenario,
    own_nats_settings: NatsSettings,
    data_dir: Path,
) -> None:
    settings = live_settings(server, own_nats_settings, data_dir).model_copy(
        update={"resync_full_mempool": False}
    )
    first_stop = asyncio.Event()
    first = asyncio.create_task(run(settings, first_stop))
    await server.wait_subscriptions(1)
    await server.advance(FIXTURE_STEPS + 3)
    await collector.wait_for(lambda: len(collector.on(subjects.TX_RAW)) >= 9 + 30)
    first_stop.set()
    await first

    await server.advance(len(scenario.steps))  # the rest of the block, and the block
    second_stop = asyncio.Event()
    second = asyncio.create_task(run(settings, second_stop))
    await collector.wait_for(lambda: len(collector.on(subjects.BLOCK_CONNECTED)) == 1)
    second_stop.set()
    await second

    published = Counter(collector.raw_txids())
    assert set(scenario.blocks[0].txids) <= set(published)
    assert max(published.values()) == 1
    assert len(collector.on(subjects.TX_CONFIRMED)) == 213
