"""Read-only queries on the audit trail of risk decisions (table ``audit_decision``).

Every value reaches PostgreSQL as a bind parameter; the only text chosen at run time is one
of the fixed ``WHERE`` clauses below, so that the flagged-only query can use its partial
index.
"""

from __future__ import annotations

import logging

import asyncpg

from chainwatch.dashboard.views import DecisionView
from chainwatch.shared.db import DATABASE_ERRORS
from chainwatch.shared.errors import TransientError

logger = logging.getLogger(__name__)

RECENT_LIMIT_MAX = 500
"""The most rows one request for recent decisions may ask for."""

_COLUMNS = """
    txid, decided_at, risk_score, band, flagged, deciding_tier, tiers, rule_hits,
    value_out_sat, fee_sat, vsize, input_count, output_count, source, latency_ms
"""

_WHERE = {None: "", True: "WHERE flagged", False: "WHERE NOT flagged"}


async def recent(
    pool: asyncpg.Pool, *, limit: int, flagged: bool | None = None
) -> list[DecisionView]:
    """The ``limit`` latest decisions, newest first; only flagged (or unflagged) ones if asked.

    Raises TransientError when the database cannot be reached.
    """
    if not 1 <= limit <= RECENT_LIMIT_MAX:
        raise ValueError(f"limit must be in 1..{RECENT_LIMIT_MAX}, got {limit}")

    query = (
        f"SELECT {_COLUMNS} FROM audit_decision {_WHERE[flagged]}"  # noqa: S608 fixed text only
        " ORDER BY decided_at DESC, id DESC LIMIT $1"
    )
    try:
        rows = await pool.fetch(query, limit)
    except DATABASE_ERRORS as exc:
        raise TransientError(f"database unavailable: {type(exc).__name__}") from exc
    return [DecisionView.from_record(row) for row in rows]
