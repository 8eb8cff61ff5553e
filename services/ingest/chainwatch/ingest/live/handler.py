"""What the live source does with each message: transactions, blocks, replacements, state.

- A transaction is published on ``tx.raw`` the first time it is seen, from whichever
  message brings it: a mempool delta, a replacement, a resynchronisation, a block.
- A block: its txids are fetched over REST; any not yet published are fetched in full (25
  per request) and published, then one ``TxConfirmed`` per txid, then ``BlockConnected``
  last, once all of them are acknowledged. A block whose ``BlockConnected`` is on the
  stream is done and not fetched again, across restarts too.
- A replacement publishes ``TxReplaced``; a txid removed from the mempool that was neither
  replaced nor mined publishes ``TxEvicted``.
- Mempool state publishes a ``MempoolSnapshot`` at most every ``snapshot_min_interval_s``.

A message, or one transaction in it, that cannot be used is dead-lettered with the reason;
a REST failure is logged and left for the next resynchronisation or block to repair.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from chainwatch.ingest.errors import NormaliseError, SourceError
from chainwatch.ingest.live.client import MempoolRest
from chainwatch.ingest.live.messages import (
    BlockSeen,
    MempoolDelta,
    MempoolState,
    MessageError,
    Replacement,
    parse_message,
)
from chainwatch.ingest.live.seen import SeenTxids
from chainwatch.ingest.normalise import normalise_json
from chainwatch.ingest.publisher import TxPublisher
from chainwatch.shared import subjects
from chainwatch.shared.mempool_events import (
    BlockConnected,
    MempoolSnapshot,
    ProjectedBlock,
    RecommendedFees,
    TxConfirmed,
    TxEvicted,
    TxReplaced,
)

logger = logging.getLogger(__name__)

BLOCK_PAGE_SIZE = 25
"""Transactions per ``/api/block/:hash/txs/:start`` page (Esplora's fixed page size)."""


class RecentKeys:
    """A bounded set of recent keys (replacement pairs, confirmed txids), oldest forgotten."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: str) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
        return True


class LiveHandler:
    """Turns parsed websocket messages and REST answers into messages on the bus."""

    def __init__(
        self,
        *,
        source: str,
        publisher: TxPublisher,
        rest: MempoolRest,
        seen: SeenTxids,
        blocks_done: SeenTxids,
        resync_full_mempool: bool = False,
        resync_max_txs: int = 50_000,
        catchup_blocks: int = 3,
        snapshot_min_interval_s: float = 5.0,
    ) -> None:
        self.source = source
        self.publisher = publisher
        self.rest = rest
        self.seen = seen
        self.blocks_done = blocks_done
        self.resync_full_mempool = resync_full_mempool
        self.resync_max_txs = resync_max_txs
        self.catchup_blocks = catchup_blocks
        self.snapshot_min_interval_s = snapshot_min_interval_s
        self._replacements = RecentKeys()
        self._confirmed = RecentKeys()
        self._rbf_signal: OrderedDict[str, bool] = OrderedDict()
        self._state = MempoolState()
        self._last_snapshot_s: float | None = None

    async def handle_raw(self, data: str | bytes, location: str) -> None:
        """Parse and handle one websocket message; an unusable one is dead-lettered."""
        try:
            message = parse_message(data)
        except MessageError as exc:
            payload = data.encode() if isinstance(data, str) else data
            await self.publisher.reject(
                payload, NormaliseError(None, exc.reason), location=location
            )
            return

        if message.delta is not None:
            await self._delta(message.delta, location)
        for replacement in message.replacements:
            await self._replaced(replacement, location)
        if message.recent_blocks and self.catchup_blocks:
            for block in sorted(message.recent_blocks, key=lambda b: b.height)[
                -self.catchup_blocks :
            ]:
                await self.block(block)
        if message.block is not None:
            await self.block(message.block)
        if message.state is not None:
            await self._mempool_state(message.state, location, data)

    async def resync(self) -> None:
        """After (re)connecting: publish mempool transactions missed while away."""
        recent = await self.rest.mempool_recent()
        txids = [item.get("txid") for item in recent if isinstance(item, Mapping)]
        if self.resync_full_mempool:
            txids += await self.rest.mempool_txids()
        missing = list(dict.fromkeys(t for t in txids if isinstance(t, str) and t not in self.seen))
        if len(missing) > self.resync_max_txs:
            logger.warning(
                "resync: %d txids missing, fetching %d", len(missing), self.resync_max_txs
            )
            missing = missing[: self.resync_max_txs]
        published = await self.fetch_and_publish(missing)
        logger.info("resync: %d txids checked, %d published", len(txids), published)

    async def fetch_and_publish(self, txids: Iterable[str]) -> int:
        """Fetch each unseen txid over REST and publish it; returns how many were published.

        A txid is marked seen before its fetch, so two messages naming it fetch it once; a
        failed fetch unmarks it, for the next resynchronisation or block to try again.
        """
        todo = [txid for txid in dict.fromkeys(txids) if self.seen.add(txid)]
        results = await asyncio.gather(*(self._fetch_one(t) for t in todo))
        return sum(results)

    async def block(self, block: BlockSeen) -> None:
        """Publish a block's unseen transactions, its confirmations, then the block itself."""
        if block.block_hash in self.blocks_done:
            return
        try:
            txids = await self.rest.block_txids(block.block_hash)
        except SourceError as exc:
            logger.warning("block %d not fetched, will retry: %s", block.height, exc)
            return
        if not txids:
            logger.warning("block %d: %s has no txids (yet)", block.height, block.block_hash)
            return

        missing = {i // BLOCK_PAGE_SIZE for i, t in enumerate(txids) if t not in self.seen}
        for page in sorted(missing):
            if not await self._block_page(block, page * BLOCK_PAGE_SIZE):
                return

        observed_at = datetime.now(UTC)
        for position, txid in enumerate(txids):
            self._confirmed.add(txid)
            confirmed = TxConfirmed(
                txid=txid,
                block_hash=block.block_hash,
                height=block.height,
                block_time_ts=block.block_time_ts,
                position=position,
                source=self.source,
                observed_at=observed_at,
            )
            msg_id = f"confirmed:{txid}:{block.block_hash}"
            await self.publisher.submit_event(subjects.TX_CONFIRMED, confirmed, msg_id=msg_id)
        await self.publisher.flush()

        connected = BlockConnected(
            block_hash=block.block_hash,
            height=block.height,
            block_time_ts=block.block_time_ts,
            tx_count=len(txids),
            source=self.source,
            observed_at=observed_at,
        )
        await self.publisher.submit_event(
            subjects.BLOCK_CONNECTED, connected, msg_id=block.block_hash
        )
        await self.publisher.flush()
        self.blocks_done.add(block.block_hash)
        logger.info("block %d: %d txs confirmed", block.height, len(txids))

    async def _block_page(self, block: BlockSeen, start: int) -> bool:
        try:
            records = await self.rest.block_txs(block.block_hash, start)
        except SourceError as exc:
            logger.warning("block %d page %d not fetched, will retry: %s", block.height, start, exc)
            return False
        for index, record in enumerate(records):
            location = f"{self.rest.base_url}/api/block/{block.block_hash}/txs/{start}#{index}"
            await self._publish_record(record, location, first_seen_ts=None)
        return True

    async def _delta(self, delta: MempoolDelta, location: str) -> None:
        now_ts = int(time.time())
        for record in delta.added:
            await self._publish_record(record, location, first_seen_ts=now_ts)
        if delta.added_txids:
            await self.fetch_and_publish(t for t in delta.added_txids if t not in self.seen)
        for replacement in delta.replaced:
            await self._replaced(replacement, location)

        replaced_now = {r.replaced_txid for r in delta.replaced}
        for txid in delta.mined:
            self._confirmed.add(txid)
        for txid in delta.removed:
            if txid in replaced_now or txid in self._confirmed or self._was_replaced(txid):
                continue
            evicted = TxEvicted(txid=txid, source=self.source, observed_at=datetime.now(UTC))
            await self.publisher.submit_event(
                subjects.TX_EVICTED, evicted, msg_id=f"evicted:{txid}"
            )

    async def _replaced(self, replacement: Replacement, location: str) -> None:
        if replacement.replacement is not None:
            await self._publish_record(
                replacement.replacement, location, first_seen_ts=int(time.time())
            )
        key = f"{replacement.replaced_txid}:{replacement.replacement_txid}"
        if not self._replacements.add(key):
            return
        self._replacements.add(f"replaced:{replacement.replaced_txid}")
        event = TxReplaced(
            replaced_txid=replacement.replaced_txid,
            replacement_txid=replacement.replacement_txid,
            replaced_signalled_rbf=self._rbf_signal.get(replacement.replaced_txid),
            source=self.source,
            observed_at=datetime.now(UTC),
        )
        await self.publisher.submit_event(subjects.TX_REPLACED, event, msg_id=f"replaced:{key}")

    async def _publish_record(
        self, record: Any, location: str, *, first_seen_ts: int | None
    ) -> bool:
        txid = record.get("txid") if isinstance(record, Mapping) else None
        if isinstance(txid, str) and txid in self.seen:
            return False
        first_seen = _first_seen(record, first_seen_ts)
        tx = await self.publisher.submit_record(
            record, source=self.source, location=location, first_seen_ts=first_seen
        )
        if tx is None:
            return False
        self.seen.add(tx.txid)
        self._remember_rbf_signal(tx.txid, tx.signals_rbf)
        return True

    async def _fetch_one(self, txid: str) -> bool:
        location = f"{self.rest.base_url}/api/tx/{txid}"
        try:
            body = await self.rest.tx_bytes(txid)
            if body is None:  # gone (mined, replaced) before we asked: a block or resync tells
                self.seen.discard(txid)
                return False
            tx = normalise_json(body)
            if tx.txid != txid:
                raise NormaliseError(txid, f"asked for {txid}, answer is {tx.txid}")
        except SourceError as exc:
            logger.warning("tx %s not fetched: %s", txid, exc)
            self.seen.discard(txid)
            return False
        except NormaliseError as exc:
            await self.publisher.reject(body or b"", exc, location=location)
            return False
        await self.publisher.submit(tx, source=self.source)
        self._remember_rbf_signal(txid, tx.signals_rbf)
        return True

    async def _mempool_state(self, state: MempoolState, location: str, data: str | bytes) -> None:
        merged = _merge(self._state, state)
        try:
            snapshot = _snapshot(merged, self.source)
        except ValidationError as exc:
            reason = f"mempool state refused: {_describe(exc)}"
            payload = data.encode() if isinstance(data, str) else data
            await self.publisher.reject(payload, NormaliseError(None, reason), location=location)
            return
        self._state = merged

        now_s = time.monotonic()
        last_s = self._last_snapshot_s
        if last_s is not None and now_s - last_s < self.snapshot_min_interval_s:
            return
        self._last_snapshot_s = now_s
        msg_id = f"snapshot:{snapshot.observed_at.timestamp():.3f}"
        await self.publisher.submit_event(subjects.MEMPOOL_SNAPSHOT, snapshot, msg_id=msg_id)

    def _was_replaced(self, txid: str) -> bool:
        return f"replaced:{txid}" in self._replacements

    def _remember_rbf_signal(self, txid: str, signals_rbf: bool) -> None:
        self._rbf_signal[txid] = signals_rbf
        if len(self._rbf_signal) > 200_000:
            self._rbf_signal.popitem(last=False)


def _first_seen(record: Any, default_ts: int | None) -> int | None:
    """The record's own ``firstSeen`` wins; else when ingest saw it (None for block txs)."""
    if isinstance(record, Mapping) and record.get("firstSeen") is not None:
        return None
    return default_ts


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]) + ": " + first["msg"]


