"""The drift service's tables (migration 0060): references, checks, events, retraining steps.

Every write is an INSERT into an append-only table; a row written twice (a redelivered
batch) is skipped by its unique key. Reads serve the healing loop: the trainer's gate
decisions (``training_run``, migration 0004), the open retraining request after a
restart, and each decision's tier scores for verdict errors (``audit_decision``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from chainwatch.drift.checks import CheckResult, Figures
from chainwatch.drift.reference import ActiveReference
from chainwatch.shared.drift import DriftDetected

RETRAIN_STEPS = ("requested", "suppressed", "promoted", "refused", "timed_out", "serving")
CLOSING_STEPS = ("promoted", "refused", "timed_out")


async def record_reference(pool: asyncpg.Pool, reference: ActiveReference) -> None:
    info, window = reference.info, reference.info.window
    await pool.execute(
        """
        INSERT INTO drift_reference (reference_id, source, model_name, model_version,
            row_count, description, first_seq, last_seq, first_at, last_at, summary)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
        ON CONFLICT (reference_id) DO NOTHING
        """,
        info.reference_id,
        info.source,
        info.model_name,
        info.model_version,
        info.rows,
        info.description,
        window.first_seq if window else None,
        window.last_seq if window else None,
        window.first_at if window else None,
        window.last_at if window else None,
        json.dumps(reference.features.to_card()),
    )


async def record_checks(
    conn: asyncpg.Connection, checks: Sequence[CheckResult], checked_at: datetime
) -> None:
    """One drift_check row per check, in one round trip."""
    if not checks:
        return
    await conn.executemany(
        """
        INSERT INTO drift_check (kind, tier, checked_at, reference_id, first_seq, last_seq,
            first_at, last_at, window_size, drifted, headline, drifted_subjects, figures)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)
        """,
        [
            (
                c.kind.value,
                c.tier.value if c.tier else None,
                checked_at,
                c.reference.reference_id if c.reference else None,
                c.window.first_seq,
                c.window.last_seq,
                c.window.first_at,
                c.window.last_at,
                c.window.size,
                c.drifted,
                c.headline,
                c.subjects,
                json.dumps(_finite(c.figures)),
            )
            for c in checks
        ],
    )


def _finite(figures: Figures) -> Figures:
    """The figures with NaN and infinities as null, which JSON (and jsonb) can hold."""
    return {
        subject: {k: v if v is None or math.isfinite(v) else None for k, v in values.items()}
        for subject, values in figures.items()
    }


async def record_events(conn: asyncpg.Connection, events: Sequence[DriftDetected]) -> None:
    if not events:
        return
    await conn.executemany(
        """
        INSERT INTO drift_event (event_id, kind, tier, detected_at, summary, subjects,
            reference_id, first_seq, last_seq, first_at, last_at, window_size, retrain,
            evidence)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
        ON CONFLICT (event_id) DO NOTHING
        """,
        [
            (
                e.event_id,
                e.kind.value,
                e.tier.value if e.tier else None,
                e.detected_at,
                e.summary,
                [f.subject for f in e.findings],
                e.reference.reference_id if e.reference else None,
                e.window.first_seq,
                e.window.last_seq,
                e.window.first_at,
                e.window.last_at,
                e.window.size,
                e.retrain,
                e.model_dump_json(),
            )
            for e in events
        ],
    )


@dataclass(frozen=True)
class RetrainStep:
    """One row of drift_retrain."""

    step: str
    detail: str
    at: datetime
    request_id: str | None = None
    event_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    run_id: str | None = None


async def record_step(pool: asyncpg.Pool, step: RetrainStep) -> None:
    if step.step not in RETRAIN_STEPS:
        raise ValueError(f"unknown retraining step {step.step!r}")
    await pool.execute(
        """
        INSERT INTO drift_retrain (request_id, event_id, step, model_name, model_version,
            run_id, detail, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (request_id, step) DO NOTHING
        """,
        step.request_id,
        step.event_id,
        step.step,
        step.model_name,
        step.model_version,
        step.run_id,
        step.detail,
        step.at,
    )


async def open_request(pool: asyncpg.Pool) -> RetrainStep | None:
    """The latest request that no promotion, refusal or timeout has closed, if any."""
    row = await pool.fetchrow(
        """
        SELECT r.request_id, r.event_id, r.model_name, r.model_version, r.detail, r.at
        FROM drift_retrain r
        WHERE r.step = 'requested' AND NOT EXISTS (
            SELECT 1 FROM drift_retrain c
            WHERE c.request_id = r.request_id AND c.step = ANY($1::text[]))
        ORDER BY r.at DESC LIMIT 1
        """,
        list(CLOSING_STEPS),
    )
    if row is None:
        return None
    return RetrainStep("requested", row["detail"], row["at"], row["request_id"], row["event_id"],
                       row["model_name"], row["model_version"])  # fmt: skip


async def last_request_at(pool: asyncpg.Pool) -> datetime | None:
    value = await pool.fetchval("SELECT max(at) FROM drift_retrain WHERE step = 'requested'")
    return value if isinstance(value, datetime) else None


async def refusal_since(
    pool: asyncpg.Pool, model_name: str, since: datetime
) -> asyncpg.Record | None:
    """The trainer's first refusal of ``model_name`` on a drift-triggered run since then."""
    return await pool.fetchrow(
        """
        SELECT run_id, candidate_version, reasons, decided_at FROM training_run
        WHERE model_name = $1 AND trigger = 'drift' AND decision = 'refused'
            AND decided_at >= $2
        ORDER BY decided_at LIMIT 1
        """,
        model_name,
        since,
    )


async def tier_scores(pool: asyncpg.Pool, txids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """txid → the tiers of its recorded decision (tier, risk_score, model_version, note)."""
    rows = await pool.fetch(
        "SELECT txid, tiers FROM audit_decision WHERE txid = ANY($1::text[])", list(txids)
    )
    return {r["txid"]: json.loads(r["tiers"]) for r in rows}
