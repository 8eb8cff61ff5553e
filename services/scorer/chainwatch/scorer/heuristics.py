"""The heuristic tier: rules over a transaction, its exposure and its shape.

Exposure rules (see ``exposure.py`` for how exposure is traced):

* ``direct_exposure``: the transaction spends from, or pays, a labelled address in an
  illicit category (hops 0);
* ``indirect_exposure``: it spends outputs that trace back to such a transaction (hops ≥ 1).

Score of an exposure: ``weight(category) × (0.6 + 0.4 × share_of_value) × decay^hops``, so
any exposure counts, full exposure counts most, and each hop counts ``decay`` times less.
Typology rules (``typologies.py``) add their own weights; the tier's score is the largest
over all hits, 0.0 with none. Direct sanctions exposure is a hard override: the tier says
so and the cascade sets the band to Severe whatever the score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from chainwatch.scorer.labels import Category
from chainwatch.scorer.peel import PeelChains
from chainwatch.scorer.typologies import DEFAULT_PARAMS, TypologyParams, detect_typologies
from chainwatch.shared.schemas import Exposure, RuleHit, Transaction

CATEGORY_WEIGHT: Mapping[str, float] = MappingProxyType(
    {
        Category.SANCTIONS: 1.0,
        Category.RANSOMWARE: 0.95,
        Category.DARKNET_MARKET: 0.9,
        Category.SCAM: 0.85,
        Category.MIXER: 0.75,
        Category.SEIZURE: 0.6,
    }
)


@dataclass(frozen=True)
class HeuristicParams:
    decay_per_hop: float = 0.7
    """Each hop away from a labelled address multiplies an exposure's score by this."""
    linked_peel_weight: float = 0.45
    """Score of a peel step that extends a chain of ``peel_min_steps`` or more."""
    peel_min_steps: int = 3
    category_weight: Mapping[str, float] = field(default_factory=lambda: CATEGORY_WEIGHT)
    typologies: TypologyParams = DEFAULT_PARAMS


@dataclass(frozen=True)
class HeuristicResult:
    """What the rules found: a risk in [0, 1], the hits behind it, and the override."""

    risk_score: float
    rule_hits: tuple[RuleHit, ...]
    sanctioned: bool


class HeuristicTier:
    def __init__(self, params: HeuristicParams | None = None) -> None:
        self.params = params or HeuristicParams()
        self.peel_chains = PeelChains(min_steps=self.params.peel_min_steps)

    def exposure_risk(self, exposure: Exposure) -> float:
        weight = self.params.category_weight.get(exposure.category, 0.0)
        shared = 0.6 + 0.4 * exposure.share_of_value
        return weight * shared * self.params.decay_per_hop**exposure.hops

    def score(self, tx: Transaction, exposures: Sequence[Exposure]) -> HeuristicResult:
        """Score ``tx``; call in stream order, as peel chains are linked across calls."""
        hits = [_exposure_hit(e) for e in exposures]
        typology_hits = detect_typologies(tx, self.params.typologies)
        hits.extend(typology_hits)
        weights = self.params.typologies.weights
        scores = [self.exposure_risk(e) for e in exposures]
        scores += [weights.get(h.category, 0.0) for h in typology_hits]

        if (chain := self.peel_chains.link(tx, typology_hits)) is not None:
            hits.append(chain)
            scores.append(self.params.linked_peel_weight)
        risk = max(scores, default=0.0)
        sanctioned = any(e.category == Category.SANCTIONS and e.hops == 0 for e in exposures)
        return HeuristicResult(round(min(risk, 1.0), 6), tuple(hits), sanctioned)


def _exposure_hit(exposure: Exposure) -> RuleHit:
    via = f" via {exposure.via_txid}" if exposure.via_txid else ""
    entities = f"; entities: {', '.join(exposure.entities)}" if exposure.entities else ""
    return RuleHit(
        rule="direct_exposure" if exposure.hops == 0 else "indirect_exposure",
        category=exposure.category,
        addresses=exposure.addresses,
        share_of_value=exposure.share_of_value,
        detail=f"value {exposure.direction} {exposure.category}, hops={exposure.hops}{via}"
        + entities,
    )
