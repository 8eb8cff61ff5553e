"""Narratives: Claude's draft only when every fact it cites is in the evidence; otherwise,
and without a key, the template, which always passes the same check."""

from __future__ import annotations

import asyncio

import pytest

from chainwatch.explainer.citations import cite, unsupported
from chainwatch.explainer.claude import Draft
from chainwatch.explainer.errors import NarrativeUnavailableError
from chainwatch.onboarding.dataset import CreditData
from chainwatch.onboarding.evidence import DecisionFacts, evidence_document, template_narrative
from chainwatch.onboarding.explain import reasons
from chainwatch.onboarding.grounded import GroundedNarrator
from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.shared.explanations import NarrativePath
from chainwatch.shared.onboarding import Applicant, Outcome


def _facts(trained: TrainedVersion, applicant: Applicant) -> DecisionFacts:
    model = trained.model
    score = model.score(applicant)
    return DecisionFacts(
        outcome=Outcome.REFUSE if score.refused else Outcome.ACCEPT,
        risk_proba=score.proba,
        threshold=model.threshold,
        cost_bad_accepted=5.0,
        cost_good_refused=1.0,
        base_log_odds=score.base_log_odds,
        output_log_odds=score.log_odds,
        reasons=reasons(score, applicant),
        model_name=model.name,
        model_version=model.version,
    )


class FakeDrafter:
    """Answers with a fixed text, an error, or nothing in time; no network."""

    model = "fake-model"

    def __init__(self, text: str = "", error: Exception | None = None, delay_s: float = 0.0):
        self.text, self.error, self.delay_s = text, error, delay_s

    async def draft(self, evidence: str) -> Draft:
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return Draft(self.text, input_tokens=500, output_tokens=120, latency_ms=1.0)


def test_the_template_cites_only_what_the_evidence_holds(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    for applicant in credit_data.applicants[:100]:
        facts = _facts(trained, applicant)
        evidence = cite(evidence_document(facts))
        assert unsupported(cite(template_narrative(facts)), evidence) == []


def test_the_evidence_names_no_attribute_the_model_does_not_use(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    document = evidence_document(_facts(trained, credit_data.applicants[1]))
    assert "age" not in document
    assert "female" not in document and "male" not in document


async def test_a_faithful_draft_is_kept(trained: TrainedVersion, credit_data: CreditData) -> None:
    facts = _facts(trained, credit_data.applicants[1])
    top = facts.reasons[0]
    decided = "refused" if facts.outcome is Outcome.REFUSE else "accepted"
    text = (
        f"The applicant was {decided} at a probability of a bad risk of "
        f"{facts.risk_proba:.3f} against a threshold of {facts.threshold:.3f}; the largest "
        f"contribution was {top.label} {top.value_text} ({top.log_odds:+.2f} log-odds)."
    )
    narrative = await GroundedNarrator(FakeDrafter(text)).narrate(facts)
    assert narrative.path is NarrativePath.CLAUDE
    assert narrative.text == text
    assert narrative.model == "fake-model" and narrative.output_tokens == 120


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("The probability of a bad risk is 0.999.", "figure 0.999"),
        ("The applicant is 22 years old and was refused.", "figure 22"),
        ("Signs of fraud led to the refusal.", "category scam"),
    ],
)
async def test_a_draft_citing_what_the_evidence_lacks_is_replaced(
    trained: TrainedVersion, credit_data: CreditData, text: str, cited: str
) -> None:
    facts = _facts(trained, credit_data.applicants[1])
    narrative = await GroundedNarrator(FakeDrafter(text)).narrate(facts)
    assert narrative.path is NarrativePath.TEMPLATE
    assert narrative.text == template_narrative(facts)
    assert cited in narrative.rejected_citations
    assert narrative.fallback_reason and "does not hold" in narrative.fallback_reason


async def test_a_failing_or_slow_drafter_gives_the_template(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    facts = _facts(trained, credit_data.applicants[0])
    failing = FakeDrafter(error=NarrativeUnavailableError("overloaded", "HTTP 529"))
    narrative = await GroundedNarrator(failing).narrate(facts)
    assert (narrative.path, narrative.fallback_reason) == (NarrativePath.TEMPLATE, "HTTP 529")

    slow = FakeDrafter("late", delay_s=5.0)
    narrative = await GroundedNarrator(slow, budget_s=0.05).narrate(facts)
    assert narrative.path is NarrativePath.TEMPLATE
    assert narrative.fallback_reason == "no draft within 0.05s"


async def test_without_a_drafter_every_narrative_is_the_template(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    narrative = await GroundedNarrator(None).narrate(_facts(trained, credit_data.applicants[0]))
    assert narrative.path is NarrativePath.TEMPLATE
    assert narrative.fallback_reason == "no Claude API key configured"
