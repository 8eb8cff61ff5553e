"""The narrative of a decision, behind one small interface.

``Narrator.narrate(facts)`` returns a ``Narrative`` (the explainer's wire model) and never
raises: whatever happens, there is a narrative. ``grounded.GroundedNarrator`` is the one the
service runs; ``template`` writes the fixed-form narrative it falls back to.
"""

from __future__ import annotations

import time
from typing import Protocol

from chainwatch.onboarding.evidence import DecisionFacts, template_narrative
from chainwatch.shared.explanations import Narrative, NarrativePath

NO_KEY_REASON = "no Claude API key configured"


class Narrator(Protocol):
    async def narrate(self, facts: DecisionFacts) -> Narrative:
        """The narrative of ``facts``; never raises."""
        ...


def template(
    facts: DecisionFacts, reason: str, started: float, model: str | None = None
) -> Narrative:
    """The template's narrative, recording why it was used and the time since ``started``."""
    return Narrative(
        text=template_narrative(facts),
        path=NarrativePath.TEMPLATE,
        fallback_reason=reason,
        model=model,
        latency_ms=(time.perf_counter() - started) * 1000.0,
    )
