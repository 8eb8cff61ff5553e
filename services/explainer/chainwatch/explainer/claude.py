"""Narratives from Claude through the anthropic SDK's Messages API, never allowed to stall.

Three bounds keep a slow or failing API from holding up the stream: a timeout per request
attempt and a retry limit (the SDK's, from ``ClaudeSettings``); at most ``concurrency``
requests in flight; and a breaker that, after ``breaker_failures`` failures in a row, stops
asking for ``breaker_cooldown_s`` (then lets requests through again; one success closes it).
Every failure is raised as ``NarrativeUnavailableError`` and the caller uses the template.

The SDK is given the key and base URL explicitly, so it reads neither ``ANTHROPIC_API_KEY``
nor ``ANTHROPIC_BASE_URL`` from the environment; the key is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chainwatch.explainer.errors import NarrativeUnavailableError
from chainwatch.explainer.settings import ClaudeSettings

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """\
You write compliance narratives for a regulated Bitcoin exchange; its regulator reads them.
Explain in one paragraph of 80 to 180 words why the transaction in the evidence document was \
scored as it was. Use only the evidence document.

Rules:
- Cite only facts that are in the evidence. Copy every txid, address, amount, percentage, \
score and other figure exactly as the evidence writes it, in full. Never compute, convert or \
round a figure of your own, and never abbreviate a txid or an address.
- Name only the risk categories and typologies that the evidence names. Do not mention any \
other, not even to say that it is absent.
- Log-odds figures are exact model contributions; percentage points are approximations. \
Say so if you cite them.
- Do not speculate about identities, intent or guilt; say what the evidence shows.
- Plain prose: no headings, lists or markdown."""


@dataclass(frozen=True)
class Draft:
    """Claude's text, unchecked, with what it cost."""

    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float


class Breaker:
    """Opens after ``failures`` consecutive failures, for ``cooldown_s`` seconds."""

    def __init__(
        self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None

    def check(self) -> None:
        """Raise ``NarrativeUnavailableError`` (kind ``paused``) while the breaker is open."""
        if self.opened_at is not None and self.clock() - self.opened_at < self.cooldown_s:
            raise NarrativeUnavailableError(
                "paused",
                f"Claude paused for {self.cooldown_s:.0f}s after {self.consecutive} failures "
                "in a row",
            )

    def succeeded(self) -> None:
        self.consecutive = 0
        self.opened_at = None

    def failed(self) -> bool:
        """Count a failure; True when this one opens (or re-opens) the breaker."""
        self.consecutive += 1
        if self.consecutive >= self.failures:
            self.opened_at = self.clock()
            return True
        return False


class ClaudeWriter:
    """Asks Claude for a narrative of an evidence document."""

    def __init__(
        self,
        settings: ClaudeSettings,
        client: AsyncAnthropic | None = None,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        """``system_prompt`` says what to write; other services (onboarding) give their own."""
        if settings.api_key is None:
            raise ValueError("ClaudeWriter needs an API key; without one use the template")
        from anthropic import AsyncAnthropic  # two seconds of import, only when Claude is used

        self.settings = settings
        self.system_prompt = system_prompt
        self.client = client or AsyncAnthropic(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )
        self.breaker = Breaker(settings.breaker_failures, settings.breaker_cooldown_s)
        self._slots = asyncio.Semaphore(settings.concurrency)

    @property
    def model(self) -> str:
        return self.settings.model

    async def close(self) -> None:
        await self.client.close()

    async def draft(self, evidence: str) -> Draft:
        """Claude's narrative of ``evidence``; raises ``NarrativeUnavailableError`` on failure."""
        self.breaker.check()
        async with self._slots:
            self.breaker.check()  # it may have opened while this request waited
            started = time.perf_counter()
            try:
                message = await self.client.messages.create(
                    model=self.settings.model,
                    max_tokens=self.settings.max_tokens,
                    system=self.system_prompt,
                    messages=[{"role": "user", "content": _prompt(evidence)}],
                )
            except Exception as exc:  # every SDK failure becomes the template, with a reason
                raise self._failure(exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000.0
        self.breaker.succeeded()

        text = "".join(b.text for b in message.content if b.type == "text").strip()
        spent_in, spent_out = message.usage.input_tokens, message.usage.output_tokens
        problem = None
        if message.stop_reason == "max_tokens":
            problem = ("truncated", f"cut at the budget of {self.settings.max_tokens} tokens")
        elif not text:
            problem = ("empty", "Claude returned no text")
        if problem is not None:
            raise NarrativeUnavailableError(
                *problem, input_tokens=spent_in, output_tokens=spent_out
            )
        return Draft(text, spent_in, spent_out, latency_ms)

    def _failure(self, exc: Exception) -> NarrativeUnavailableError:
        import anthropic

        if isinstance(exc, anthropic.APITimeoutError):
            kind, reason = "timeout", f"timed out after {self.settings.timeout_s:g}s"
        elif isinstance(exc, anthropic.APIStatusError):
            kind = {529: "overloaded", 429: "rate_limited"}.get(exc.status_code, "api_error")
            reason = f"HTTP {exc.status_code} from the Messages API: {exc.message:.200}"
        elif isinstance(exc, anthropic.APIConnectionError):
            kind, reason = "api_error", f"cannot reach the Messages API: {exc}"
        else:
            kind, reason = "api_error", f"{type(exc).__name__}: {exc!s:.200}"
        reason += (
            f" (after {self.settings.max_retries} retries)" if self.settings.max_retries else ""
        )

        opened = self.breaker.failed()
        if opened:
            logger.warning(
                "Claude failed %d times in a row (%s); template only for %.0fs",
                self.breaker.consecutive, reason, self.settings.breaker_cooldown_s,
            )  # fmt: skip
        elif self.breaker.consecutive == 1:
            logger.warning("Claude narrative failed, template used: %s", reason)
        else:
            logger.debug("Claude narrative failed, template used: %s", reason)
        return NarrativeUnavailableError(kind, reason)


def _prompt(evidence: str) -> str:
    return f"<evidence>\n{evidence}\n</evidence>\n\nWrite the narrative."