def _merge(old: MempoolState, new: MempoolState) -> MempoolState:
    """``new`` where it says something, ``old`` where it is silent."""
    fields = {name: getattr(new, name) for name in MempoolState.__dataclass_fields__}
    return MempoolState(**{k: (v if v is not None else getattr(old, k)) for k, v in fields.items()})


def _snapshot(state: MempoolState, source: str) -> MempoolSnapshot:
    fees = state.recommended_fees_sat_vb
    return MempoolSnapshot(
        tx_count=state.tx_count,
        vsize_vb=state.vsize_vb,
        total_fee_sat=state.total_fee_sat,
        min_fee_rate_sat_vb=state.min_fee_rate_sat_vb,
        vbytes_per_second=state.vbytes_per_second,
        projected_blocks=[
            ProjectedBlock(
                block_vsize_vb=b.block_vsize_vb,
                tx_count=b.tx_count,
                total_fee_sat=b.total_fee_sat,
                median_fee_rate_sat_vb=b.median_fee_rate_sat_vb,
                fee_range_sat_vb=list(b.fee_range_sat_vb),
            )
            for b in state.projected_blocks or ()
        ],
        recommended_fees=None
        if fees is None
        else RecommendedFees(
            fastest_sat_vb=fees[0],
            half_hour_sat_vb=fees[1],
            hour_sat_vb=fees[2],
            economy_sat_vb=fees[3],
            minimum_sat_vb=fees[4],
        ),
        source=source,
        observed_at=datetime.now(UTC),
    )
