"""The verdict outbox: verdicts committed to PostgreSQL, published to NATS when it can.

``VerdictOutbox.run`` takes the oldest unpublished rows of ``verdict_outbox`` (locked with
``SKIP LOCKED``, so replicas share the work without sending a row twice at once),
publishes them on ``chainwatch.review.verdict`` with the verdict id as ``Nats-Msg-Id``,
and stamps them published. When NATS does not acknowledge, the rows stay unpublished and
are tried again with a growing delay, for as long as it takes. A verdict therefore reaches
the bus at least once; JetStream's duplicate window (a day) and the verdict id make a
repeat harmless.

The drainer wakes when a verdict is recorded (``wake``) and otherwise every
``outbox_poll_s`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import asyncpg
from nats.js import JetStreamContext

from chainwatch.shared import bus
from chainwatch.shared.bus import MSG_ID_HEADER, SCHEMA_HEADER
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.verdicts import REVIEW_STREAM

logger = logging.getLogger(__name__)

BATCH_ROWS = 100
MAX_RETRY_DELAY_S = 60


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    published: int
    failures: int


class VerdictOutbox:
    def __init__(
        self, pool: asyncpg.Pool, js: JetStreamContext, *, poll_s: float, publish_timeout_s: float
    ) -> None:
        self.pool = pool
        self.js = js
        self.poll_s = poll_s
        self.publish_timeout_s = publish_timeout_s
        self.published = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._streams_ready = False

    def wake(self) -> None:
        """Look at the outbox now: a verdict was just recorded, or the app is stopping."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until ``stop`` is set; a failed round is logged and tried again later."""
        logger.info("verdict outbox running")
        while not stop.is_set():
            try:
                more = await self.drain_once()
            except DATABASE_ERRORS as exc:
                logger.warning("verdict outbox cannot reach the database: %s", exc)
                more = False
            except Exception:
                # The boundary of the worker: one bad round must not end verdict delivery.
                logger.exception("verdict outbox round failed")
                more = False
            if more:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
        logger.info("verdict outbox stopped (%d published)", self.published)

    async def drain_once(self) -> bool:
        """Publish one batch of due rows; True when a full batch went out (more may wait)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT verdict_id, subject, payload, attempts FROM verdict_outbox
                WHERE published_at IS NULL AND next_attempt_at <= now()
                ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
                """,
                BATCH_ROWS,
            )
            if not rows:
                return False
            try:
                await self._publish(rows)
            except bus.TRANSIENT_ERRORS as exc:
                self.failures += 1
                self._streams_ready = False  # declare the stream again on the next round
                await conn.executemany(
                    """
                    UPDATE verdict_outbox SET attempts = attempts + 1, last_error = $2,
                        next_attempt_at = now() + make_interval(secs => $3)
                    WHERE verdict_id = $1
                    """,
                    [
                        (r["verdict_id"], f"{type(exc).__name__}: {exc}"[:500], _delay_s(r))
                        for r in rows
                    ],
                )
                logger.warning("%d verdicts not published yet, will retry: %s", len(rows), exc)
                return False
            await conn.execute(
                "UPDATE verdict_outbox SET published_at = now(), attempts = attempts + 1"
                " WHERE verdict_id = ANY($1::uuid[])",
                [r["verdict_id"] for r in rows],
            )
        self.published += len(rows)
        logger.info("published %d verdicts", len(rows))
        return len(rows) == BATCH_ROWS

    async def _publish(self, rows: list[asyncpg.Record]) -> None:
        if not self._streams_ready:
            await bus.ensure_streams(self.js, [REVIEW_STREAM])
            self._streams_ready = True
        futures = []
        for row in rows:
            headers = {MSG_ID_HEADER: str(row["verdict_id"]), SCHEMA_HEADER: "1"}
            futures.append(
                await self.js.publish_async(
                    row["subject"], row["payload"].encode(), headers=headers
                )
            )
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                await asyncio.gather(*futures)
        finally:
            for future in futures:
                future.cancel()

    async def stats(self) -> OutboxStats:
        pending = await self.pool.fetchval(
            "SELECT count(*) FROM verdict_outbox WHERE published_at IS NULL"
        )
        return OutboxStats(pending=pending, published=self.published, failures=self.failures)


def _delay_s(row: asyncpg.Record) -> float:
    return float(min(MAX_RETRY_DELAY_S, 2 ** min(row["attempts"], 6)))
