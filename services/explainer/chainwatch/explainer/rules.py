"""The rules that fired on a decision, with the evidence that made them fire.

Exposure is taken from the decision's ``exposure`` list, which has what a rule hit lacks
(hops, direction, the transaction it came through, the entities behind the addresses);
typology hits (coinjoin, peel chain, structuring, ...) are taken as the scorer recorded them.
Exposure comes first, the strongest first: direct before indirect, larger share before
smaller.
"""

from __future__ import annotations

from chainwatch.shared.explanations import RuleEvidence
from chainwatch.shared.schemas import Exposure, RuleHit, ScoredTransaction

EXPOSURE_RULES = frozenset({"direct_exposure", "indirect_exposure"})


def rule_evidence(decision: ScoredTransaction) -> list[RuleEvidence]:
    """Every rule of the heuristic tier that fired on ``decision``, exposure first."""
    exposures = sorted(decision.exposure, key=lambda e: (e.hops, -e.share_of_value, e.category))
    found = [_from_exposure(e) for e in exposures]
    for hit in decision.rule_hits:
        if hit.rule in EXPOSURE_RULES and exposures:
            continue  # already listed, with more detail, from the exposure itself
        found.append(_from_hit(hit))
    return found


def _from_exposure(exposure: Exposure) -> RuleEvidence:
    return RuleEvidence(
        rule="direct_exposure" if exposure.hops == 0 else "indirect_exposure",
        category=exposure.category,
        share_of_value=exposure.share_of_value,
        addresses=list(exposure.addresses),
        hops=exposure.hops,
        direction=exposure.direction,
        via_txid=exposure.via_txid,
        entities=list(exposure.entities),
    )


def _from_hit(hit: RuleHit) -> RuleEvidence:
    return RuleEvidence(
        rule=hit.rule,
        category=hit.category,
        share_of_value=hit.share_of_value,
        addresses=list(hit.addresses),
        detail=hit.detail,
    )
