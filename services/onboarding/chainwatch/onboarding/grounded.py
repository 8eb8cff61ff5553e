"""Grounded narratives: a draft from Claude, kept only if it cites nothing the evidence lacks.

The explainer's path (``chainwatch.explainer``), applied to onboarding decisions: a drafter
(the explainer's Claude writer) writes from the evidence document of the decision alone;
the explainer's citation check reads every figure, date and category out of the draft and
out of the evidence, and a draft citing anything the evidence does not support is rejected.
Whatever goes wrong — no key, timeout, overload, rejection, no answer within ``budget_s`` —
the template writes the narrative and ``fallback_reason`` says why. ``narrate`` never raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from chainwatch.explainer.citations import cite, unsupported
from chainwatch.explainer.claude import Draft
from chainwatch.explainer.errors import NarrativeUnavailableError
from chainwatch.onboarding.evidence import DecisionFacts, evidence_document
from chainwatch.onboarding.narrative import NO_KEY_REASON, template
from chainwatch.shared.explanations import Narrative, NarrativePath

logger = logging.getLogger(__name__)

MAX_REJECTED_LISTED = 20

SYSTEM_PROMPT = """\
You write the narrative of a credit-risk decision on an applicant to a regulated exchange; \
the applicant and the regulator may read it. In one paragraph of 60 to 150 words, explain \
why the applicant in the evidence document was accepted or refused. Use only the evidence.

Rules:
- Cite only facts that are in the evidence, each figure exactly as the evidence writes it. \
Never compute, convert or round a figure of your own.
- Name only attributes that are in the evidence. Say nothing about age, sex, marital status, \
nationality or any other personal characteristic that the evidence does not list.
- Contributions are log-odds of a bad risk; say so if you cite them.
- Do not speculate about the applicant's character or intent.
- Plain prose: no headings, lists or markdown."""
"""What a drafter for onboarding narratives is told (the explainer's writer takes it)."""


class Drafter(Protocol):
    """Writes a draft from an evidence document; raises ``NarrativeUnavailableError``."""

    @property
    def model(self) -> str: ...

    async def draft(self, evidence: str) -> Draft: ...


class GroundedNarrator:
    """Claude's narrative when it passes the citation check, else the template's."""

    def __init__(self, drafter: Drafter | None, budget_s: float = 15.0) -> None:
        self.drafter = drafter
        self.budget_s = budget_s

    async def narrate(self, facts: DecisionFacts) -> Narrative:
        started = time.perf_counter()
        if self.drafter is None:
            return template(facts, NO_KEY_REASON, started)
        evidence = evidence_document(facts)
        try:
            draft = await asyncio.wait_for(self.drafter.draft(evidence), self.budget_s)
            problems = unsupported(cite(draft.text), cite(evidence))
            if problems:
                raise NarrativeUnavailableError(
                    "rejected",
                    f"the draft cites what the evidence does not hold: {'; '.join(problems[:5])}",
                    input_tokens=draft.input_tokens,
                    output_tokens=draft.output_tokens,
                    rejected=tuple(problems[:MAX_REJECTED_LISTED]),
                )
        except NarrativeUnavailableError as exc:
            if exc.kind == "rejected":
                logger.warning("narrative rejected: %s", exc.reason)
            return self._fallback(facts, exc, started)
        except TimeoutError:
            late = NarrativeUnavailableError("deadline", f"no draft within {self.budget_s:g}s")
            return self._fallback(facts, late, started)

        return Narrative(
            text=draft.text,
            path=NarrativePath.CLAUDE,
            model=self.drafter.model,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            input_tokens=draft.input_tokens,
            output_tokens=draft.output_tokens,
        )

    def _fallback(
        self, facts: DecisionFacts, why: NarrativeUnavailableError, started: float
    ) -> Narrative:
        narrative = template(
            facts, why.reason, started, self.drafter.model if self.drafter else None
        )
        return narrative.model_copy(
            update={
                "input_tokens": why.input_tokens,
                "output_tokens": why.output_tokens,
                "rejected_citations": list(why.rejected),
            }
        )
