"""Output script types in Esplora's vocabulary, whatever vocabulary the source used.

Esplora and mempool.space name script types ``p2pkh``, ``v0_p2wpkh``, ...; Bitcoin Core's
RPC (and data copied from it) says ``pubkeyhash``, ``witness_v0_keyhash``, ... Ingest
publishes Esplora's names only. When a source gives no type, the type is read from the
locking script itself.
"""

from __future__ import annotations

import re

ESPLORA_TYPES = frozenset(
    {
        "p2pk",
        "p2pkh",
        "p2sh",
        "v0_p2wpkh",
        "v0_p2wsh",
        "v1_p2tr",
        "p2a",
        "op_return",
        "multisig",
        "provably_unspendable",
        "empty",
        "unknown",
    }
)

CORE_TO_ESPLORA = {
    "pubkey": "p2pk",
    "pubkeyhash": "p2pkh",
    "scripthash": "p2sh",
    "witness_v0_keyhash": "v0_p2wpkh",
    "witness_v0_scripthash": "v0_p2wsh",
    "witness_v1_taproot": "v1_p2tr",
    "anchor": "p2a",
    "nulldata": "op_return",
    "multisig": "multisig",
    "nonstandard": "unknown",
    "witness_unknown": "unknown",
}

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("p2pkh", re.compile(r"76a914[0-9a-f]{40}88ac")),
    ("p2sh", re.compile(r"a914[0-9a-f]{40}87")),
    ("v0_p2wpkh", re.compile(r"0014[0-9a-f]{40}")),
    ("v0_p2wsh", re.compile(r"0020[0-9a-f]{64}")),
    ("v1_p2tr", re.compile(r"5120[0-9a-f]{64}")),
    ("p2a", re.compile(r"51024e73")),
    ("p2pk", re.compile(r"(21(02|03)[0-9a-f]{64}|4104[0-9a-f]{128})ac")),
    ("multisig", re.compile(r"5[1-9a-f]((21[0-9a-f]{66})|(41[0-9a-f]{130}))+5[1-9a-f]ae")),
    ("op_return", re.compile(r"6a[0-9a-f]*")),
)


def classify_script(scriptpubkey_hex: str) -> str:
    """The Esplora type of a locking script given as hex; ``unknown`` when none fits."""
    script = scriptpubkey_hex.lower()
    if not script:
        return "empty"
    for name, pattern in _PATTERNS:
        if pattern.fullmatch(script):
            return name
    return "unknown"


def esplora_type(source_type: str | None, scriptpubkey_hex: str) -> str:
    """The Esplora name of a script type given by a source, or read from the script.

    A type the source already names in Esplora's vocabulary is kept as it is, ``unknown``
    included: the source saw the script and this reading does not overrule it.
    """
    if source_type in ESPLORA_TYPES:
        return source_type
    if source_type in CORE_TO_ESPLORA:
        return CORE_TO_ESPLORA[source_type]
    return classify_script(scriptpubkey_hex)
