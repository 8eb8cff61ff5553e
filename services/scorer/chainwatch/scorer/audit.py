"""Writing decisions to the audit trail: a whole batch in one round trip, each txid once.

A decision whose txid is already in ``audit_decision`` is skipped by the database
(``ON CONFLICT DO NOTHING``), so a redelivered message never writes a second row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from chainwatch.shared.schemas import ScoredTransaction

_INSERT = """
INSERT INTO audit_decision (
    txid, decided_at, risk_score, band, flagged, deciding_tier, tiers, rule_hits,
    value_out_sat, fee_sat, vsize, input_count, output_count, source, latency_ms, stream_seq
)
SELECT * FROM unnest(
    $1::text[], $2::timestamptz[], $3::float8[], $4::text[], $5::bool[], $6::text[],
    $7::jsonb[], $8::jsonb[], $9::int8[], $10::int8[], $11::int4[], $12::int4[], $13::int4[],
    $14::text[], $15::float8[], $16::int8[]
)
ON CONFLICT (txid) DO NOTHING
RETURNING txid
"""


async def write_decisions(
    pool: asyncpg.Pool, decisions: Sequence[ScoredTransaction], stream_seqs: Sequence[int]
) -> set[str]:
    """Insert the decisions; return the txids written now (the others were there already)."""
    columns: list[list[object]] = [[] for _ in range(16)]
    for decision, seq in zip(decisions, stream_seqs, strict=True):
        row = (
            decision.txid,
            decision.decided_at,
            decision.risk_score,
            decision.band.value,
            decision.flagged,
            decision.deciding_tier.value,
            json.dumps([t.model_dump(mode="json") for t in decision.tiers]),
            json.dumps([h.model_dump(mode="json") for h in decision.rule_hits]),
            decision.value_out,
            decision.fee,
            decision.vsize,
            decision.input_count,
            decision.output_count,
            decision.source,
            decision.latency_ms,
            seq,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)

    rows = await pool.fetch(_INSERT, *columns)
    return {r["txid"] for r in rows}
