"""Onboarding decisions in the audit trail (table ``onboarding_decision``, migration 0050).

``record`` appends one decision and returns the row hash the database chained it with; a
decision is answered only after this returns, so every answered decision has its row.
``verify_chain`` walks the chain and names the first row that breaks it: one whose content
no longer matches its hash (changed), or that does not link to the row before (a row
removed or slipped in), or a gap in ``chain_seq``. ``replaced_functions`` first checks the
two database functions that hash the rows against digests pinned here, so a replaced
function is reported rather than trusted. A chain alone cannot show that every hash from an
edited row on was recomputed, or that the newest rows were cut: ``head`` gives an anchor
(``chain_seq`` and ``row_hash``) to keep outside the database, and ``check_anchor`` tells
whether the chain still holds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from chainwatch.shared.explanations import Narrative
from chainwatch.shared.onboarding import Applicant, Outcome, Reason

Channel = Literal["nats", "http"]

GENESIS_HASH = b"\x00"
CHUNK_ROWS = 5_000

PINNED_FUNCTIONS: dict[str, str] = {
    # sha256 of pg_proc.prosrc as migration 0050 defines them.
    "onboarding_decision_canonical": (
        "1dd24d035de1320828a2a0e549a33c672e90f748fc999c7944c7835eb3e97a0b"
    ),
    "onboarding_decision_chain": "009e0a1fd7e83029655d9c4d63bcc8f3c5409c417f66303f781c0c2510913c79",
}

_INSERT = """
INSERT INTO onboarding_decision (
    decision_id, application_id, decided_at, channel, outcome, risk_proba, threshold,
    model_name, model_version, applicant, base_log_odds, output_log_odds, reasons,
    narrative, narrative_path, narrative_meta, latency_ms
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13::jsonb, $14, $15,
          $16::jsonb, $17)
RETURNING row_hash
"""

_WALK = """
SELECT chain_seq, decision_id::text AS decision_id, prev_hash, row_hash,
       row_hash = sha256(prev_hash || onboarding_decision_canonical(d)) AS content_ok
FROM onboarding_decision d
WHERE chain_seq > $1
ORDER BY chain_seq
LIMIT $2
"""


@dataclass(frozen=True)
class DecisionRecord:
    """Everything recorded about one decision, before the database chains it."""

    decision_id: str
    application_id: str | None
    decided_at: datetime
    channel: Channel
    outcome: Outcome
    risk_proba: float
    threshold: float
    model_name: str
    model_version: str
    applicant: Applicant
    base_log_odds: float
    output_log_odds: float
    reasons: Sequence[Reason]
    narrative: Narrative
    latency_ms: float


async def record(pool: asyncpg.Pool, decision: DecisionRecord) -> str:
    """Append ``decision``; return its ``row_hash`` in hex."""
    narrative_meta = decision.narrative.model_dump(mode="json", exclude={"text", "path"})
    row_hash = await pool.fetchval(
        _INSERT,
        decision.decision_id,
        decision.application_id,
        decision.decided_at,
        decision.channel,
        decision.outcome.value,
        decision.risk_proba,
        decision.threshold,
        decision.model_name,
        decision.model_version,
        decision.applicant.model_dump_json(),
        decision.base_log_odds,
        decision.output_log_odds,
        json.dumps([r.model_dump(mode="json") for r in decision.reasons]),
        decision.narrative.text,
        decision.narrative.path.value,
        json.dumps(narrative_meta),
        decision.latency_ms,
    )
    return bytes(row_hash).hex()


async def recent(pool: asyncpg.Pool, limit: int) -> list[dict[str, Any]]:
    """The latest decisions, newest first, as the API lists them (no applicant, no reasons)."""
    rows = await pool.fetch(
        """
        SELECT decision_id::text AS decision_id, application_id, decided_at, channel, outcome,
               risk_proba, threshold, model_name, model_version, narrative_path,
               encode(row_hash, 'hex') AS row_hash, chain_seq
        FROM onboarding_decision ORDER BY chain_seq DESC LIMIT $1
        """,
        limit,
    )
    return [_plain(row) for row in rows]


async def one(pool: asyncpg.Pool, decision_id: str) -> dict[str, Any] | None:
    """One decision as recorded, every column, or None when there is no such decision."""
    row = await pool.fetchrow(
        """
        SELECT decision_id::text AS decision_id, application_id, decided_at, channel, outcome,
               risk_proba, threshold, model_name, model_version, applicant, base_log_odds,
               output_log_odds, reasons, narrative, narrative_path, narrative_meta,
               latency_ms, chain_seq, encode(prev_hash, 'hex') AS prev_hash,
               encode(row_hash, 'hex') AS row_hash
        FROM onboarding_decision WHERE decision_id = $1::uuid
        """,
        decision_id,
    )
    return None if row is None else _plain(row)


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    plain = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("applicant", "reasons", "narrative_meta"):
            value = json.loads(value)
        plain[key] = value
    return plain


@dataclass(frozen=True)
class ChainBreak:
    chain_seq: int
    decision_id: str
    problem: str

    def __str__(self) -> str:
        return (
            f"onboarding row chain_seq={self.chain_seq} decision={self.decision_id}: {self.problem}"
        )


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


async def verify_chain(conn: asyncpg.Connection) -> ChainReport:
    """Check every row in chain order; stop at the first that breaks the chain."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    while rows := await conn.fetch(_WALK, expected_seq - 1, CHUNK_ROWS):
        for row in rows:
            seq, decision_id = row["chain_seq"], row["decision_id"]
            problem = None
            if seq != expected_seq:
                problem = f"chain_seq jumps from {expected_seq - 1} to {seq}: rows were removed"
            elif bytes(row["prev_hash"]) != prev_hash:
                problem = "does not link to the previous row: a row before it changed or went"
            elif not row["content_ok"]:
                problem = "content does not match its hash: the row was changed after writing"
            if problem is not None:
                return ChainReport(checked, ChainBreak(seq, decision_id, problem))
            prev_hash, expected_seq, checked = bytes(row["row_hash"]), seq + 1, checked + 1
    return ChainReport(checked, None)


async def replaced_functions(conn: asyncpg.Connection) -> list[str]:
    """The chain's database functions whose definition is not the pinned one (or missing)."""
    rows = await conn.fetch(
        "SELECT proname, prosrc FROM pg_proc WHERE proname = ANY($1::text[])",
        list(PINNED_FUNCTIONS),
    )
    found = {r["proname"]: hashlib.sha256(r["prosrc"].encode()).hexdigest() for r in rows}
    return [name for name, digest in PINNED_FUNCTIONS.items() if found.get(name) != digest]


async def head(conn: asyncpg.Connection) -> tuple[int, bytes] | None:
    """The newest row's ``chain_seq`` and ``row_hash``: an anchor; None for an empty chain."""
    row = await conn.fetchrow(
        "SELECT chain_seq, row_hash FROM onboarding_decision ORDER BY chain_seq DESC LIMIT 1"
    )
    return None if row is None else (row["chain_seq"], bytes(row["row_hash"]))


async def check_anchor(conn: asyncpg.Connection, chain_seq: int, row_hash: bytes) -> str | None:
    """Why the anchor taken earlier no longer holds; None when the chain still carries it."""
    stored = await conn.fetchval(
        "SELECT row_hash FROM onboarding_decision WHERE chain_seq = $1", chain_seq
    )
    if stored is None:
        return f"anchored row chain_seq={chain_seq} is gone"
    if bytes(stored) != row_hash:
        return f"row chain_seq={chain_seq} no longer has its anchored hash: the chain was rewritten"
    return None
