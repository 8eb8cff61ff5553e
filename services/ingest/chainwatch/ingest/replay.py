"""The replay source: recorded real transactions onto the bus at a chosen pace.

It reads the files ``recorded.resolve_files`` selects, normalises each record and publishes
it on ``chainwatch.tx.raw`` (txid as message id), at ``rate_tx_s`` transactions per second
or, with a rate of 0, as fast as JetStream acknowledges. A record that does not normalise
is dead-lettered with the reason and the replay goes on. Replaying the same files twice
publishes nothing new while the stream's duplicate window lasts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from chainwatch.ingest.publisher import PublishCounts, TxPublisher
from chainwatch.ingest.recorded import ReplayOrder, read_records, resolve_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayPlan:
    """What to replay and how fast.

    ``files`` are presets, paths or globs relative to ``data_dir`` (see ``recorded``);
    ``rate_tx_s`` is records per second, 0 for as fast as possible.
    """

    data_dir: Path
    files: tuple[str, ...] = ("block277647",)
    order: ReplayOrder = "listed"
    seed: int = 0
    rate_tx_s: float = 0.0


@dataclass(frozen=True)
class ReplayResult:
    """How a replay went: records read, and what became of them."""

    records: int
    published: int
    duplicates: int
    dead_lettered: int
    failed: int
    elapsed_s: float
    finished: bool

    @property
    def rate_tx_s(self) -> float:
        """Records handled per second, acknowledgements included."""
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Pacer:
    """Spaces calls to ``wait`` at ``rate_per_s``; a rate of 0 never waits.

    After a stall (a slow bus) it does not burst to catch up by more than one second's worth.
    """

    def __init__(self, rate_per_s: float) -> None:
        self.rate_per_s = rate_per_s
        self._start_s = time.monotonic()
        self._count = 0

    async def wait(self, stop: asyncio.Event) -> None:
        if self.rate_per_s <= 0:
            return
        self._count += 1
        now_s = time.monotonic()
        due_s = self._start_s + self._count / self.rate_per_s
        if now_s - due_s > 1.0:
            self._start_s, self._count = now_s, 0
            return
        if due_s > now_s:
            await wait_or_stop(stop, due_s - now_s)


async def wait_or_stop(stop: asyncio.Event, timeout_s: float) -> bool:
    """Sleep ``timeout_s`` or until ``stop`` is set; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


async def replay(publisher: TxPublisher, plan: ReplayPlan, stop: asyncio.Event) -> ReplayResult:
    """Publish every record of ``plan`` through ``publisher``; return when done or stopped.

    Unless stopped, every publish handed over is acknowledged before this returns; when
    stopped, the caller closes the publisher, which finishes or gives up what is in flight.
    Raises ``ConfigurationError`` when a file name selects nothing.
    """
    files = resolve_files(plan.data_dir, plan.files)
    logger.info(
        "replaying %d files (%s, order=%s, rate=%s tx/s)",
        len(files),
        ", ".join(plan.files),
        plan.order,
        plan.rate_tx_s or "max",
    )
    before = PublishCounts(**vars(publisher.counts))
    pacer = Pacer(plan.rate_tx_s)
    started_s = time.monotonic()
    records = 0

    for record in read_records(files, plan.data_dir, plan.order, plan.seed):
        if stop.is_set():
            break
        await pacer.wait(stop)
        records += 1
        if record.error is not None:
            await publisher.reject(record.encoded(), record.error, location=record.location)
            continue
        await publisher.submit_record(
            record.payload, source=record.file_label, location=record.location
        )

    if not stop.is_set():
        await publisher.flush()
    counts = publisher.counts
    result = ReplayResult(
        records=records,
        published=counts.published - before.published,
        duplicates=counts.duplicates - before.duplicates,
        dead_lettered=counts.dead_lettered - before.dead_lettered,
        failed=counts.failed - before.failed,
        elapsed_s=time.monotonic() - started_s,
        finished=not stop.is_set(),
    )
    logger.info(
        "replay %s: %d records, %d published, %d duplicates, %d dead-lettered in %.1fs",
        "finished" if result.finished else "stopped",
        result.records,
        result.published,
        result.duplicates,
        result.dead_lettered,
        result.elapsed_s,
    )
    return result
