"""The transaction behind an alert: its inputs and outputs, kept as long as the audit trail.

The audit trail records the decision, not the transaction; the transaction is on the raw
stream (``CHAINWATCH_TX_RAW``, kept a week) at the sequence the scorer recorded as
``stream_seq``. The archive copies it from there into ``case_transaction`` with every
address it names, so a case, its report and the address search stay complete after the
stream has let it go. Flagged decisions are archived as they arrive (``request``); a case
opened before that is archived on first view (``get``).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from chainwatch.shared import bus, subjects
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import DecodeError, TransientError
from chainwatch.shared.schemas import RawTransaction, Transaction

logger = logging.getLogger(__name__)

QUEUE_SIZE = 10_000


def addresses_of(tx: Transaction) -> list[str]:
    """Every address the transaction spends from or pays to, each once, in order."""
    found = [i.prevout.scriptpubkey_address for i in tx.vin if i.prevout is not None]
    found += [o.scriptpubkey_address for o in tx.vout]
    return list(dict.fromkeys(a for a in found if a))


class TransactionArchive:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext) -> None:
        self.pool = pool
        self.js = js
        self.archived = 0
        self._queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)

    def request(self, txid: str) -> None:
        """Archive ``txid`` soon; when the queue is full it is archived on first view."""
        try:
            self._queue.put_nowait(txid)
        except asyncio.QueueFull:
            logger.debug("archive queue full; %s will be archived when opened", txid)

    async def run(self, stop: asyncio.Event) -> None:
        """Archive requested transactions until ``stop`` is set."""
        while not stop.is_set():
            try:
                async with asyncio.timeout(1.0):
                    txid = await self._queue.get()
            except TimeoutError:
                continue
            try:
                await self.get(txid)
            except Exception:
                # The boundary of the worker: the next request is still served.
                logger.exception("could not archive transaction %s", txid)

    async def get(self, txid: str) -> Transaction | None:
        """The transaction of the decision ``txid``, from the archive or the raw stream.

        None when the decision is unknown or the stream no longer holds it and it was never
        archived. Raises ``TransientError`` when the database is unreachable.
        """
        try:
            row = await self.pool.fetchrow(
                "SELECT c.tx, d.stream_seq FROM audit_decision d"
                " LEFT JOIN case_transaction c ON c.txid = d.txid WHERE d.txid = $1",
                txid,
            )
        except DATABASE_ERRORS as exc:
            raise TransientError(f"database unavailable: {type(exc).__name__}") from exc
        if row is None:
            return None
        if row["tx"] is not None:
            return Transaction.model_validate_json(row["tx"])
        if row["stream_seq"] is None:
            return None

        tx = await self._from_stream(txid, row["stream_seq"])
        if tx is not None:
            await self.pool.execute(
                "INSERT INTO case_transaction (txid, tx, addresses) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                txid,
                tx.model_dump_json(),
                addresses_of(tx),
            )
            self.archived += 1
        return tx

    async def _from_stream(self, txid: str, seq: int) -> Transaction | None:
        try:
            msg = await self.js.get_msg(subjects.TX_RAW_STREAM.name, seq)
        except nats.js.errors.NotFoundError:
            logger.info("raw stream no longer holds %s (seq %d)", txid, seq)
            return None
        except (nats.errors.Error, TimeoutError) as exc:
            logger.warning("could not read %s from the raw stream: %s", txid, exc)
            return None
        try:
            raw = bus.decode(RawTransaction, msg.data or b"", subjects.TX_RAW)
        except DecodeError as exc:
            logger.warning("raw message %d does not decode: %s", seq, exc.reason)
            return None
        if raw.tx.txid != txid:
            logger.warning("raw message %d is %s, not %s", seq, raw.tx.txid, txid)
            return None
        return raw.tx
