"""Explanations in the audit trail: linked to their decisions, stored once per txid, chained.

``lookup`` reads, for a batch of txids, the hash of each decision's audit row (the link an
explanation must carry) and any explanation already stored (a redelivered decision is not
explained again: its stored explanation is published as it is). ``write_explanations``
inserts a batch in one round trip; a txid already stored is skipped by the database
(``ON CONFLICT DO NOTHING``). The chain and the link are kept by the database (migration
0010); ``verify_chain`` walks the chain and names the first row that breaks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from chainwatch.shared.explanations import ExplainedTransaction

_LOOKUP = """
SELECT d.txid, d.row_hash, e.explanation::text AS explanation
FROM audit_decision d LEFT JOIN audit_explanation e USING (txid)
WHERE d.txid = ANY($1::text[])
"""

_COLUMNS = (
    ("txid", "text"),
    ("decision_row_hash", "bytea"),
    ("explained_at", "timestamptz"),
    ("deciding_tier", "text"),
    ("attribution_method", "text"),
    ("model_version", "text"),
    ("narrative_path", "text"),
    ("fallback_reason", "text"),
    ("narrative_latency_ms", "float8"),
    ("input_tokens", "int4"),
    ("output_tokens", "int4"),
    ("explanation", "jsonb"),
    ("stream_seq", "int8"),
)

_INSERT = f"""
INSERT INTO audit_explanation ({", ".join(name for name, _ in _COLUMNS)})
SELECT * FROM unnest({", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(_COLUMNS, 1))})
ON CONFLICT (txid) DO NOTHING
RETURNING txid
"""  # noqa: S608 - the column list is the constant above; every value is a bound parameter

_WALK = """
SELECT chain_seq, txid, prev_hash, row_hash,
       row_hash = sha256(prev_hash || audit_explanation_canonical(e)) AS content_ok
FROM audit_explanation e
WHERE chain_seq > $1
ORDER BY chain_seq
LIMIT $2
"""

GENESIS_HASH = b"\x00"
CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class Stored:
    """What the audit trail holds for one decision."""

    decision_row_hash: bytes
    explanation: ExplainedTransaction | None


async def lookup(pool: asyncpg.Pool, txids: Sequence[str]) -> dict[str, Stored]:
    """Txid → its decision's row hash and stored explanation; a txid without a decision row
    is absent from the result."""
    rows = await pool.fetch(_LOOKUP, list(txids))
    return {
        r["txid"]: Stored(
            bytes(r["row_hash"]),
            None
            if r["explanation"] is None
            else ExplainedTransaction.model_validate_json(r["explanation"]),
        )
        for r in rows
    }


def _row(explanation: ExplainedTransaction, stream_seq: int) -> tuple[object, ...]:
    attribution = explanation.attribution
    narrative = explanation.narrative
    return (
        explanation.txid,
        bytes.fromhex(explanation.decision_row_hash),
        explanation.explained_at,
        explanation.deciding_tier.value,
        attribution.method.value if attribution else None,
        attribution.model_version if attribution else None,
        narrative.path.value,
        narrative.fallback_reason,
        narrative.latency_ms,
        narrative.input_tokens,
        narrative.output_tokens,
        explanation.model_dump_json(),
        stream_seq,
    )


async def write_explanations(
    pool: asyncpg.Pool, explanations: Sequence[ExplainedTransaction], stream_seqs: Sequence[int]
) -> set[str]:
    """Insert the explanations; return the txids written now (the others were there already)."""
    columns: list[list[object]] = [[] for _ in _COLUMNS]
    for explanation, seq in zip(explanations, stream_seqs, strict=True):
        for column, value in zip(columns, _row(explanation, seq), strict=True):
            column.append(value)
    rows = await pool.fetch(_INSERT, *columns)
    return {r["txid"] for r in rows}


@dataclass(frozen=True)
class ChainReport:
    """How many rows were checked, and the first one that breaks the chain (None: intact)."""

    rows_checked: int
    first_break: tuple[int, str, str] | None
    """(chain_seq, txid, what is wrong)."""

    @property
    def intact(self) -> bool:
        return self.first_break is None


async def verify_chain(conn: asyncpg.Connection) -> ChainReport:
    """Check every explanation in chain order: content matches its hash, links to the one
    before, no gap in ``chain_seq``; stop at the first that does not."""
    expected_seq, prev_hash, checked, after = 1, GENESIS_HASH, 0, 0
    while rows := await conn.fetch(_WALK, after, CHUNK_ROWS):
        for row in rows:
            seq, txid = row["chain_seq"], row["txid"]
            if seq != expected_seq:
                return ChainReport(checked, (seq, txid, f"rows missing before chain_seq {seq}"))
            if bytes(row["prev_hash"]) != prev_hash:
                return ChainReport(checked, (seq, txid, "does not link to the previous row"))
            if not row["content_ok"]:
                return ChainReport(checked, (seq, txid, "changed after it was written"))
            prev_hash, expected_seq, checked = bytes(row["row_hash"]), seq + 1, checked + 1
        after = rows[-1]["chain_seq"]
    return ChainReport(checked, None)
