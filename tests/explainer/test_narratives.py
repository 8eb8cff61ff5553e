"""Evidence documents and template narratives of real decisions."""

from __future__ import annotations

from chainwatch.explainer.attributor import Attributor
from chainwatch.explainer.citations import cite, unsupported
from chainwatch.explainer.evidence import build_evidence
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.rules import rule_evidence
from chainwatch.explainer.template import template_narrative
from chainwatch.shared.schemas import ScoredTransaction

from .conftest import SANCTIONED_TXID, RealDecisions


async def _narrated(
    real_decisions: RealDecisions, decisions: list[ScoredTransaction]
) -> list[tuple[ScoredTransaction, str, str]]:
    attributed = await Attributor(ModelCache(real_decisions.store)).explain(decisions)
    out = []
    for decision, a in zip(decisions, attributed, strict=True):
        rules = rule_evidence(decision)
        evidence = build_evidence(decision, rules, a.attribution, a.note)
        text = template_narrative(decision, rules, a.attribution, a.note)
        assert unsupported(cite(text), evidence.facts) == [], text
        out.append((decision, evidence.text, text))
    return out


async def test_template_narratives_of_every_flagged_real_decision_pass_the_check(
    real_decisions: RealDecisions,
) -> None:
    for decisions in (real_decisions.rules, real_decisions.xgboost):
        flagged = [d for d in decisions if d.flagged]
        assert flagged
        await _narrated(real_decisions, flagged)


async def test_template_passes_the_check_on_other_real_decisions_too(
    real_decisions: RealDecisions,
) -> None:
    """Unflagged ones (with ``explain=all``), and the online tier's."""
    chosen = (
        real_decisions.xgboost[:300] + real_decisions.online[:300] + real_decisions.rules[-300:]
    )
    await _narrated(real_decisions, chosen)


async def test_sanctioned_payment_is_told_with_its_evidence(real_decisions: RealDecisions) -> None:
    decision = next(d for d in real_decisions.xgboost if d.txid == SANCTIONED_TXID)
    [(_, evidence, text)] = await _narrated(real_decisions, [decision])

    assert "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d" in evidence
    assert "direct exposure to sanctions: value was paid to" in evidence
    assert "MODEL ATTRIBUTION\nnone: decided by the rules" in evidence
    assert text.startswith(f"Transaction {SANCTIONED_TXID} was flagged for analyst review")
    assert "band Severe" in text and "hard override" in text
    assert "100.0% of its value was paid to addresses labelled sanctions directly" in text
    assert "(entities: OFAC SDN): 1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d." in text


async def test_batch_decision_narrative_names_model_units_and_contributions(
    real_decisions: RealDecisions,
) -> None:
    decision = next(d for d in real_decisions.xgboost if d.flagged and d.txid != SANCTIONED_TXID)
    [(_, evidence, text)] = await _narrated(real_decisions, [decision])

    assert "method: exact TreeSHAP of model screening-xgb version xgb-real-1" in evidence
    assert "log-odds figures are exact" in evidence and "approximation" in evidence
    assert "The batch model screening-xgb version xgb-real-1 decided" in text
    assert "What raised it most:" in text and "log-odds" in text
    assert "percentage points are an approximation" in text
