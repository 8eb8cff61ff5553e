"""Turn an Esplora / mempool.space transaction record into the shared ``Transaction``.

What a source gives differs: Esplora's ``GET /api/tx/:txid`` has ``fee``, ``weight`` and
prevouts; mempool.space's internal shape adds ``vsize``, ``firstSeen`` and fee rates; a
decoded raw block knows prevouts only for outputs created in the same block. Normalising
makes them one shape:

- amounts are integer satoshis, never floats, never booleans;
- ``vsize`` is ceil(weight / 4) (BIP 141), whatever rounding the source used;
- ``fee`` is sum(prevout values) - sum(output values) whenever every prevout is known, and
  must then agree with a fee the source gave; otherwise it is the source's fee, or None
  when the source gave none (or 0, meaning "not recorded"). A coinbase pays no fee: 0;
- an input's ``prevout`` stays None when the source did not know it: never guessed;
- script types use Esplora's names (``p2pkh``, ``v0_p2wpkh``, ``v1_p2tr``, ...);
- ``first_seen`` is mempool.space's ``firstSeen`` (Unix seconds), when given.

Anything else is refused with ``NormaliseError``, whose ``reason`` names the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from pydantic import ValidationError

from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.scripts import esplora_type
from chainwatch.shared.schemas import Transaction, TxOutput

MAX_RECORD_BYTES = 8 * 1024 * 1024
"""Largest JSON record read, bytes; the largest mainnet transaction is ~2.5 MB as JSON."""

MAX_TX_WEIGHT = 4_000_000
"""A transaction cannot outweigh a block (BIP 141)."""

MAX_INPUTS_OR_OUTPUTS = 100_000
"""More inputs or outputs than any transaction of at most MAX_TX_WEIGHT can hold."""

MAX_MONEY_SAT = 21_000_000 * 100_000_000
"""No amount, fee included, can exceed every bitcoin there will ever be."""

_REASON_CHARS = 300
_HEX = re.compile(r"[0-9a-fA-F]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ADDRESS = re.compile(r"[0-9A-Za-z]{14,100}")


def parse_json(data: bytes | str, *, max_bytes: int = MAX_RECORD_BYTES) -> Any:
    """Decode one JSON record, refusing oversized, undecodable or too deeply nested input."""
    if len(data) > max_bytes:
        raise NormaliseError(None, f"record is {len(data)} bytes, over the {max_bytes} limit")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise NormaliseError(None, f"not valid JSON: {exc!s:.{_REASON_CHARS}}") from None


def normalise_json(data: bytes | str, *, max_bytes: int = MAX_RECORD_BYTES) -> Transaction:
    """``parse_json`` then ``normalise``: raw bytes from a source to a ``Transaction``."""
    return normalise(parse_json(data, max_bytes=max_bytes))


def normalise(record: object, *, first_seen_ts: int | None = None) -> Transaction:
    """The ``Transaction`` a source record describes.

    ``first_seen_ts`` (Unix seconds) overrides the record's own ``firstSeen``, for sources
    that learn the time elsewhere. Raises ``NormaliseError`` for anything the shared schema
    cannot hold or that contradicts itself (a fee that disagrees with the prevouts).
    """
    if not isinstance(record, Mapping):
        raise NormaliseError(None, f"record is a JSON {_json_type(record)}, not an object")
    txid = _readable_txid(record.get("txid"))

    vin = _list_of_objects(record, "vin", txid)
    vout = _list_of_objects(record, "vout", txid)
    weight = _weight(record, vin, txid)
    _check_source_vsize(record.get("vsize"), weight, txid)

    fields = {
        "txid": record.get("txid"),
        "version": record.get("version"),
        "locktime": record.get("locktime"),
        "vin": [_input(i) for i in vin],
        "vout": [_output(o) for o in vout],
        "size": _size(record),
        "weight": weight,
        "vsize": math.ceil(weight / 4),
        "status": {} if record.get("status") is None else record["status"],
        "first_seen": first_seen_ts if first_seen_ts is not None else _first_seen(record),
    }
    try:
        tx = Transaction.model_validate(fields, strict=True)
    except ValidationError as exc:
        raise NormaliseError(txid, _describe(exc)) from None

    _check_text(tx)
    fee_sat = _fee_sat(tx, record.get("fee"))
    return tx if fee_sat is None else tx.model_copy(update={"fee": fee_sat})


def _check_text(tx: Transaction) -> None:
    """Scripts and witnesses are hex, addresses base58 or bech32 characters, nothing else."""
    for index, tx_input in enumerate(tx.vin):
        where = f"vin.{index}"
        _hex(tx.txid, f"{where}.scriptsig", tx_input.scriptsig)
        for item_index, item in enumerate(tx_input.witness):
            _hex(tx.txid, f"{where}.witness.{item_index}", item)
        if tx_input.prevout is not None:
            _output_text(tx.txid, f"{where}.prevout", tx_input.prevout)
    for index, output in enumerate(tx.vout):
        _output_text(tx.txid, f"vout.{index}", output)
    block_hash = tx.status.block_hash
    if block_hash is not None and not _HEX64.fullmatch(block_hash):
        raise NormaliseError(tx.txid, f"status.block_hash: not a block hash: {block_hash!r:.80}")


def _output_text(txid: str, where: str, output: TxOutput) -> None:
    _hex(txid, f"{where}.scriptpubkey", output.scriptpubkey)
    address = output.scriptpubkey_address
    if address is not None and not _ADDRESS.fullmatch(address):
        raise NormaliseError(txid, f"{where}.scriptpubkey_address: not an address: {address!r:.80}")


def _hex(txid: str, where: str, value: str) -> None:
    if len(value) % 2 or not _HEX.fullmatch(value):
        raise NormaliseError(txid, f"{where}: not hex: {value!r:.40}")


def _readable_txid(value: object) -> str | None:
    """The record's txid when it looks like one, for error messages; else None."""
    if isinstance(value, str) and len(value) == 64:
        return value
    return None


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _list_of_objects(record: Mapping[str, Any], key: str, txid: str | None) -> list[Any]:
    items = record.get(key)
    if not isinstance(items, list):
        raise NormaliseError(txid, f"{key}: expected an array, got {_json_type(items)}")
    if not items:
        raise NormaliseError(txid, f"{key}: empty")
    if len(items) > MAX_INPUTS_OR_OUTPUTS:
        raise NormaliseError(txid, f"{key}: {len(items)} entries, over {MAX_INPUTS_OR_OUTPUTS}")
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise NormaliseError(txid, f"{key}.{index}: expected an object")
    return items


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _weight(record: Mapping[str, Any], vin: list[Any], txid: str | None) -> int:
    """Weight units as given, or 4 x size for a transaction that has no witness."""
    weight = record.get("weight")
    if weight is None and not any(i.get("witness") for i in vin):
        size = record.get("size")
        weight = 4 * size if _is_int(size) else None
    if weight is None:
        raise NormaliseError(txid, "weight: missing, and not derivable from size")
    if not _is_int(weight) or not 0 < weight <= MAX_TX_WEIGHT:
        raise NormaliseError(txid, f"weight: {weight!r:.40} is not in 1..{MAX_TX_WEIGHT}")
    return weight


