"""The story the local server tells: recorded real transactions entering a mempool and mined.

Every transaction, block hash, height and time is real and recorded (see the data dir's
PROVENANCE.md); the *order of events* is a scenario built from them:

1. **Mempool fixtures.** The unconfirmed transactions mempool.space's own test data holds
   enter the mempool; three of them are then replaced by the real transactions that
   replaced them on mainnet (matched by the outpoint both spend); the one with the lowest
   fee rate left is evicted, as a mempool purging its cheapest transactions would.
2. **Blocks.** For each chosen block, its transactions except the coinbase enter the
   mempool in batches, in block order (parents first); then the block is found and mines
   them all, coinbase included.

A transaction in the mempool is shown unconfirmed; once its block is found, confirmed.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chainwatch.shared.errors import ConfigurationError

Record = dict[str, Any]

BLOCK_FILES = {
    "block277647": "mempool_api/derived/block277647_txs_with_prevouts.json",
    "block540107": "mempool_api/derived/block540107_txs_esplora_like.jsonl.gz",
    "block574200": "mempool_api/derived/block574200_txs_esplora_like.jsonl.gz",
}
"""Recorded blocks by name; ``eras`` names all three, oldest first."""

_FIXTURES = "mempool_api/mempool_repo_fixtures"
_MEMPOOL_FIXTURES = (
    "backend_transactions-random.json",
    "backend_transactions-replaced.json",
    "cypress_details_rbf__tx01_api_cached.json",
    "cypress_mainnet_tx_cached.json",
)
_REPLACEMENT_FIXTURES = ("backend_transactions-rbfs.json", "cypress_details_rbf__tx02_api_tx.json")

StepKind = Literal["add", "replace", "evict", "block"]


@dataclass(frozen=True)
class RecordedBlock:
    """A real block: its header facts and every transaction, in block order."""

    block_hash: str
    height: int
    block_time_ts: int
    txs: tuple[Record, ...]

    @property
    def txids(self) -> list[str]:
        return [tx["txid"] for tx in self.txs]

    def header(self) -> Record:
        """The block as mempool.space's ``block`` message and ``GET /api/block`` show it."""
        return {
            "id": self.block_hash,
            "height": self.height,
            "timestamp": self.block_time_ts,
            "tx_count": len(self.txs),
        }


@dataclass(frozen=True)
class Step:
    """One event of the scenario."""

    kind: StepKind
    added: tuple[Record, ...] = ()
    replaced: tuple[tuple[str, Record], ...] = ()
    evicted: tuple[str, ...] = ()
    block: RecordedBlock | None = None


@dataclass(frozen=True)
class Scenario:
    """The steps, and what a faithful client must end up having seen."""

    steps: tuple[Step, ...]
    blocks: tuple[RecordedBlock, ...] = field(default=())

    @property
    def txids(self) -> set[str]:
        """Every txid that appears: added, replacing, or mined."""
        found: set[str] = set()
        for step in self.steps:
            found.update(tx["txid"] for tx in step.added)
            found.update(record["txid"] for _, record in step.replaced)
            if step.block is not None:
                found.update(step.block.txids)
        return found


def build_scenario(
    data_dir: Path, blocks: Sequence[str] = ("block277647",), *, batch_size: int = 10
) -> Scenario:
    """The scenario over the recorded data in ``data_dir``.

    ``blocks`` names recorded blocks (``block277647``, ``block540107``, ``block574200``, or
    ``eras`` for all three); ``batch_size`` is how many transactions enter per step.
    Raises ``ConfigurationError`` for an unknown block name or missing files.
    """
    steps = list(_mempool_fixture_steps(data_dir))
    recorded_blocks = [_load_block(data_dir, name) for name in _block_names(blocks)]
    for block in recorded_blocks:
        pending = [_unconfirmed(tx) for tx in block.txs[1:]]
        for start in range(0, len(pending), batch_size):
            steps.append(Step("add", added=tuple(pending[start : start + batch_size])))
        steps.append(Step("block", block=block))
    return Scenario(steps=tuple(steps), blocks=tuple(recorded_blocks))


def _block_names(blocks: Iterable[str]) -> list[str]:
    names: list[str] = []
    for name in blocks:
        names.extend(BLOCK_FILES if name == "eras" else [name])
    unknown = [n for n in names if n not in BLOCK_FILES]
    if unknown:
        raise ConfigurationError("blocks", f"unknown recorded blocks {unknown}")
    return names


def _load_block(data_dir: Path, name: str) -> RecordedBlock:
    path = data_dir / BLOCK_FILES[name]
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt") as lines:
                txs = [json.loads(line) for line in lines if line.strip()]
        else:
            txs = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigurationError("blocks", f"cannot read {path}: {exc}") from exc
    status = txs[0]["status"]
    for tx in txs:
        tx.pop("hex", None)  # the REST answers of Esplora carry no raw hex
    return RecordedBlock(
        block_hash=status["block_hash"],
        height=status["block_height"],
        block_time_ts=status["block_time"],
        txs=tuple(txs),
    )


def _fixture_txs(data_dir: Path, names: Iterable[str]) -> list[Record]:
    txs: list[Record] = []
    for name in names:
        path = data_dir / _FIXTURES / name
        try:
            content = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigurationError("data_dir", f"cannot read {path}: {exc}") from exc
        txs.extend(content if isinstance(content, list) else [content])
    return [_unconfirmed(tx) for tx in txs if not tx.get("status", {}).get("confirmed")]


def _mempool_fixture_steps(data_dir: Path) -> Iterable[Step]:
    originals = _fixture_txs(data_dir, _MEMPOOL_FIXTURES)
    replacements = _fixture_txs(data_dir, _REPLACEMENT_FIXTURES)
    yield Step("add", added=tuple(originals))

    replaced_txids: set[str] = set()
    for replacement in replacements:
        spent = _outpoints(replacement)
        for original in originals:
            if _outpoints(original) & spent and original["txid"] not in replaced_txids:
                replaced_txids.add(original["txid"])
                yield Step("replace", replaced=((original["txid"], replacement),))

    remaining = [tx for tx in originals if tx["txid"] not in replaced_txids]
    if remaining:
        cheapest = min(remaining, key=lambda tx: tx["fee"] / tx["weight"])
        yield Step("evict", evicted=(cheapest["txid"],))


def _outpoints(tx: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {(i["txid"], i["vout"]) for i in tx["vin"]}


def _unconfirmed(tx: Mapping[str, Any]) -> Record:
    """The transaction as a mempool shows it before it is mined."""
    copied = copy.deepcopy(dict(tx))
    copied["status"] = {"confirmed": False}
    return copied
