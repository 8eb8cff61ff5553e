"""The Claude path, end to end against a local Messages API on 127.0.0.1.

The anthropic SDK talks HTTP to ``MessagesAPI`` (the base URL setting), which answers from the
evidence it was sent. A faithful narrative is kept; one citing an amount or an address that
the evidence does not hold is rejected and the template is used; a timeout and a 529
overload fall back to the template within the batch budget, and the breaker stops asking.
"""

from __future__ import annotations

import logging
import time

import pytest

from chainwatch.explainer.attributor import Attributor
from chainwatch.explainer.claude import SYSTEM_PROMPT, Breaker, ClaudeWriter
from chainwatch.explainer.errors import NarrativeUnavailableError
from chainwatch.explainer.evidence import build_evidence
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.narrator import Case, Narrator
from chainwatch.explainer.rules import rule_evidence
from chainwatch.explainer.settings import ClaudeSettings, ExplainerSettings
from chainwatch.explainer.template import template_narrative
from chainwatch.shared.explanations import NarrativePath
from chainwatch.shared.schemas import ScoredTransaction

from .conftest import SANCTIONED_TXID, RealDecisions
from .messages_api import (
    FAITHFUL,
    INVENTED_ADDRESS,
    INVENTED_AMOUNT,
    OVERLOADED,
    MessagesAPI,
    slow,
)

API_KEY = "sk-test-local-only"


def writer(api: MessagesAPI, **overrides: object) -> ClaudeWriter:
    chosen: dict[str, object] = {"timeout_s": 5.0, "max_retries": 0, **overrides}
    settings = ClaudeSettings(
        api_key=API_KEY,
        base_url=api.url,
        model="claude-haiku-4-5",
        **chosen,  # type: ignore[arg-type]
    )
    return ClaudeWriter(settings)


async def cases(real_decisions: RealDecisions, count: int) -> list[Case]:
    decisions = [d for d in real_decisions.xgboost if d.flagged and d.txid != SANCTIONED_TXID]
    sanctioned = next(d for d in real_decisions.xgboost if d.txid == SANCTIONED_TXID)
    chosen: list[ScoredTransaction] = [sanctioned, *decisions[: count - 1]]
    attributed = await Attributor(ModelCache(real_decisions.store)).explain(chosen)
    out = []
    for decision, a in zip(chosen, attributed, strict=True):
        rules = rule_evidence(decision)
        evidence = build_evidence(decision, rules, a.attribution, a.note)
        out.append(Case(decision, rules, a.attribution, a.note, evidence))
    return out


async def test_faithful_narratives_are_accepted_with_tokens_and_latency(
    real_decisions: RealDecisions, messages_api: MessagesAPI, caplog: pytest.LogCaptureFixture
) -> None:
    messages_api.behaviour = FAITHFUL
    batch = await cases(real_decisions, 6)
    claude = writer(messages_api)
    try:
        with caplog.at_level(logging.DEBUG):
            narratives = await Narrator(claude, budget_s=10).narrate(batch)
    finally:
        await claude.close()

    for case, narrative in zip(batch, narratives, strict=True):
        assert narrative.path is NarrativePath.CLAUDE, narrative.fallback_reason
        assert narrative.text.startswith(f"Transaction {case.decision.txid} received")
        assert narrative.model == "claude-haiku-4-5" and narrative.fallback_reason is None
        assert narrative.input_tokens and narrative.output_tokens and narrative.latency_ms > 0
    assert "100.0% of its value had direct exposure to sanctions" in narratives[0].text

    assert len(messages_api.requests) == len(batch)
    request = next(r for r in messages_api.requests if SANCTIONED_TXID in r.evidence)
    assert request.api_key == API_KEY
    assert request.body["model"] == "claude-haiku-4-5" and request.body["max_tokens"] == 600
    assert request.body["system"] == SYSTEM_PROMPT
    assert request.evidence == batch[0].evidence.text
    assert API_KEY not in caplog.text, "the key is never logged"


