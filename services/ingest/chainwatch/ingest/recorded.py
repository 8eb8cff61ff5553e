"""Recorded real transactions in the data dir: which files, and the records inside them.

Files are named relative to the data dir, as exact paths, glob patterns or presets:

========== ==================================================================================
preset      files
========== ==================================================================================
block277647 the 213 transactions of mainnet block 277 647 (2013), every prevout known
eras        blocks 277 647 (2013), 540 107 (2018) and 574 200 (2019), in that order: 3 758 txs
fixtures    real mempool.space / Esplora API responses saved by two projects' test suites
all         ``eras`` then ``fixtures``
========== ==================================================================================

A file may hold one transaction object, a list of them, a list of ``{"tx": {...}}`` wrappers
(the HodlHodl fixtures) or one transaction per line (``.jsonl``, optionally gzipped). A file
that holds no transactions (fee histograms, address stats, ...) is skipped. Reading never
raises for a bad record: it is yielded with its error, for the caller to dead-letter.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.normalise import parse_json
from chainwatch.shared.errors import ConfigurationError

logger = logging.getLogger(__name__)

ReplayOrder = Literal["listed", "time", "shuffled"]

_DERIVED = "mempool_api/derived"
_ERAS = (
    f"{_DERIVED}/block277647_txs_with_prevouts.json",
    f"{_DERIVED}/block540107_txs_esplora_like.jsonl.gz",
    f"{_DERIVED}/block574200_txs_esplora_like.jsonl.gz",
)
_FIXTURES = (
    "mempool_api/am-i-exposed_fixtures/*.json",
    "mempool_api/mempool_repo_fixtures/*.json",
)

PRESETS: dict[str, tuple[str, ...]] = {
    "block277647": _ERAS[:1],
    "eras": _ERAS,
    "fixtures": _FIXTURES,
    "all": _ERAS + _FIXTURES,
}


@dataclass(frozen=True)
class Record:
    """One record of a recorded file: decoded JSON, or the reason it could not be decoded.

    ``location`` names it for people (``replay:<file>#<index>``); ``raw`` holds the bytes
    of a line that was not JSON, so its dead letter carries exactly what was read.
    """

    location: str
    payload: Any = None
    error: NormaliseError | None = None
    raw: bytes | None = None

    @property
    def file_label(self) -> str:
        """``replay:<file>``: the ``source`` of every message published from this file."""
        return self.location.rsplit("#", 1)[0]

    def encoded(self) -> bytes:
        """The record as bytes, for a dead letter."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload, separators=(",", ":"), default=str).encode()


def resolve_files(data_dir: Path, names: Iterable[str]) -> list[Path]:
    """The files that ``names`` (presets, paths or globs under ``data_dir``) select, in order.

    A glob's matches are sorted; a file named twice is read once, where first named.
    Raises ``ConfigurationError`` for a name that selects nothing.
    """
    files: list[Path] = []
    for name in names:
        for pattern in PRESETS.get(name, (name,)):
            matches = sorted(data_dir.glob(pattern)) if _is_glob(pattern) else [data_dir / pattern]
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise ConfigurationError(
                    "replay_files", f"{pattern!r} matches no file in {data_dir}"
                )
            files.extend(m for m in matches if m not in files)
    return files


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def read_records(
    files: Iterable[Path], data_dir: Path, order: ReplayOrder = "listed", seed: int = 0
) -> Iterator[Record]:
    """Every record of ``files``, in file order, by block or first-seen time, or shuffled.

    ``time`` sorts by block time, then mempool first-seen time; a stable sort, so parents stay
    ahead of the children that spend them inside a block. ``shuffled`` uses ``seed``. Both
    read every record into memory first; ``listed`` streams.
    """
    records = (r for path in files for r in _read_file(path, data_dir))
    if order == "listed":
        yield from records
        return
    everything = list(records)
    if order == "time":
        everything.sort(key=_time_key)
    else:
        random.Random(seed).shuffle(everything)
    yield from everything


def _time_key(record: Record) -> float:
    payload = record.payload if isinstance(record.payload, Mapping) else {}
    status = payload.get("status")
    block_time = status.get("block_time") if isinstance(status, Mapping) else None
    seen = payload.get("firstSeen", payload.get("first_seen"))
    for value in (block_time, seen):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return float("inf")


def _read_file(path: Path, data_dir: Path) -> Iterator[Record]:
    label = f"replay:{path.relative_to(data_dir) if path.is_relative_to(data_dir) else path}"
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        yield from _read_lines(path, label)
        return

    try:
        content = json.loads(_read_bytes(path))
    except (OSError, ValueError, RecursionError) as exc:
        logger.warning("skipping %s: not readable as JSON (%s)", label, exc)
        return
    transactions = _transactions_in(content)
    if transactions is None:
        logger.debug("skipping %s: holds no transactions", label)
        return
    for index, item in enumerate(transactions):
        yield Record(location=f"{label}#{index}", payload=item)


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return stream.read()


def _read_lines(path: Path, label: str) -> Iterator[Record]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as lines:
            for index, line in enumerate(lines):
                if not line.strip():
                    continue
                location = f"{label}#{index}"
                try:
                    yield Record(location=location, payload=parse_json(line))
                except NormaliseError as exc:
                    yield Record(location=location, error=exc, raw=line.rstrip(b"\n"))
    except (OSError, EOFError) as exc:
        logger.warning("stopped reading %s: %s", label, exc)


def _looks_like_tx(item: object) -> bool:
    return isinstance(item, Mapping) and "txid" in item and ("vin" in item or "vout" in item)


def _unwrap(item: object) -> object:
    """A HodlHodl fixture entry ``{"txid", "notes", "tx": {...}}`` gives its ``tx``."""
    if isinstance(item, Mapping) and "vin" not in item and isinstance(item.get("tx"), Mapping):
        return item["tx"]
    return item


def _transactions_in(content: object) -> list[object] | None:
    """The transaction records a file's content holds, or None when it is not about them."""
    if _looks_like_tx(content):
        return [content]
    if isinstance(content, list):
        items = [_unwrap(item) for item in content]
        if any(_looks_like_tx(item) for item in items):
            return items
    return None
