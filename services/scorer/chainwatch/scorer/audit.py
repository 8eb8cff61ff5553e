"""Writing decisions to the audit trail: a whole batch in one round trip, each txid once.

A decision whose txid is already in ``audit_decision`` is skipped by the database
(``ON CONFLICT DO NOTHING``), so a redelivered message never writes a second row. The
database chains each new row to the previous one by hash (migration 0002); this module
only supplies the values.
"""

from __future__ import annotations

import json
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


async def read_decisions(pool: asyncpg.Pool, txids: Sequence[str]) -> dict[str, ScoredTransaction]:
    """The decisions the audit trail holds for ``txids``, exactly as they were recorded.

    A redelivered transaction is re-decided, but what is published must be what was
    audited: the models or the labels may have changed in between.
    """
    names = ", ".join(name for name, _ in _COLUMNS)
    rows = await pool.fetch(
        f"SELECT {names} FROM audit_decision WHERE txid = ANY($1::text[])",  # noqa: S608 - constant columns
        list(txids),
    )
    return {row["txid"]: _decision_of(row) for row in rows}


def _decision_of(row: asyncpg.Record) -> ScoredTransaction:
    return ScoredTransaction.model_validate(
        {
            "txid": row["txid"],
            "decided_at": row["decided_at"],
            "risk_score": row["risk_score"],
            "band": row["band"],
            "flagged": row["flagged"],
            "deciding_tier": row["deciding_tier"],
            "decision_reason": row["decision_reason"],
            "tiers": json.loads(row["tiers"]),
            "rule_hits": json.loads(row["rule_hits"]),
            "exposure": json.loads(row["exposure"]),
            "anomaly_score": row["anomaly_score"],
            "features": json.loads(row["features"]),
            "feature_set_version": row["feature_set_version"],
            "model_versions": json.loads(row["model_versions"]),
            "value_out": row["value_out_sat"],
            "fee": row["fee_sat"],
            "vsize": row["vsize"],
            "input_count": row["input_count"],
            "output_count": row["output_count"],
            "source": row["source"],
            "latency_ms": row["latency_ms"],
        }
    )
