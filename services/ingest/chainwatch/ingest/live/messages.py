"""Parse what a mempool.space websocket sends into plain, checked values.

A message is one JSON object whose keys are the parts it carries; the parts ingest uses:

==================== ==========================================================================
key                  meaning
==================== ==========================================================================
block / blocks       a new block / the latest blocks: ``id``, ``height``, ``timestamp``, ...
mempool-transactions the mempool changed (``track-mempool``): ``added`` full transactions,
                     ``removed`` / ``mined`` txids, ``replaced`` ``{replaced, by}``
mempool-txids        the same with txids only (``track-mempool-txids``)
rbfLatest            recent replacement trees (``track-rbf``)
mempoolInfo, fees,   the mempool's state: size, minimum fee, recommended fees, inflow,
vBytesPerSecond,     projected blocks
mempool-blocks
==================== ==========================================================================

Other keys (prices, difficulty, loading indicators, ...) are ignored. A part that is present
but malformed makes the whole message invalid: ``MessageError`` says which part and why,
and the message goes to the dead-letter subject. Transactions inside ``added`` are only
checked to be objects here; each is normalised, and refused, on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainwatch.ingest.errors import IngestError, NormaliseError
from chainwatch.ingest.normalise import parse_json

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest websocket message read: a busy mempool delta or a full block list fits easily."""

MAX_RBF_DEPTH = 64
"""Deepest replacement tree followed; real ones are a handful of levels."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


class MessageError(IngestError):
    """A websocket message cannot be used; ``reason`` names the part and the fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class BlockSeen:
    """A block as announced: enough to fetch its transactions and date them."""

    block_hash: str
    height: int
    block_time_ts: int
    tx_count: int


@dataclass(frozen=True)
class Replacement:
    """``replaced_txid`` was replaced by ``replacement_txid`` (its full record when sent)."""

    replaced_txid: str
    replacement_txid: str
    replacement: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MempoolDelta:
    """One change of the mempool. ``added`` holds full records; ``added_txids`` bare ids."""

    sequence: int | None
    added: tuple[Mapping[str, Any], ...]
    added_txids: tuple[str, ...]
    removed: tuple[str, ...]
    mined: tuple[str, ...]
    replaced: tuple[Replacement, ...]


@dataclass(frozen=True)
class ProjectedBlockState:
    block_vsize_vb: float
    tx_count: int
    total_fee_sat: int
    median_fee_rate_sat_vb: float
    fee_range_sat_vb: tuple[float, ...]


@dataclass(frozen=True)
class MempoolState:
    """The parts of the mempool's state a message carried; None where it carried none."""

    tx_count: int | None = None
    vsize_vb: int | None = None
    total_fee_sat: int | None = None
    min_fee_rate_sat_vb: float | None = None
    vbytes_per_second: float | None = None
    projected_blocks: tuple[ProjectedBlockState, ...] | None = None
    recommended_fees_sat_vb: tuple[float, float, float, float, float] | None = None


@dataclass(frozen=True)
class ServerMessage:
    """Everything ingest uses from one websocket message.

    ``block`` is a block just found; ``recent_blocks`` the latest few, oldest first, as sent
    when a client subscribes.
    """

    block: BlockSeen | None = None
    recent_blocks: tuple[BlockSeen, ...] = ()
    delta: MempoolDelta | None = None
    replacements: tuple[Replacement, ...] = ()
    state: MempoolState | None = None
    pong: bool = False


def parse_message(data: str | bytes) -> ServerMessage:
    """Parse one websocket message; raises ``MessageError`` naming what is wrong."""
    try:
        message = parse_json(data, max_bytes=MAX_MESSAGE_BYTES)
    except NormaliseError as exc:
        raise MessageError(exc.reason) from None
    if not isinstance(message, dict):
        raise MessageError(f"message is a JSON {type(message).__name__}, not an object")

    block = _block(message["block"], "block") if "block" in message else None
    recent = _array(message.get("blocks", []), "blocks")

    delta = None
    if "mempool-transactions" in message:
        delta = _delta(message["mempool-transactions"], "mempool-transactions", full=True)
    elif "mempool-txids" in message:
        delta = _delta(message["mempool-txids"], "mempool-txids", full=False)

    replacements: tuple[Replacement, ...] = ()
    if "rbfLatest" in message:
        trees = _array(message["rbfLatest"], "rbfLatest")
        replacements = tuple(r for i, t in enumerate(trees) for r in _rbf_tree(t, f"rbfLatest.{i}"))

    return ServerMessage(
        block=block,
        recent_blocks=tuple(_block(b, f"blocks.{i}") for i, b in enumerate(recent)),
        delta=delta,
        replacements=replacements,
        state=_state(message),
        pong="pong" in message,
    )


