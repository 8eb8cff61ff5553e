"""Replay of recorded real transactions onto a real JetStream: counts, dedup, dead letters."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

from nats.js import JetStreamContext

from chainwatch.ingest.publisher import TxPublisher
from chainwatch.ingest.replay import ReplayPlan, replay
from chainwatch.shared import subjects
from chainwatch.shared.schemas import DeadLetter, RawTransaction

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"


async def stored(js: JetStreamContext, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


async def read_stream(js: JetStreamContext, stream: str) -> list[bytes]:
    count = await stored(js, stream)
    return [(await js.get_msg(stream, seq)).data or b"" for seq in range(1, count + 1)]


async def test_block_277647_is_published_once_and_a_second_replay_adds_nothing(
    js: JetStreamContext, data_dir: Path
) -> None:
    plan = ReplayPlan(data_dir=data_dir, files=("block277647",))
    stop = asyncio.Event()

    first = await replay(TxPublisher(js), plan, stop)
    assert (first.records, first.published, first.duplicates, first.dead_lettered) == (
        213, 213, 0, 0,
    )  # fmt: skip
    assert await stored(js, subjects.TX_RAW_STREAM.name) == 213

    second = await replay(TxPublisher(js), plan, stop)
    assert (second.records, second.published, second.duplicates) == (213, 0, 213)
    assert await stored(js, subjects.TX_RAW_STREAM.name) == 213

    messages = [
        RawTransaction.model_validate_json(data)
        for data in await read_stream(js, subjects.TX_RAW_STREAM.name)
    ]
    recorded = json.loads((data_dir / BLOCK_277647).read_text())
    assert [m.tx.txid for m in messages] == [tx["txid"] for tx in recorded]
    assert {m.source for m in messages} == {f"replay:{BLOCK_277647}"}
    assert sum(m.tx.fee or 0 for m in messages) == 2_504_737_355 - 25 * 100_000_000


async def test_malformed_records_go_to_the_dead_letter_subject_and_replay_goes_on(
    js: JetStreamContext, data_dir: Path, tmp_path: Path
) -> None:
    good, other = json.loads((data_dir / BLOCK_277647).read_text())[1:3]
    wrong_fee = dict(other, fee=other["fee"] + 1)
    path = tmp_path / "bad.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"{truncated\n")
        out.write(json.dumps(wrong_fee).encode() + b"\n")
        out.write(json.dumps(good).encode() + b"\n")

    result = await replay(
        TxPublisher(js), ReplayPlan(data_dir=tmp_path, files=("bad.jsonl.gz",)), asyncio.Event()
    )

    assert (result.records, result.published, result.dead_lettered) == (3, 1, 2)
    letters = [
        DeadLetter.model_validate_json(data)
        for data in await read_stream(js, subjects.DEADLETTER_STREAM.name)
    ]
    assert all(letter.stage == "ingest" for letter in letters)
    by_location = {letter.original_subject: letter for letter in letters}
    truncated = by_location["replay:bad.jsonl.gz#0"]
    assert "not valid JSON" in truncated.reason and truncated.payload == "{truncated"
    fee = by_location["replay:bad.jsonl.gz#1"]
    assert fee.reason == f"fee: {other['fee'] + 1} disagrees with prevouts ({other['fee']})"
    assert fee.message_id == other["txid"] and json.loads(fee.payload) == wrong_fee
    [message] = await read_stream(js, subjects.TX_RAW_STREAM.name)
    assert RawTransaction.model_validate_json(message).tx.txid == good["txid"]


async def test_replay_keeps_to_its_rate(js: JetStreamContext, data_dir: Path) -> None:
    plan = ReplayPlan(data_dir=data_dir, files=("block277647",), rate_tx_s=1000)
    started_s = time.monotonic()
    result = await replay(TxPublisher(js), plan, asyncio.Event())
    assert result.published == 213
    assert time.monotonic() - started_s >= 212 / 1000


async def test_stop_ends_a_replay_early(js: JetStreamContext, data_dir: Path) -> None:
    stop = asyncio.Event()
    acked: list[str] = []

    def on_ack(tx: object, _: object) -> None:
        acked.append(getattr(tx, "txid", ""))
        if len(acked) == 20:
            stop.set()

    publisher = TxPublisher(js, on_ack=on_ack)
    plan = ReplayPlan(data_dir=data_dir, files=("block277647",), rate_tx_s=2000)
    result = await replay(publisher, plan, stop)
    await publisher.close()

    assert not result.finished
    assert 20 <= result.records < 213
    assert await stored(js, subjects.TX_RAW_STREAM.name) == len(acked) < 213
