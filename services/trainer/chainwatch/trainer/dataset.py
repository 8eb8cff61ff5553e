"""The transactions a model is trained on, in time order.

``TransactionSource`` is the interface; ``RecordedTransactions`` reads the real recorded
transactions of the data dir through ingest's own reader and normaliser, so training sees
exactly what a replay would publish. A record ingest would dead-letter is counted and
logged here, never trained on; so is a transaction with no time (neither a block time nor
a first-seen time), because it cannot be placed in a time-ordered split.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.recorded import read_records, resolve_files
from chainwatch.shared.schemas import Transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedTransaction:
    """A transaction, when it happened (Unix s: block time, else first seen) and its file."""

    tx: Transaction
    time_ts: int
    source: str


@dataclass(frozen=True)
class LoadedTransactions:
    """Time-ordered unique transactions, and how many records were left out and why."""

    txs: Sequence[TimedTransaction]
    skipped: dict[str, int] = field(default_factory=dict)
    description: str = ""


class TransactionSource(Protocol):
    def load(self) -> LoadedTransactions:
        """Every usable transaction, ordered by time; ties keep the source's order."""
        ...


class RecordedTransactions:
    """Real transactions recorded in the data dir (``files``: ingest's presets or globs)."""

    def __init__(self, data_dir: Path, files: Sequence[str] = ("all",)) -> None:
        self.data_dir = data_dir
        self.files = tuple(files)

    def load(self) -> LoadedTransactions:
        paths = resolve_files(self.data_dir, self.files)
        skipped: Counter[str] = Counter()
        seen: set[str] = set()
        found: list[TimedTransaction] = []

        for record in read_records(paths, self.data_dir, order="listed"):
            if record.error is not None:
                skipped["unreadable"] += 1
                continue
            try:
                tx = normalise(record.payload)
            except NormaliseError as exc:
                logger.warning("not training on %s: %s", record.location, exc.reason)
                skipped["not_normalisable"] += 1
                continue
            time_ts = tx.status.block_time if tx.status.block_time is not None else tx.first_seen
            if time_ts is None:
                skipped["no_time"] += 1
                continue
            if tx.txid in seen:
                skipped["duplicate"] += 1
                continue
            seen.add(tx.txid)
            found.append(TimedTransaction(tx, time_ts, record.file_label))

        found.sort(key=lambda t: t.time_ts)  # stable: a block's order survives
        logger.info(
            "loaded %d recorded transactions from %d files (skipped %s)",
            len(found),
            len(paths),
            dict(skipped) or "none",
        )
        description = f"recorded: {', '.join(self.files)} under {self.data_dir}"
        return LoadedTransactions(found, dict(skipped), description)