def _array(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MessageError(f"{where}: expected an array")
    return value


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MessageError(f"{where}: expected an object")
    return value


def _txid(value: object, where: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise MessageError(f"{where}: not a txid: {value!r:.80}")
    return value


def _int(value: object, where: str, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise MessageError(f"{where}: expected an integer >= {minimum}, got {value!r:.40}")
    return value


def _number(value: object, where: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:  # type: ignore[arg-type, operator]
        raise MessageError(f"{where}: expected a finite number >= 0, got {value!r:.40}")
    return float(value)  # type: ignore[arg-type]


def _block(value: object, where: str) -> BlockSeen:
    block = _object(value, where)
    return BlockSeen(
        block_hash=_txid(block.get("id"), f"{where}.id"),
        height=_int(block.get("height"), f"{where}.height"),
        block_time_ts=_int(block.get("timestamp"), f"{where}.timestamp"),
        tx_count=_int(block.get("tx_count"), f"{where}.tx_count", minimum=1),
    )


def _txids(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(_txid(v, f"{where}.{i}") for i, v in enumerate(_array(value, where)))


def _delta(value: object, where: str, *, full: bool) -> MempoolDelta:
    delta = _object(value, where)
    sequence = delta.get("sequence")
    added_raw = _array(delta.get("added") or [], f"{where}.added")
    if full:
        added = tuple(_object(tx, f"{where}.added.{i}") for i, tx in enumerate(added_raw))
        added_txids: tuple[str, ...] = ()
    else:
        added, added_txids = (), _txids(added_raw, f"{where}.added")

    replaced = []
    for i, item in enumerate(_array(delta.get("replaced") or [], f"{where}.replaced")):
        pair = _object(item, f"{where}.replaced.{i}")
        by = pair.get("by")
        record = _object(by, f"{where}.replaced.{i}.by") if isinstance(by, dict) else None
        by_txid = record.get("txid") if record is not None else by
        replaced.append(
            Replacement(
                replaced_txid=_txid(pair.get("replaced"), f"{where}.replaced.{i}.replaced"),
                replacement_txid=_txid(by_txid, f"{where}.replaced.{i}.by"),
                replacement=record,
            )
        )

    return MempoolDelta(
        sequence=_int(sequence, f"{where}.sequence") if sequence is not None else None,
        added=added,
        added_txids=added_txids,
        removed=_txids(delta.get("removed"), f"{where}.removed"),
        mined=_txids(delta.get("mined"), f"{where}.mined"),
        replaced=tuple(replaced),
    )


def _rbf_tree(value: object, where: str, depth: int = 0) -> list[Replacement]:
    """Pairs (replaced, replacement) of one replacement tree, parents before children."""
    if depth > MAX_RBF_DEPTH:
        raise MessageError(f"{where}: replacement tree deeper than {MAX_RBF_DEPTH}")
    node = _object(value, where)
    txid = _txid(_object(node.get("tx"), f"{where}.tx").get("txid"), f"{where}.tx.txid")
    pairs = []
    for i, child in enumerate(_array(node.get("replaces") or [], f"{where}.replaces")):
        child_where = f"{where}.replaces.{i}"
        child_tx = _object(_object(child, child_where).get("tx"), f"{child_where}.tx")
        pairs.append(Replacement(_txid(child_tx.get("txid"), f"{child_where}.tx.txid"), txid))
        pairs.extend(_rbf_tree(child, child_where, depth + 1))
    return pairs


def _state(message: dict[str, Any]) -> MempoolState | None:
    keys = ("mempoolInfo", "fees", "vBytesPerSecond", "mempool-blocks")
    if not any(k in message for k in keys):
        return None
    info = _object(message.get("mempoolInfo", {}), "mempoolInfo")

    def optional(key: str, convert: Any, scale: float = 1.0) -> Any:
        value = info.get(key)
        return None if value is None else convert(_number(value, f"mempoolInfo.{key}") * scale)

    fees = None
    if "fees" in message:
        given = _object(message["fees"], "fees")
        names = ("fastestFee", "halfHourFee", "hourFee", "economyFee", "minimumFee")
        fees = tuple(_number(given.get(n), f"fees.{n}") for n in names)

    projected = None
    if "mempool-blocks" in message:
        items = _array(message["mempool-blocks"], "mempool-blocks")
        projected = tuple(_projected(b, f"mempool-blocks.{i}") for i, b in enumerate(items))

    inflow = message.get("vBytesPerSecond")
    return MempoolState(
        tx_count=optional("size", int),
        vsize_vb=optional("bytes", int),
        # Bitcoin Core reports fees in BTC and fee rates in BTC per 1000 vbytes.
        total_fee_sat=optional("total_fee", round, 1e8),
        min_fee_rate_sat_vb=optional("mempoolminfee", float, 1e5),
        vbytes_per_second=None if inflow is None else _number(inflow, "vBytesPerSecond"),
        projected_blocks=projected,
        recommended_fees_sat_vb=fees,  # type: ignore[arg-type]
    )


def _projected(value: object, where: str) -> ProjectedBlockState:
    block = _object(value, where)
    fee_range = _array(block.get("feeRange") or [], f"{where}.feeRange")
    return ProjectedBlockState(
        block_vsize_vb=_number(block.get("blockVSize"), f"{where}.blockVSize"),
        tx_count=_int(block.get("nTx"), f"{where}.nTx"),
        total_fee_sat=_int(block.get("totalFees"), f"{where}.totalFees"),
        median_fee_rate_sat_vb=_number(block.get("medianFee"), f"{where}.medianFee"),
        fee_range_sat_vb=tuple(
            _number(rate, f"{where}.feeRange.{i}") for i, rate in enumerate(fee_range)
        ),
    )