@pytest.mark.parametrize(
    ("behaviour", "invented"),
    [
        (INVENTED_AMOUNT, "amount 12.3456 BTC"),
        (INVENTED_ADDRESS, "address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
    ],
)
async def test_a_narrative_citing_what_the_evidence_lacks_is_replaced_by_the_template(
    real_decisions: RealDecisions, messages_api: MessagesAPI, behaviour: object, invented: str
) -> None:
    messages_api.behaviour = behaviour  # type: ignore[assignment]
    [case] = await cases(real_decisions, 1)
    claude = writer(messages_api)
    try:
        [narrative] = await Narrator(claude).narrate([case])
    finally:
        await claude.close()

    assert narrative.path is NarrativePath.TEMPLATE
    assert narrative.rejected_citations == [invented]
    assert narrative.fallback_reason and invented in narrative.fallback_reason
    assert narrative.text == template_narrative(
        case.decision, case.rules, case.attribution, case.attribution_note
    )
    assert narrative.input_tokens and narrative.output_tokens, "a rejected narrative was paid for"
    assert claude.breaker.consecutive == 0, "a rejection is not an API failure"


async def test_timeouts_fall_back_within_the_batch_budget(
    real_decisions: RealDecisions, messages_api: MessagesAPI
) -> None:
    messages_api.behaviour = slow(5.0)
    batch = await cases(real_decisions, 4)
    claude = writer(messages_api, timeout_s=0.2, concurrency=2)
    try:
        started = time.perf_counter()
        narratives = await Narrator(claude, budget_s=3.0).narrate(batch)
        elapsed_s = time.perf_counter() - started
    finally:
        await claude.close()

    assert elapsed_s < 2.0, "two rounds of two requests, each cut at 0.2 s"
    for narrative in narratives:
        assert narrative.path is NarrativePath.TEMPLATE
        assert narrative.fallback_reason == "timed out after 0.2s"
        assert narrative.model == "claude-haiku-4-5" and narrative.input_tokens is None


async def test_a_529_overload_falls_back_and_pauses_claude(
    real_decisions: RealDecisions, messages_api: MessagesAPI
) -> None:
    messages_api.behaviour = OVERLOADED
    batch = await cases(real_decisions, 5)
    claude = writer(messages_api, max_retries=1, concurrency=1, breaker_failures=2)
    try:
        narratives = await Narrator(claude, budget_s=10).narrate(batch)
    finally:
        await claude.close()

    reasons = [n.fallback_reason or "" for n in narratives]
    assert all(n.path is NarrativePath.TEMPLATE for n in narratives)
    assert reasons[0].startswith("HTTP 529 from the Messages API") and "1 retries" in reasons[0]
    assert all(r.startswith("Claude paused for 30s after 2 failures") for r in reasons[2:])
    assert len(messages_api.requests) == 4, "two calls of two attempts each, then paused"


async def test_a_batch_never_waits_longer_than_its_budget(
    real_decisions: RealDecisions, messages_api: MessagesAPI
) -> None:
    messages_api.behaviour = slow(5.0)
    batch = await cases(real_decisions, 3)
    claude = writer(messages_api, timeout_s=30.0)
    try:
        started = time.perf_counter()
        narratives = await Narrator(claude, budget_s=0.5).narrate(batch)
        elapsed_s = time.perf_counter() - started
    finally:
        await claude.close()

    assert elapsed_s < 1.5
    assert all(n.fallback_reason == "no answer within the batch budget of 0.5s" for n in narratives)


async def test_without_a_key_the_template_writes_every_narrative(
    real_decisions: RealDecisions,
) -> None:
    batch = await cases(real_decisions, 3)
    narratives = await Narrator(None).narrate(batch)

    assert all(n.path is NarrativePath.TEMPLATE for n in narratives)
    assert all(n.fallback_reason == "no Claude API key configured" for n in narratives)
    assert all(n.model is None and n.input_tokens is None for n in narratives)


def test_breaker_opens_after_consecutive_failures_and_closes_after_its_cooldown() -> None:
    now = [0.0]
    breaker = Breaker(failures=3, cooldown_s=10.0, clock=lambda: now[0])
    assert not breaker.failed() and not breaker.failed()
    assert breaker.failed()
    with pytest.raises(NarrativeUnavailableError, match="paused for 10s after 3 failures"):
        breaker.check()
    now[0] = 10.5
    breaker.check()  # half open: one request may try
    breaker.succeeded()
    assert breaker.consecutive == 0 and breaker.opened_at is None


def test_a_batch_budget_longer_than_the_ack_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="must exceed narrative_budget_s"):
        ExplainerSettings(narrative_budget_s=55.0, ack_wait_s=60.0)


def test_placeholder_keys_are_refused_and_an_empty_key_means_none() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        ClaudeSettings(api_key="changeme")
    assert ClaudeSettings(api_key="").api_key is None
    assert "sk-" not in repr(ClaudeSettings(api_key="sk-secret-value"))
