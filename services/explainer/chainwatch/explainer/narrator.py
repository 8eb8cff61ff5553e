"""The narrative of each decision: Claude's when it passes the evidence check, else the template.

For a batch, every narrative is asked of Claude at once (``ClaudeWriter`` bounds how many are
in flight) and the batch waits at most ``budget_s``: what is not back by then, failed, or
cites anything the evidence does not hold is written by the template instead, with the
reason recorded. A batch therefore never waits longer than the budget, however slow or
overloaded the API is. Without a writer (no API key) the template writes everything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from chainwatch.explainer import metrics
from chainwatch.explainer.citations import cite, unsupported
from chainwatch.explainer.claude import ClaudeWriter
from chainwatch.explainer.errors import NarrativeUnavailableError
from chainwatch.explainer.evidence import Evidence
from chainwatch.explainer.template import template_narrative
from chainwatch.shared.explanations import ModelAttribution, Narrative, NarrativePath, RuleEvidence
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import ScoredTransaction

logger = logging.getLogger(__name__)

MAX_REJECTED_LISTED = 20
NO_KEY = NarrativeUnavailableError("no_key", "no Claude API key configured")


@dataclass(frozen=True)
class Case:
    """What a narrative is written from."""

    decision: ScoredTransaction
    rules: Sequence[RuleEvidence]
    attribution: ModelAttribution | None
    attribution_note: str
    evidence: Evidence


class Narrator:
    def __init__(self, writer: ClaudeWriter | None, budget_s: float = 20.0) -> None:
        self.writer = writer
        self.budget_s = budget_s

    async def narrate(self, cases: Sequence[Case]) -> list[Narrative]:
        """One narrative per case, in order, within ``budget_s`` whatever Claude does."""
        if self.writer is None or not cases:
            return [self._template(case, NO_KEY, time.perf_counter()) for case in cases]

        started = time.perf_counter()
        writer = self.writer
        tasks = [asyncio.create_task(self._claude(case, writer)) for case in cases]
        done, pending = await asyncio.wait(tasks, timeout=self.budget_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

        late = NarrativeUnavailableError(
            "deadline", f"no answer within the batch budget of {self.budget_s:g}s"
        )
        return [
            task.result() if task in done else self._template(case, late, started, writer.model)
            for case, task in zip(cases, tasks, strict=True)
        ]

    async def _claude(self, case: Case, writer: ClaudeWriter) -> Narrative:
        started = time.perf_counter()
        try:
            draft = await writer.draft(case.evidence.text)
            problems = unsupported(cite(draft.text), case.evidence.facts)
            if problems:
                raise NarrativeUnavailableError(
                    "rejected",
                    f"Claude's narrative cites what the evidence does not hold: "
                    f"{'; '.join(problems[:5])}",
                    input_tokens=draft.input_tokens,
                    output_tokens=draft.output_tokens,
                    rejected=tuple(problems[:MAX_REJECTED_LISTED]),
                )
        except NarrativeUnavailableError as exc:
            if exc.kind == "rejected":
                with log_context(txid=case.decision.txid):
                    logger.warning("narrative rejected: %s", exc.reason)
            return self._template(case, exc, started, model=writer.model)

        latency_ms = (time.perf_counter() - started) * 1000.0
        metrics.NARRATIVE_SECONDS.labels("claude").observe(latency_ms / 1000.0)
        metrics.CLAUDE_TOKENS.labels("input").inc(draft.input_tokens)
        metrics.CLAUDE_TOKENS.labels("output").inc(draft.output_tokens)
        return Narrative(
            text=draft.text,
            path=NarrativePath.CLAUDE,
            model=writer.model,
            latency_ms=latency_ms,
            input_tokens=draft.input_tokens,
            output_tokens=draft.output_tokens,
        )

    def _template(
        self,
        case: Case,
        why: NarrativeUnavailableError,
        started: float,
        model: str | None = None,
    ) -> Narrative:
        text = template_narrative(
            case.decision, case.rules, case.attribution, case.attribution_note
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        metrics.FALLBACKS.labels(why.kind).inc()
        metrics.NARRATIVE_SECONDS.labels("template").observe(latency_ms / 1000.0)
        for direction, tokens in (("input", why.input_tokens), ("output", why.output_tokens)):
            metrics.CLAUDE_TOKENS.labels(direction).inc(tokens or 0)
        return Narrative(
            text=text,
            path=NarrativePath.TEMPLATE,
            fallback_reason=why.reason,
            model=model,
            latency_ms=latency_ms,
            input_tokens=why.input_tokens,
            output_tokens=why.output_tokens,
            rejected_citations=list(why.rejected),
        )
