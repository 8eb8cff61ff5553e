"""What the dashboard shows of a risk decision, in one shape for the JSON API and the live feed.

A decision reaches the dashboard two ways: as a row of ``audit_decision`` (history) and as a
``ScoredTransaction`` on the bus (live). Both become a ``DecisionView``, so the page renders
one shape whichever way a row arrived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from chainwatch.shared.schemas import RiskBand, RuleHit, ScoredTransaction, Tier, TierOutput

T = TypeVar("T")

_RULE_HITS = TypeAdapter(list[RuleHit])
_TIERS = TypeAdapter(list[TierOutput])


class DecisionView(BaseModel):
    """One risk decision as analysts and HTTP integrators see it; amounts in satoshis."""

    model_config = ConfigDict(frozen=True)

    txid: str = Field(description="Transaction id, 64 hex")
    decided_at: AwareDatetime = Field(description="When the scorer decided, UTC")
    risk_score: float = Field(ge=0.0, le=1.0, description="Risk in [0, 1]; higher is riskier")
    band: RiskBand
    flagged: bool = Field(description="True when the band calls for analyst review")
    deciding_tier: Tier = Field(description="The cascade tier whose score made the decision")
    top_rule: RuleHit | None = Field(
        description="The rule hit touching the largest share of value; null when none fired"
    )
    rule_hits: list[RuleHit]
    tiers: list[TierOutput] = Field(description="What every tier said, deciding or not")
    value_out_sat: int = Field(ge=0, description="Sum of outputs, satoshis")
    fee_sat: int | None = Field(ge=0, description="Fee, satoshis; null when unknown")
    vsize: int = Field(gt=0, description="Virtual size, vbytes")
    fee_rate_sat_vb: float | None = Field(description="fee_sat / vsize; null when fee unknown")
    input_count: int
    output_count: int
    source: str = Field(description="Where the transaction came from, e.g. replay:<file>")
    latency_ms: float = Field(description="From ingest's observation to the decision")

    @classmethod
    def from_scored(cls, scored: ScoredTransaction) -> DecisionView:
        """The view of a decision as it travels on ``chainwatch.tx.scored``."""
        return cls(
            txid=scored.txid,
            decided_at=scored.decided_at,
            risk_score=scored.risk_score,
            band=scored.band,
            flagged=scored.flagged,
            deciding_tier=scored.deciding_tier,
            top_rule=top_rule(scored.rule_hits),
            rule_hits=list(scored.rule_hits),
            tiers=list(scored.tiers),
            value_out_sat=scored.value_out,
            fee_sat=scored.fee,
            vsize=scored.vsize,
            fee_rate_sat_vb=fee_rate(scored.fee, scored.vsize),
            input_count=scored.input_count,
            output_count=scored.output_count,
            source=scored.source,
            latency_ms=scored.latency_ms,
        )

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> DecisionView:
        """The view of one ``audit_decision`` row (jsonb columns as text or as parsed JSON)."""
        rule_hits = _parse(_RULE_HITS, row["rule_hits"])
        return cls(
            txid=row["txid"],
            decided_at=row["decided_at"],
            risk_score=row["risk_score"],
            band=row["band"],
            flagged=row["flagged"],
            deciding_tier=row["deciding_tier"],
            top_rule=top_rule(rule_hits),
            rule_hits=rule_hits,
            tiers=_parse(_TIERS, row["tiers"]),
            value_out_sat=row["value_out_sat"],
            fee_sat=row["fee_sat"],
            vsize=row["vsize"],
            fee_rate_sat_vb=fee_rate(row["fee_sat"], row["vsize"]),
            input_count=row["input_count"],
            output_count=row["output_count"],
            source=row["source"],
            latency_ms=row["latency_ms"],
        )


class DecisionFrame(BaseModel):
    """A websocket frame of the live feed; ``type`` leaves room for other kinds of frame."""

    type: Literal["decision"] = "decision"
    decision: DecisionView


def top_rule(hits: Sequence[RuleHit]) -> RuleHit | None:
    """The hit that touches the largest share of the value; the first such on a tie."""
    return max(hits, key=lambda hit: hit.share_of_value, default=None)


def fee_rate(fee_sat: int | None, vsize: int) -> float | None:
    """Fee rate in sat/vB, or None when the fee is unknown."""
    return None if fee_sat is None else fee_sat / vsize


def _parse(adapter: TypeAdapter[T], value: str | bytes | object) -> T:
    if isinstance(value, str | bytes):
        return adapter.validate_json(value)
    return adapter.validate_python(value)
