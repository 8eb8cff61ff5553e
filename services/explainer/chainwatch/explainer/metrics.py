"""Prometheus metrics of the explainer (served on its health port at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EXPLANATIONS = Counter(
    "chainwatch_explainer_explanations_total",
    "Explanations stored and published, by deciding tier and narrative path",
    ["tier", "path"],
)
FALLBACKS = Counter(
    "chainwatch_explainer_template_fallbacks_total",
    "Narratives the template wrote, by why: no_key, timeout, overloaded, rejected, deadline, ...",
    ["kind"],
)
CLAUDE_TOKENS = Counter(
    "chainwatch_explainer_claude_tokens_total", "Tokens billed by Claude", ["direction"]
)
NARRATIVE_SECONDS = Histogram(
    "chainwatch_explainer_narrative_seconds",
    "Time to produce one narrative, by path (a fallback includes the failed attempt)",
    ["path"],
    buckets=(0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0),
)
BATCH_SECONDS = Histogram(
    "chainwatch_explainer_batch_seconds",
    "Time to explain, store and publish one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ATTRIBUTION_OFF = Counter(
    "chainwatch_explainer_attribution_off_total",
    "Attributions whose sum missed the model output, or that did not reproduce the recorded score",
)
REPLAYED = Counter(
    "chainwatch_explainer_replayed_total",
    "Decisions already explained (redelivered): the stored explanation was published again",
)
