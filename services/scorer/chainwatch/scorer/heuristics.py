"""The heuristic tier: rules over a transaction and the labelled addresses it touches.

Direct exposure: an input spending from, or an output paying to, a labelled address in an
illicit category. ``share_of_value`` is the share of the side's value that touches the
category (inputs: of the prevout values, when known; outputs: of the output values); the
larger of the two sides is reported.

Score of one hit: ``weight(category) * (0.6 + 0.4 * share_of_value)``, so any exposure
counts and full exposure counts most; the tier's score is the largest over its hits, 0.0
with none. Sanctions exposure is a hard override: the tier reports it and the cascade sets
the band to Severe whatever the score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from chainwatch.scorer.labels import ILLICIT, Category, LabelBook
from chainwatch.shared.schemas import RuleHit, Transaction

CATEGORY_WEIGHT: dict[Category, float] = {
    Category.SANCTIONS: 1.0,
    Category.RANSOMWARE: 0.95,
    Category.DARKNET_MARKET: 0.9,
    Category.SCAM: 0.85,
    Category.MIXER: 0.75,
    Category.SEIZURE: 0.6,
}


@dataclass(frozen=True)
class HeuristicResult:
    """What the rules found: a risk in [0, 1], the hits behind it, and the override."""

    risk_score: float
    rule_hits: tuple[RuleHit, ...]
    sanctioned: bool


@dataclass
class _Exposure:
    """What one category touches in one transaction."""

    input_sat: int = 0
    output_sat: int = 0
    addresses: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)


class HeuristicTier:
    def __init__(self, labels: LabelBook) -> None:
        self.labels = labels

    def score(self, tx: Transaction) -> HeuristicResult:
        exposure: dict[Category, _Exposure] = defaultdict(_Exposure)

        for vin in tx.vin:
            if vin.prevout is None:
                continue
            for label in self.labels.get(vin.prevout.scriptpubkey_address):
                if label.category in ILLICIT:
                    found = exposure[label.category]
                    found.addresses.add(vin.prevout.scriptpubkey_address or "")
                    found.entities.add(label.entity)
                    found.input_sat += vin.prevout.value
        for vout in tx.vout:
            for label in self.labels.get(vout.scriptpubkey_address):
                if label.category in ILLICIT:
                    found = exposure[label.category]
                    found.addresses.add(vout.scriptpubkey_address or "")
                    found.entities.add(label.entity)
                    found.output_sat += vout.value

        input_total = sum(v.prevout.value for v in tx.vin if v.prevout is not None)
        output_total = tx.value_out
        hits = []
        for category, found in sorted(exposure.items()):
            input_share = _share(found.input_sat, input_total)
            share = max(input_share, _share(found.output_sat, output_total))
            hits.append(
                RuleHit(
                    rule="direct_exposure",
                    category=category.value,
                    addresses=sorted(found.addresses),
                    share_of_value=share,
                    detail="entities: " + ", ".join(sorted(found.entities)),
                )
            )

        risk = max(
            (CATEGORY_WEIGHT[Category(h.category)] * (0.6 + 0.4 * h.share_of_value) for h in hits),
            default=0.0,
        )
        return HeuristicResult(
            risk_score=round(risk, 6),
            rule_hits=tuple(hits),
            sanctioned=Category.SANCTIONS in exposure,
        )


def _share(part_sat: int, total_sat: int) -> float:
    if total_sat <= 0:
        return 1.0 if part_sat > 0 else 0.0
    return min(1.0, part_sat / total_sat)
