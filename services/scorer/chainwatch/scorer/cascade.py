"""The cascade: which tier decides a transaction's risk, and the decision it makes.

Policy, in this order:

1. Sanctions exposure found by the heuristic tier is a hard override: band Severe.
2. The online tier decides when it is trusted (it is not built yet: it abstains).
3. The batch tier decides when a model is loaded (none is yet: it abstains).
4. Otherwise the heuristic tier decides.

Every tier's output is recorded on the decision, abstentions included, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.shared.schemas import (
    RawTransaction,
    RiskBand,
    ScoredTransaction,
    Tier,
    TierOutput,
)


@dataclass(frozen=True)
class Cascade:
    heuristic: HeuristicTier
    bands: RiskBands

    def decide(self, raw: RawTransaction) -> ScoredTransaction:
        tx = raw.tx
        rules = self.heuristic.score(tx)
        tiers = [
            TierOutput(
                tier=Tier.HEURISTIC,
                risk_score=rules.risk_score,
                note=f"{len(rules.rule_hits)} rule hit(s)",
            ),
        ]

        band = RiskBand.SEVERE if rules.sanctioned else self.bands.band(rules.risk_score)
        decided_at = datetime.now(UTC)
        latency_ms = max(0.0, (decided_at - raw.observed_at).total_seconds() * 1000.0)
        return ScoredTransaction(
            txid=tx.txid,
            decided_at=decided_at,
            risk_score=rules.risk_score,
            band=band,
            flagged=self.bands.is_flagged(band),
            deciding_tier=Tier.HEURISTIC,
            tiers=tiers,
            rule_hits=list(rules.rule_hits),
            value_out=tx.value_out,
            fee=tx.fee,
            vsize=tx.vsize,
            input_count=len(tx.vin),
            output_count=len(tx.vout),
            source=raw.source,
            latency_ms=latency_ms,
        )