def _check_source_vsize(source_vsize: object, weight: int, txid: str | None) -> None:
    """A source's vsize may round weight / 4 its own way, but must not be off by more."""
    if source_vsize is None:
        return
    if not _is_int(source_vsize) or abs(source_vsize - weight / 4) >= 1:
        raise NormaliseError(txid, f"vsize: {source_vsize!r:.40} disagrees with weight {weight}")


def _size(record: Mapping[str, Any]) -> object:
    """Serialized size in bytes as given, else the length of the raw hex."""
    size = record.get("size")
    raw_hex = record.get("hex")
    if size is None and isinstance(raw_hex, str):
        return len(raw_hex) // 2
    return size


def _first_seen(record: Mapping[str, Any]) -> object:
    value = record.get("firstSeen", record.get("first_seen"))
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return value


def _output(output: Mapping[str, Any]) -> dict[str, Any]:
    script = output.get("scriptpubkey", "")
    source_type = output.get("scriptpubkey_type")
    return {
        "scriptpubkey": script,
        "scriptpubkey_type": esplora_type(
            source_type if isinstance(source_type, str) else None,
            script if isinstance(script, str) else "",
        ),
        # Some sources write "" for "no address" (OP_RETURN, bare multisig): that is None.
        "scriptpubkey_address": _address(output.get("scriptpubkey_address")),
        "value": output.get("value"),
    }


def _address(value: object) -> object:
    return None if value == "" else value


def _input(tx_input: Mapping[str, Any]) -> dict[str, Any]:
    prevout = tx_input.get("prevout")
    fields = {
        "txid": tx_input.get("txid"),
        "vout": tx_input.get("vout"),
        "prevout": _output(prevout) if isinstance(prevout, Mapping) else prevout,
        "is_coinbase": tx_input.get("is_coinbase", False),
    }
    # Optional in the schema: absent stays absent, so the schema's default applies.
    for key in ("scriptsig", "witness", "sequence"):
        if key in tx_input:
            fields[key] = tx_input[key]
    return fields


def _fee_sat(tx: Transaction, source_fee: object) -> int | None:
    """The fee in satoshis, computed from prevouts when they are all known."""
    if source_fee is not None and not (_is_int(source_fee) and 0 <= source_fee <= MAX_MONEY_SAT):
        raise NormaliseError(tx.txid, f"fee: {source_fee!r:.40} is not a satoshi amount")
    if tx.is_coinbase:
        return 0
    if not tx.prevouts_known:
        return source_fee or None

    value_in_sat = sum(i.prevout.value for i in tx.vin if i.prevout is not None)
    fee_sat = value_in_sat - tx.value_out
    if fee_sat < 0:
        raise NormaliseError(tx.txid, f"fee: outputs exceed prevouts by {-fee_sat} sat")
    if fee_sat > MAX_MONEY_SAT:
        raise NormaliseError(tx.txid, f"fee: {fee_sat} sat is more than all bitcoin")
    if source_fee and source_fee != fee_sat:
        raise NormaliseError(tx.txid, f"fee: {source_fee} disagrees with prevouts ({fee_sat})")
    return fee_sat


def _describe(exc: ValidationError) -> str:
    """The first validation error as ``field.path: message``, and how many more there are."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"[:_REASON_CHARS]
