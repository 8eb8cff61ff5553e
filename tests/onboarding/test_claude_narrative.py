"""The grounded path end to end: the explainer's Claude writer, with the onboarding prompt,
against a local stand-in of the Messages API (tests/explainer/messages_api.py) on 127.0.0.1.
A draft that keeps to the evidence is the narrative; one that invents a figure is replaced
by the template, with what it invented."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr

from chainwatch.explainer.claude import ClaudeWriter
from chainwatch.onboarding.dataset import CreditData
from chainwatch.onboarding.evidence import DecisionFacts, template_narrative
from chainwatch.onboarding.explain import reasons
from chainwatch.onboarding.grounded import SYSTEM_PROMPT, GroundedNarrator
from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.onboarding.settings import OnboardingClaudeSettings
from chainwatch.shared.explanations import NarrativePath
from chainwatch.shared.onboarding import Outcome


def _load_messages_api() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "explainer" / "messages_api.py"
    spec = importlib.util.spec_from_file_location("chainwatch_test_messages_api", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


MESSAGES_API = _load_messages_api()


def _from_evidence(extra: str = "") -> Callable[[Any], Any]:
    """A draft a careful writer would make from the evidence, plus ``extra``."""

    def reply(request: Any) -> Any:
        evidence = request.evidence
        outcome = re.search(r"^outcome: (\w+)", evidence, re.MULTILINE)
        proba = re.search(r"^probability of a bad risk \(calibrated\): ([\d.]+)", evidence, re.M)
        top = re.search(r"^1\. (.+) = (.+): ([+-][\d.]+) log-odds", evidence, re.MULTILINE)
        assert outcome and proba and top
        text = (
            f"The applicant's outcome is {outcome.group(1)}: the calibrated probability of a "
            f"bad risk is {proba.group(1)}. The largest contribution, {top.group(3)} in "
            f"log-odds, came from {top.group(1)} ({top.group(2)}).{extra}"
        )
        return MESSAGES_API.Reply(text=text)

    return reply


@pytest.fixture
def messages_api() -> Iterator[Any]:
    api = MESSAGES_API.MessagesAPI().start()
    yield api
    api.stop()


def _writer(api: Any) -> ClaudeWriter:
    settings = OnboardingClaudeSettings(
        api_key=SecretStr("local-test-key"), base_url=api.url, timeout_s=5.0, max_retries=0
    )
    return ClaudeWriter(settings, system_prompt=SYSTEM_PROMPT)


def _facts(trained: TrainedVersion, credit_data: CreditData) -> DecisionFacts:
    applicant = credit_data.applicants[1]
    score = trained.model.score(applicant)
    return DecisionFacts(
        outcome=Outcome.REFUSE if score.refused else Outcome.ACCEPT,
        risk_proba=score.proba,
        threshold=trained.model.threshold,
        cost_bad_accepted=5.0,
        cost_good_refused=1.0,
        base_log_odds=score.base_log_odds,
        output_log_odds=score.log_odds,
        reasons=reasons(score, applicant),
        model_name=trained.model.name,
        model_version=trained.model.version,
    )


async def test_a_draft_kept_to_the_evidence_is_the_narrative(
    messages_api: Any, trained: TrainedVersion, credit_data: CreditData
) -> None:
    messages_api.behaviour = _from_evidence()
    writer = _writer(messages_api)
    try:
        narrative = await GroundedNarrator(writer).narrate(_facts(trained, credit_data))
    finally:
        await writer.close()

    assert narrative.path is NarrativePath.CLAUDE, narrative.fallback_reason
    assert "largest contribution" in narrative.text
    [request] = messages_api.requests
    assert request.body["system"] == SYSTEM_PROMPT
    assert "APPLICANT (the attributes the model uses)" in request.evidence


async def test_a_draft_with_an_invented_figure_is_replaced_by_the_template(
    messages_api: Any, trained: TrainedVersion, credit_data: CreditData
) -> None:
    messages_api.behaviour = _from_evidence(" The applicant is 22 years old.")
    writer = _writer(messages_api)
    facts = _facts(trained, credit_data)
    try:
        narrative = await GroundedNarrator(writer).narrate(facts)
    finally:
        await writer.close()

    assert narrative.path is NarrativePath.TEMPLATE
    assert narrative.text == template_narrative(facts)
    assert narrative.rejected_citations == ["figure 22"]
    assert narrative.model == writer.model
