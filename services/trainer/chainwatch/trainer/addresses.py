"""The address an input spends from, read from its unlocking script when its prevout is unknown.

A raw block names the outputs its inputs spend but not their addresses; the spending
script often reveals them anyway, because it carries the public key or the redeem script
whose hash the address encodes:

========================= ==================================== ===========================
input                     unlocking data                       address
========================= ==================================== ===========================
P2PKH                     scriptSig ``<sig> <pubkey>``         base58(0x00, hash160(pubkey))
P2WPKH                    witness ``[sig, pubkey]``            bech32 v0 hash160(pubkey)
P2SH-P2WPKH / P2SH-P2WSH  scriptSig ``<redeem>``, a witness    base58(0x05, hash160(redeem))
P2SH multisig             scriptSig ``OP_0 <sig>... <redeem>`` base58(0x05, hash160(redeem))
P2WSH                     witness ``[..., witness script]``    bech32 v0 sha256(script)
========================= ==================================== ===========================

Anything else (P2PK, Taproot, unusual scripts) gives None: never a guess. Used only to
label training data; the scorer does not read addresses this way, so a label found here
is one the serving model cannot see directly (see ``labels``).
"""

from __future__ import annotations

import hashlib

from chainwatch.shared.schemas import TxInput

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

P2PKH_VERSION = 0x00
P2SH_VERSION = 0x05
OP_0 = 0x00
OP_CHECKSIG = 0xAC
OP_CHECKMULTISIG = 0xAE


def input_address(vin: TxInput, hrp: str = "bc") -> str | None:
    """The address ``vin`` spends from: its prevout's when known, else read from its scripts."""
    if vin.prevout is not None:
        return vin.prevout.scriptpubkey_address
    if vin.is_coinbase:
        return None
    try:
        pushes = _pushes(bytes.fromhex(vin.scriptsig)) if vin.scriptsig else []
        witness = [bytes.fromhex(item) for item in vin.witness]
    except ValueError:
        return None
    if pushes is None:
        return None
    return _from_scripts(pushes, witness, hrp)


def _from_scripts(pushes: list[bytes], witness: list[bytes], hrp: str) -> str | None:
    if not pushes and len(witness) == 2 and _is_pubkey(witness[1]) and len(witness[1]) == 33:
        return bech32_address(hrp, 0, hash160(witness[1]))
    if not pushes and len(witness) >= 2 and _is_script(witness[-1]):
        return bech32_address(hrp, 0, hashlib.sha256(witness[-1]).digest())
    if len(pushes) == 1 and witness and _is_witness_program(pushes[0]):
        return base58check(P2SH_VERSION, hash160(pushes[0]))
    if len(pushes) == 2 and not witness and _is_pubkey(pushes[1]):
        return base58check(P2PKH_VERSION, hash160(pushes[1]))
    if len(pushes) >= 3 and pushes[0] == b"" and not witness and _is_multisig(pushes[-1]):
        return base58check(P2SH_VERSION, hash160(pushes[-1]))
    return None


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: the 20-byte hash inside P2PKH, P2SH and P2WPKH addresses."""
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def base58check(version: int, payload: bytes) -> str:
    """A legacy address: version byte and payload with a 4-byte double-SHA-256 checksum."""
    data = bytes([version]) + payload
    data += hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_BASE58[remainder])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def bech32_address(hrp: str, witness_version: int, program: bytes) -> str:
    """A segwit v0 address (BIP 173): ``hrp``, separator, 5-bit data and checksum."""
    data = [witness_version, *_to_5bit(program)]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    checksum = _polymod(expanded + data + [0] * 6) ^ 1
    data += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data)


def _to_5bit(program: bytes) -> list[int]:
    accumulator, bits, out = 0, 0, []
    for byte in program:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((accumulator >> bits) & 31)
    if bits:
        out.append((accumulator << (5 - bits)) & 31)
    return out


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_BECH32_GEN):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _pushes(script: bytes) -> list[bytes] | None:
    """The data pushed by a push-only script, or None if it does anything else."""
    pushes, i = [], 0
    while i < len(script):
        op = script[i]
        i += 1
        if op == OP_0:
            pushes.append(b"")
            continue
        if op <= 75:
            size = op
        elif op in (76, 77, 78):
            width = {76: 1, 77: 2, 78: 4}[op]
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        else:
            return None
        if i + size > len(script):
            return None
        pushes.append(script[i : i + size])
        i += size
    return pushes


def _is_pubkey(data: bytes) -> bool:
    return (len(data) == 33 and data[0] in (2, 3)) or (len(data) == 65 and data[0] == 4)


def _is_witness_program(data: bytes) -> bool:
    """A P2SH redeem script that is itself segwit v0: ``0014<20>`` or ``0020<32>``."""
    return (len(data) == 22 and data[:2] == b"\x00\x14") or (
        len(data) == 34 and data[:2] == b"\x00\x20"
    )


def _is_multisig(script: bytes) -> bool:
    """``OP_m <pubkey>... OP_n OP_CHECKMULTISIG`` with every key well formed."""
    if len(script) < 37 or script[-1] != OP_CHECKMULTISIG or not 0x51 <= script[0] <= 0x60:
        return False
    keys = _pushes(script[1:-2])
    return bool(keys) and all(_is_pubkey(k) for k in keys or ())


def _is_script(data: bytes) -> bool:
    """A witness script we can vouch for: multisig, or ``<pubkey> OP_CHECKSIG``.

    Strict on purpose: the last witness item of a Taproot script-path spend is a control
    block, which must never be mistaken for a script.
    """
    single_key = len(data) in (35, 67) and data[-1] == OP_CHECKSIG and _is_pubkey(data[1:-1])
    return single_key or _is_multisig(data)
