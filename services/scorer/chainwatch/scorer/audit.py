"""Writing decisions to the audit trail: a whole batch in one round trip, each txid once.

A decision whose txid is already in ``audit_decision`` is skipped by the database
(``ON CONFLICT DO NOTHING``), so a redelivered message never writes a second row. The
database chains each new row to the previous one by hash (migration 0002); this module
only supplies the values.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from pydantic_core import to_json

from chainwatch.shared.schemas import ScoredTransaction

_COLUMNS = (
    ("txid", "text"),
    ("decided_at", "timestamptz"),
    ("risk_score", "float8"),
    ("band", "text"),
    ("flagged", "bool"),
    ("deciding_tier", "text"),
    ("decision_reason", "text"),
    ("tiers", "jsonb"),
    ("rule_hits", "jsonb"),
    ("value_out_sat", "int8"),
    ("fee_sat", "int8"),
    ("vsize", "int4"),
    ("input_count", "int4"),
    ("output_count", "int4"),
    ("source", "text"),
    ("latency_ms", "float8"),
    ("stream_seq", "int8"),
    ("features", "jsonb"),
    ("feature_set_version", "text"),
    ("model_versions", "jsonb"),
    ("exposure", "jsonb"),
    ("anomaly_score", "float8"),
)

_INSERT = f"""
INSERT INTO audit_decision ({", ".join(name for name, _ in _COLUMNS)})
SELECT * FROM unnest({", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(_COLUMNS, 1))})
ON CONFLICT (txid) DO NOTHING
RETURNING txid
"""  # noqa: S608 - the column list is the constant above; every value is a bound parameter


def _row(decision: ScoredTransaction, stream_seq: int) -> tuple[object, ...]:
    return (
        decision.txid,
        decision.decided_at,
        decision.risk_score,
        decision.band.value,
        decision.flagged,
        decision.deciding_tier.value,
        decision.decision_reason,
        _json(decision.tiers),
        _json(decision.rule_hits),
        decision.value_out,
        decision.fee,
        decision.vsize,
        decision.input_count,
        decision.output_count,
        decision.source,
        decision.latency_ms,
        stream_seq,
        _json(decision.features),
        decision.feature_set_version,
        _json(decision.model_versions),
        _json(decision.exposure),
        decision.anomaly_score,
    )


def _json(value: object) -> str:
    # pydantic's serializer writes models, lists and dicts alike, fast; NaN becomes null.
    return to_json(value, inf_nan_mode="null").decode()


async def write_decisions(
    pool: asyncpg.Pool, decisions: Sequence[ScoredTransaction], stream_seqs: Sequence[int]
) -> set[str]:
    """Insert the decisions; return the txids written now (the others were there already)."""
    columns: list[list[object]] = [[] for _ in _COLUMNS]
    for decision, seq in zip(decisions, stream_seqs, strict=True):
        for column, value in zip(columns, _row(decision, seq), strict=True):
            column.append(value)

    rows = await pool.fetch(_INSERT, *columns)
    return {r["txid"] for r in rows}
