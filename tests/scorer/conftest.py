"""Real transactions for the scorer's tests, normalised the way ingest does it."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chainwatch.ingest.normalise import normalise
from chainwatch.scorer.labels import LabelBook
from chainwatch.shared.schemas import RawTransaction, Transaction

BLOCK_574200 = "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz"
BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"


@pytest.fixture(scope="session")
def labels(data_dir: Path) -> LabelBook:
    return LabelBook(data_dir)


@pytest.fixture(scope="session")
def block574200(data_dir: Path) -> list[Transaction]:
    with gzip.open(data_dir / BLOCK_574200, "rt") as lines:
        return [normalise(json.loads(line)) for line in lines]


@pytest.fixture(scope="session")
def block277647(data_dir: Path) -> list[Transaction]:
    return [normalise(tx) for tx in json.loads((data_dir / BLOCK_277647).read_text())]


def raw(tx: Transaction) -> RawTransaction:
    return RawTransaction(source="test", observed_at=datetime.now(UTC), tx=tx)
