"""Decisions to show: random but valid, and written to the audit trail as the scorer would."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import asyncpg

from chainwatch.shared.schemas import RiskBand, RuleHit, ScoredTransaction, Tier, TierOutput

_LABELLED_ADDRESS = "bc1qtestlabelledaddress0000000000000000000"


def make_decision(
    band: RiskBand = RiskBand.LOW,
    *,
    risk_score: float | None = None,
    decided_at: datetime | None = None,
    rule_hits: list[RuleHit] | None = None,
    value_out: int = 123_456_789,
    fee: int | None = 4_200,
    vsize: int = 141,
) -> ScoredTransaction:
    """A decision on a fresh random txid; flagged unless the band is Low."""
    default_score = {"Low": 0.02, "Medium": 0.45, "High": 0.78, "Severe": 1.0}[band.value]
    score = default_score if risk_score is None else risk_score
    return ScoredTransaction(
        txid=secrets.token_hex(32),
        decided_at=decided_at or datetime.now(UTC),
        risk_score=score,
        band=band,
        flagged=band is not RiskBand.LOW,
        deciding_tier=Tier.HEURISTIC,
        tiers=[TierOutput(tier=Tier.HEURISTIC, risk_score=score, note="direct exposure rules")],
        rule_hits=rule_hits or [],
        value_out=value_out,
        fee=fee,
        vsize=vsize,
        input_count=1,
        output_count=2,
        source="test",
        latency_ms=3.5,
    )


def sanctions_hit(share: float = 0.6) -> RuleHit:
    return RuleHit(
        rule="direct_exposure",
        category="sanctions",
        addresses=[_LABELLED_ADDRESS],
        share_of_value=share,
        detail="pays a sanctioned address (test label)",
    )


async def insert_decisions(pool: asyncpg.Pool, *decisions: ScoredTransaction) -> None:
    """Write decisions to ``audit_decision`` as the scorer would."""
    await pool.executemany(
        """
        INSERT INTO audit_decision (
            txid, decided_at, risk_score, band, flagged, deciding_tier, tiers, rule_hits,
            value_out_sat, fee_sat, vsize, input_count, output_count, source, latency_ms
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """,
        [_row(d) for d in decisions],
    )


def _row(d: ScoredTransaction) -> tuple[Any, ...]:
    return (
        d.txid,
        d.decided_at,
        d.risk_score,
        d.band.value,
        d.flagged,
        d.deciding_tier.value,
        json.dumps([t.model_dump(mode="json") for t in d.tiers]),
        json.dumps([h.model_dump(mode="json") for h in d.rule_hits]),
        d.value_out,
        d.fee,
        d.vsize,
        d.input_count,
        d.output_count,
        d.source,
        d.latency_ms,
    )
