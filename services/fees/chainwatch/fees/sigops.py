"""Signature-operation cost of a transaction, counted from its scripts as Core counts it.

A block may hold at most 80,000 sigop cost. A transaction's cost is:

- legacy sigops × 4: ``OP_CHECKSIG``/``OP_CHECKSIGVERIFY`` count 1 and
  ``OP_CHECKMULTISIG``/``VERIFY`` count 20, in every input's scriptSig and every output's
  scriptPubKey;
- P2SH sigops × 4: for an input spending a P2SH output, the redeem script (the last push of
  its scriptSig) counted *accurately*: a multisig counts the ``OP_n`` before it (1–16);
- witness sigops × 1: P2WPKH counts 1; P2WSH counts its witness script accurately (the
  last witness item); taproot counts 0 (its limits are per input, not per block).

The Esplora shape gives scripts as hex; a script that does not parse counts what was read
before the bad push, and one that is not hex counts nothing. Nested P2SH-P2WPKH and
P2SH-P2WSH are recognised from the redeem script.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainwatch.shared.schemas import Transaction, TxInput

OP_CHECKSIG = 0xAC
OP_CHECKSIGVERIFY = 0xAD
OP_CHECKMULTISIG = 0xAE
OP_CHECKMULTISIGVERIFY = 0xAF
OP_1, OP_16 = 0x51, 0x60
WITNESS_SCALE = 4
MULTISIG_LEGACY = 20


def _ops(script: bytes) -> Iterator[tuple[int, bytes]]:
    """(opcode, pushed data) pairs; stops at a push that runs past the end."""
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        size = 0
        if op <= 0x4B:
            size = op
        elif op in (0x4C, 0x4D, 0x4E):
            width = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
            if i + width > n:
                return
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        if i + size > n:
            return
        yield op, script[i : i + size]
        i += size


def count_sigops(script: bytes, *, accurate: bool) -> int:
    """Sigops of one script; ``accurate`` counts a multisig by its ``OP_n`` key count."""
    count = 0
    previous = -1
    for op, _ in _ops(script):
        if op in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
            count += 1
        elif op in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
            if accurate and OP_1 <= previous <= OP_16:
                count += previous - OP_1 + 1
            else:
                count += MULTISIG_LEGACY
        previous = op
    return count


def _hex(text: str) -> bytes:
    """The bytes of a hex script; a script that is not hex counts as empty."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def _last_push(script: bytes) -> bytes:
    data = b""
    for _, pushed in _ops(script):
        data = pushed
    return data


def _witness_sigops(program: bytes, witness: list[str]) -> int:
    """Sigops of a version-0 witness program: P2WPKH 1, P2WSH its script; else 0."""
    if len(program) == 22 and program[:2] == b"\x00\x14":
        return 1
    if len(program) == 34 and program[:2] == b"\x00\x20" and witness:
        return count_sigops(_hex(witness[-1]), accurate=True)
    return 0


def _input_cost(vin: TxInput) -> int:
    script_sig = _hex(vin.scriptsig)
    cost = count_sigops(script_sig, accurate=False) * WITNESS_SCALE
    prevout = vin.prevout
    if prevout is None:
        return cost
    locking = _hex(prevout.scriptpubkey)
    if prevout.scriptpubkey_type == "p2sh":
        redeem = _last_push(script_sig)
        cost += count_sigops(redeem, accurate=True) * WITNESS_SCALE
        cost += _witness_sigops(redeem, vin.witness)
    elif prevout.scriptpubkey_type in ("v0_p2wpkh", "v0_p2wsh"):
        cost += _witness_sigops(locking, vin.witness)
    return cost


def sigop_cost(tx: Transaction) -> int:
    """The transaction's sigop cost (consensus units: legacy and P2SH sigops count 4 each)."""
    cost = sum(
        count_sigops(_hex(out.scriptpubkey), accurate=False) * WITNESS_SCALE for out in tx.vout
    )
    if tx.is_coinbase:
        return cost
    return cost + sum(_input_cost(vin) for vin in tx.vin)
