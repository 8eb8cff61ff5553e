"""The transactions of a recent window, read back from the ``chainwatch.tx.raw`` stream.

A retraining run asked for by the drift service trains on what the platform has seen
lately, not on the configured files: ``StreamTransactions`` reads the normalised
transactions ingest published in a ``TrainingWindow`` (by their arrival time in the
stream), up to the stream's last message when the read starts, so a run never chases a
stream that keeps growing. Their time in the data set is that arrival time: the order in
which the scorer met them, which is the order a time split must respect.

Only the newest ``max_transactions`` of the window are kept (an open-ended window starts
reading there), so a long window on a busy mempool bounds the trainer's memory: about 10 KiB
per decoded transaction, some 2 GiB at the default 200,000. The data set's description says
when the cap cut the window, and when the window starts before the stream's oldest message
(older ones aged out). A read that stalls is retried, then fails the run: never a partial
window that looks whole.
A message that does not decode as a ``RawTransaction`` is counted and passed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import DecodeError, TransientError
from chainwatch.shared.retraining import TrainingWindow
from chainwatch.shared.schemas import RawTransaction
from chainwatch.shared.settings import NatsSettings
from chainwatch.trainer.dataset import LoadedTransactions, TimedTransaction
from chainwatch.trainer.registry import connect_within

logger = logging.getLogger(__name__)

SOURCE = subjects.TX_RAW_STREAM.name
GOODBYE_TIMEOUT_S = 2.0


class EmptyWindowError(ValueError):
    """The window holds no transaction to train on."""


class StreamTransactions:
    """Transactions that reached ``chainwatch.tx.raw`` within a window, in arrival order."""

    def __init__(
        self,
        nats: NatsSettings,
        max_transactions: int = 200_000,
        batch_size: int = 2_000,
        *,
        fetch_timeout_s: float = 2.0,
        max_stalls: int = 5,
    ) -> None:
        self.nats = nats
        self.max_transactions = max_transactions
        self.batch_size = batch_size
        self.fetch_timeout_s = fetch_timeout_s
        self.max_stalls = max_stalls

    def load(self, window: TrainingWindow) -> LoadedTransactions:
        """Every decodable transaction of ``window``; raises ``EmptyWindowError`` on none."""
        return asyncio.run(self._load(window))

    async def _load(self, window: TrainingWindow) -> LoadedTransactions:
        nc = await connect_within(self.nats, "chainwatch-trainer-window")
        try:
            js = nc.jetstream(timeout=max(1.0, 2 * self.fetch_timeout_s))
            try:
                state = (await js.stream_info(SOURCE)).state
            except nats.js.errors.NotFoundError:
                raise EmptyWindowError(
                    f"stream {SOURCE} does not exist: nothing to train on"
                ) from None
            if state.messages == 0:
                raise EmptyWindowError(f"stream {SOURCE} is empty: nothing to train on")
            kept, skipped = await self._read(js, window, state.last_seq)
        except BaseException:
            await _quietly(nc.close())  # not drain: it waits out a server that went away
            raise
        await _quietly(nc.drain())

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
        self, js: JetStreamContext, window: TrainingWindow, last_seq: int
    ) -> tuple[list[tuple[TimedTransaction, int]], Counter[str]]:
        """(transaction, stream sequence) pairs in arrival order, and what was skipped.

        Reads to ``last_seq`` (or the window's end) and no further. A fetch that times out
        before then ends the read only when the consumer has nothing left to deliver (the
        rest was deleted); otherwise it is a stall, waited out ``max_stalls`` times and
        then a ``TransientError``: a window read in part must not train as if it were whole.
        """
        skipped: Counter[str] = Counter()
        sub = await self._subscribe(js, DeliverPolicy.BY_START_TIME, opt_start_time=window.start)
        try:
            first_seq = await self._first_sequence(sub)
            if first_seq is None or first_seq > last_seq:
                return [], skipped
            # Read again from the first sequence, or, for an open window longer than the
            # cap, from the newest messages: what would be dropped is not decoded.
            start = first_seq
            if window.end is None:
                start = max(first_seq, last_seq - self.max_transactions + 1)
            if start > first_seq:
                skipped["beyond_cap"] = start - first_seq
            await sub.unsubscribe()
            sub = await self._subscribe(js, DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
            kept = await self._collect(sub, window, last_seq, skipped)
        finally:
            await _quietly(sub.unsubscribe())
        return kept, skipped

    async def _subscribe(
        self, js: JetStreamContext, policy: DeliverPolicy, **start: Any
    ) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            deliver_policy=policy, ack_policy=AckPolicy.NONE, inactive_threshold=60.0, **start
        )
        return await js.pull_subscribe(subjects.TX_RAW, stream=SOURCE, config=config)

    async def _first_sequence(self, sub: JetStreamContext.PullSubscription) -> int | None:
        """The stream sequence of the consumer's first message; None when it has none."""
        if (await sub.consumer_info()).num_pending == 0:
            return None
        [msg] = await self._fetch(sub, 1, "the window's first message")
        return int(msg.metadata.sequence.stream)

    async def _fetch(
        self, sub: JetStreamContext.PullSubscription, batch: int, what: str
    ) -> list[Msg]:
        for _ in range(self.max_stalls):
            try:
                return await sub.fetch(batch, timeout=self.fetch_timeout_s)
            except nats.errors.TimeoutError:
                pass
            try:
                if (await sub.consumer_info()).num_pending == 0:
                    return []
            except nats.js.errors.NotFoundError:
                raise TransientError(
                    f"reading {SOURCE}: {what}: the consumer is gone (did the server restart?)"
                ) from None
            except nats.errors.TimeoutError:
                continue  # the server is slow to answer too: a stall like the fetch's
        raise TransientError(
            f"reading {SOURCE} stalled {self.max_stalls} times on {what}: "
            "not training on part of the window"
        )

    async def _collect(
        self,
        sub: JetStreamContext.PullSubscription,
        window: TrainingWindow,
        last_seq: int,
        skipped: Counter[str],
    ) -> list[tuple[TimedTransaction, int]]:
        kept: deque[tuple[TimedTransaction, int]] = deque(maxlen=self.max_transactions)
        seen: set[str] = set()
        read_to = 0
        while read_to < last_seq:
            msgs = await self._fetch(sub, self.batch_size, f"sequences after {read_to}")
            if not msgs:
                break  # nothing left to deliver: the rest of the window was deleted
            for msg in msgs:
                meta = msg.metadata
                read_to = meta.sequence.stream
                if read_to > last_seq or (window.end is not None and meta.timestamp > window.end):
                    return list(kept)
                try:
                    raw = bus.decode(RawTransaction, msg.data, msg.subject)
                except DecodeError as exc:
                    logger.warning("not training on %s %d: %s", SOURCE, read_to, exc.reason)
                    skipped["undecodable"] += 1
                    continue
                if raw.tx.txid in seen:
                    skipped["duplicate"] += 1
                    continue
                seen.add(raw.tx.txid)
                if len(kept) == kept.maxlen:
                    skipped["beyond_cap"] += 1
                kept.append((TimedTransaction(raw.tx, int(meta.timestamp.timestamp()), raw.source),
                             read_to))  # fmt: skip
        return list(kept)


async def _quietly(goodbye: Awaitable[None]) -> None:
    """Unsubscribe or drain, briefly: what was read does not depend on a clean goodbye, and
    a failure here must not hide the read's own error (or wait on a server that is gone)."""
    with contextlib.suppress(nats.errors.Error, TimeoutError):
        await asyncio.wait_for(goodbye, GOODBYE_TIMEOUT_S)


def _iso(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _iso_ts(time_ts: int) -> str:
    return _iso(datetime.fromtimestamp(time_ts, UTC))
