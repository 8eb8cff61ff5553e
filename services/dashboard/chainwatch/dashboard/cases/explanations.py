"""The explainer's account of a decision: attribution (SHAP) and a narrative.

The explainer stores one row per explained decision in ``audit_explanation``, whose
``explanation`` column is the ``chainwatch.tx.explained`` message as published. Until
that table exists (the explainer is not deployed, or not migrated yet) or holds the
decision, every case reads "explanation pending". The message is read as JSON and mapped
here field by field (the fields of ``chainwatch.shared.explanations.ExplainedTransaction``),
so the dashboard keeps working while the explainer's message grows new fields.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contribution:
    """How much one feature pushed the model's raw output, in log-odds."""

    feature: str
    label: str
    value_text: str
    """The feature's value in words with its unit, e.g. "fee rate 12.4 sat/vB"."""
    contribution: float


@dataclass(frozen=True)
class Explanation:
    path: str
    """Who wrote the narrative: ``claude`` or ``template``."""
    narrative: str
    fallback_reason: str
    """Why the template was used when Claude was not, or empty."""
    contributions: list[Contribution]
    """The listed contributions, largest magnitude first, plus one for the rest if any."""
    base_value: float | None
    """The model's expected raw output (log-odds) before any feature is known."""
    output_value: float | None
    method: str
    model: str
    attribution_note: str
    explained_at: datetime | None
    row_hash: str
    """The explanation's own place in its hash chain, hex."""
    narrative_model: str = ""
    """The Claude model that wrote the narrative, when Claude did."""
    reproduced: bool | None = None
    """False when the explained model's output differs from the score the scorer recorded."""


async def load_explanation(pool: asyncpg.Pool, txid: str) -> Explanation | None:
    """The explanation of ``txid``, or None when there is none (yet)."""
    exists = await pool.fetchval("SELECT to_regclass('audit_explanation') IS NOT NULL")
    if not exists:
        return None
    row = await pool.fetchrow(
        "SELECT explanation, row_hash FROM audit_explanation WHERE txid = $1", txid
    )
    if row is None:
        return None
    message = row["explanation"]
    if isinstance(message, str):
        message = json.loads(message)
    return explanation_from(message, bytes(row["row_hash"]).hex())


def explanation_from(message: Mapping[str, Any], row_hash: str = "") -> Explanation:
    """An ``Explanation`` from a ``chainwatch.tx.explained`` message."""
    attribution = message.get("attribution") or {}
    narrative = message.get("narrative") or {}
    contributions = [
        Contribution(
            feature=str(c.get("name", "")),
            label=str(c.get("label", c.get("name", ""))),
            value_text=str(c.get("value_text") or c.get("label") or c.get("name", "")),
            contribution=float(c.get("log_odds", 0.0)),
        )
        for c in attribution.get("contributions", [])
    ]
    contributions.sort(key=lambda c: -abs(c.contribution))
    rest_count = int(attribution.get("rest_count", 0))
    if rest_count:
        contributions.append(
            Contribution(
                "",
                "other features",
                f"{rest_count} other features",
                float(attribution.get("rest_log_odds", 0.0)),
            )
        )
    return Explanation(
        path=str(narrative.get("path", "template")),
        narrative=str(narrative.get("text", "")),
        fallback_reason=str(narrative.get("fallback_reason") or ""),
        contributions=contributions,
        base_value=_float(attribution.get("expected_log_odds")),
        output_value=_float(attribution.get("output_log_odds")),
        method=str(attribution.get("method", "")),
        model=" ".join(
            str(attribution[k]) for k in ("model_name", "model_version") if attribution.get(k)
        ),
        attribution_note=str(message.get("attribution_note", "")),
        explained_at=_time(message.get("explained_at")),
        row_hash=row_hash,
        narrative_model=str(narrative.get("model") or ""),
        reproduced=attribution.get("reproduced") if attribution else None,
    )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
