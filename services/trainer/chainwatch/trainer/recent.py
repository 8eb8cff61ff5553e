"""The transactions of a recent window, read back from the ``chainwatch.tx.raw`` stream.

A retraining run asked for by the drift service trains on what the platform has seen
lately, not on the configured files: ``StreamTransactions`` reads the normalised
transactions ingest published in a ``TrainingWindow`` (by their arrival time in the
stream), up to the stream's last message when the read starts, so a run never chases a
stream that keeps growing. Their time in the data set is that arrival time: the order in
which the scorer met them, which is the order a time split must respect.

Only the newest ``max_transactions`` of the window are kept, so a long window on a busy
mempool bounds the trainer's memory; the data set's description says when that happened,
and when the window starts before the stream's oldest message (older ones aged out).
A message that does not decode as a ``RawTransaction`` is counted and passed over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import DecodeError
from chainwatch.shared.retraining import TrainingWindow
from chainwatch.shared.schemas import RawTransaction
from chainwatch.shared.settings import NatsSettings
from chainwatch.trainer.dataset import LoadedTransactions, TimedTransaction
from chainwatch.trainer.registry import connect_within

logger = logging.getLogger(__name__)

SOURCE = subjects.TX_RAW_STREAM.name


class EmptyWindowError(ValueError):
    """The window holds no transaction to train on."""


class StreamTransactions:
    """Transactions that reached ``chainwatch.tx.raw`` within a window, in arrival order."""

    def __init__(
        self, nats: NatsSettings, max_transactions: int = 500_000, batch_size: int = 2_000
    ) -> None:
        self.nats = nats
        self.max_transactions = max_transactions
        self.batch_size = batch_size

    def load(self, window: TrainingWindow) -> LoadedTransactions:
        """Every decodable transaction of ``window``; raises ``EmptyWindowError`` on none."""
        return asyncio.run(self._load(window))

    async def _load(self, window: TrainingWindow) -> LoadedTransactions:
        nc = await connect_within(self.nats, "chainwatch-trainer-window")
        try:
            js = nc.jetstream()
            try:
                state = (await js.stream_info(SOURCE)).state
            except nats.js.errors.NotFoundError:
                raise EmptyWindowError(
                    f"stream {SOURCE} does not exist: nothing to train on"
                ) from None
            if state.messages == 0:
                raise EmptyWindowError(f"stream {SOURCE} is empty: nothing to train on")
            kept, skipped = await self._read(js, window, state.last_seq)
        finally:
            await nc.drain()

        if not kept:
            raise EmptyWindowError(f"no transaction in {SOURCE} {window.describe()}")
        notes = []
        if skipped["beyond_cap"]:
            notes.append(f"only the newest {self.max_transactions} kept")
        first, last = kept[0], kept[-1]
        if first[1] == state.first_seq and state.first_seq > 1:
            notes.append(f"the stream holds nothing older: sequences before {first[1]} aged out")
        description = (
            f"stream {SOURCE}: {len(kept)} transactions {window.describe()}, "
            f"sequences {first[1]}-{last[1]}, arrived {_iso_ts(first[0].time_ts)} to "
            f"{_iso_ts(last[0].time_ts)}" + (f" ({'; '.join(notes)})" if notes else "")
        )
        logger.info("training window: %s (skipped %s)", description, dict(skipped) or "none")
        return LoadedTransactions([t for t, _ in kept], dict(skipped), description)

    async def _read(
        self, js: nats.js.JetStreamContext, window: TrainingWindow, last_seq: int
    ) -> tuple[list[tuple[TimedTransaction, int]], Counter[str]]:
        """(transaction, stream sequence) pairs in arrival order, and what was skipped."""
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=window.start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
        )
        sub = await js.pull_subscribe(subjects.TX_RAW, stream=SOURCE, config=config)
        kept: deque[tuple[TimedTransaction, int]] = deque(maxlen=self.max_transactions)
        skipped: Counter[str] = Counter()
        seen: set[str] = set()
        try:
            while True:
                try:
                    msgs = await sub.fetch(self.batch_size, timeout=2.0)
                except nats.errors.TimeoutError:
                    break  # nothing after the window's start, or the end was deleted
                done = not msgs
                for msg in msgs:
                    meta = msg.metadata
                    if meta.sequence.stream > last_seq or (
                        window.end is not None and meta.timestamp > window.end
                    ):
                        done = True
                        break
                    try:
                        raw = bus.decode(RawTransaction, msg.data, msg.subject)
                    except DecodeError as exc:
                        logger.warning("not training on %s %d: %s", SOURCE, meta.sequence.stream,
                                       exc.reason)  # fmt: skip
                        skipped["undecodable"] += 1
                        continue
                    if raw.tx.txid in seen:
                        skipped["duplicate"] += 1
                        continue
                    seen.add(raw.tx.txid)
                    if len(kept) == kept.maxlen:
                        skipped["beyond_cap"] += 1
                    timed = TimedTransaction(raw.tx, int(meta.timestamp.timestamp()), raw.source)
                    kept.append((timed, meta.sequence.stream))
                if done or msgs[-1].metadata.sequence.stream >= last_seq:
                    break
        finally:
            await sub.unsubscribe()
        return list(kept), skipped


def _iso(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _iso_ts(time_ts: int) -> str:
    return _iso(datetime.fromtimestamp(time_ts, UTC))
