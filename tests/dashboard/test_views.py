"""A decision looks the same whether it came from the audit trail or from the bus."""

from __future__ import annotations

import asyncpg

from chainwatch.dashboard import decisions
from chainwatch.dashboard.views import DecisionView, fee_rate, top_rule
from chainwatch.shared.schemas import RiskBand, RuleHit

from .factories import insert_decisions, make_decision, sanctions_hit


def test_top_rule_is_the_hit_touching_most_value() -> None:
    small = RuleHit(rule="direct_exposure", category="mixer", share_of_value=0.1)
    large = RuleHit(rule="direct_exposure", category="sanctions", share_of_value=0.9)

    assert top_rule([small, large]) == large
    assert top_rule([]) is None


def test_fee_rate_is_sat_per_vbyte_and_unknown_without_a_fee() -> None:
    assert fee_rate(4_200, 140) == 30.0
    assert fee_rate(None, 140) is None


async def test_view_from_audit_row_equals_view_from_bus_message(pool: asyncpg.Pool) -> None:
    scored = make_decision(RiskBand.SEVERE, rule_hits=[sanctions_hit(0.2), sanctions_hit(0.7)])
    await insert_decisions(pool, scored)

    from_db = [v for v in await decisions.recent(pool, limit=500) if v.txid == scored.txid]

    assert from_db == [DecisionView.from_scored(scored)]
    assert from_db[0].top_rule is not None
    assert from_db[0].top_rule.share_of_value == 0.7
