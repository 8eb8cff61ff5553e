"""The bus helpers against a real nats-server: de-duplication, dead letters, retries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NATS
from pydantic import BaseModel

from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import TransientError
from chainwatch.shared.schemas import DeadLetter

# A stream of the tests' own, so messages other tests leave on the real streams do not count.
TEST_STREAM = subjects.StreamSpec(
    name="BUSTEST",
    subjects=("bustest.>",),
    max_age=timedelta(hours=1),
    duplicate_window=timedelta(minutes=5),
    description="bus helper tests",
)


class Ping(BaseModel):
    schema_version: int = 1
    n: int


async def test_publish_with_same_msg_id_is_stored_once(nc: NATS) -> None:
    js = nc.jetstream()
    await bus.ensure_streams(js, [TEST_STREAM])
    first = await bus.publish(js, "bustest.dedup", Ping(n=1), msg_id="dedup-1")
    second = await bus.publish(js, "bustest.dedup", Ping(n=1), msg_id="dedup-1")
    assert not first.duplicate
    assert second.duplicate
    assert second.seq == first.seq


async def _collect_dead_letters(nc: NATS, stage: str, count: int) -> list[DeadLetter]:
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subjects.deadletter_subject(stage), stream=subjects.DEADLETTER_STREAM.name
    )
    letters: list[DeadLetter] = []
    while len(letters) < count:
        for msg in await sub.fetch(count - len(letters), timeout=5):
            letters.append(DeadLetter.model_validate_json(msg.data))
            await msg.ack()
    await sub.unsubscribe()
    return letters


async def test_undecodable_message_is_dead_lettered_and_stream_goes_on(nc: NATS) -> None:
    js = nc.jetstream()
    await bus.ensure_streams(js, [TEST_STREAM, subjects.DEADLETTER_STREAM])
    stage = "bustest-decode"
    subject = "bustest.decode"
    await js.publish(subject, b'{"n": 1}', headers={bus.MSG_ID_HEADER: "decode-ok-1"})
    await js.publish(subject, b"{not json", headers={bus.MSG_ID_HEADER: "decode-bad"})
    await js.publish(subject, b'{"n": "two"}', headers={bus.MSG_ID_HEADER: "decode-bad-2"})
    await js.publish(subject, b'{"n": 3}', headers={bus.MSG_ID_HEADER: "decode-ok-3"})

    seen: list[int] = []
    done = asyncio.Event()

    async def handle(batch: Sequence[bus.Delivery[Ping]]) -> None:
        seen.extend(d.message.n for d in batch)
        if 3 in seen:
            done.set()

    consumer = bus.BatchConsumer(
        js, stage=stage, stream=TEST_STREAM.name, subject=subject,
        durable=stage, model=Ping, handler=handle, fetch_timeout_s=0.2,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(done.wait(), 10)
    stop.set()
    await task

    assert 1 in seen and 3 in seen
    letters = await _collect_dead_letters(nc, stage, 2)
    reasons = {letter.message_id: letter.reason for letter in letters}
    assert "Invalid JSON" in reasons["decode-bad"]
    assert reasons["decode-bad-2"].startswith("n:")
    assert all(letter.error_type == "decode" for letter in letters)
    assert json.loads('{"n": "two"}') == json.loads(
        next(x.payload for x in letters if x.message_id == "decode-bad-2")
    )


async def test_poison_message_is_dead_lettered_after_max_attempts(nc: NATS) -> None:
    js = nc.jetstream()
    await bus.ensure_streams(js, [TEST_STREAM, subjects.DEADLETTER_STREAM])
    stage = "bustest-poison"
    subject = "bustest.poison"
    stamp = datetime.now(UTC).timestamp()
    for n in (10, 666, 11):
        await bus.publish(js, subject, Ping(n=n), msg_id=f"poison-{stamp}-{n}")

    handled: list[int] = []
    transient_failures = 0

    async def handle(batch: Sequence[bus.Delivery[Ping]]) -> None:
        nonlocal transient_failures
        if transient_failures < 2:
            transient_failures += 1
            raise TransientError("database down")
        if any(d.message.n == 666 for d in batch):
            raise ValueError("cannot score 666")
        handled.extend(d.message.n for d in batch)

    consumer = bus.BatchConsumer(
        js, stage=stage, stream=TEST_STREAM.name, subject=subject,
        durable=stage, model=Ping, handler=handle, fetch_timeout_s=0.2,
        max_attempts=3, retry_delay_s=0.05,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    letters = await asyncio.wait_for(_collect_dead_letters(nc, stage, 1), 20)
    stop.set()
    await task

    assert sorted(handled) == [10, 11]
    assert letters[0].delivered_count == 3
    assert "cannot score 666" in letters[0].reason
    assert letters[0].error_type == "ValueError"
