"""Errors of the explainer.

The tree, below the shared ``ChainwatchError``::

    ChainwatchError
    ├── DecisionNotAuditedError     a decision on the bus has no row in audit_decision
    ├── AttributionUnavailableError the deciding model cannot be explained (gone, refused, ...)
    └── NarrativeUnavailableError   Claude gave no usable narrative; the template is used

Only the first reaches the consumer (and, if it persists, the dead letters); the other two
are turned into a note on the explanation where they happen.
"""

from __future__ import annotations

from chainwatch.shared.errors import ChainwatchError


class DecisionNotAuditedError(ChainwatchError):
    """The scorer publishes a decision only after its audit row exists; this one has none."""

    def __init__(self, txid: str) -> None:
        super().__init__(f"decision {txid} has no audit row: cannot link its explanation")
        self.txid = txid


class AttributionUnavailableError(ChainwatchError):
    """The model that decided cannot be explained here; ``reason`` says why, for the note."""

    def __init__(self, model_name: str, version: str, reason: str) -> None:
        super().__init__(f"cannot explain {model_name} {version}: {reason}")
        self.model_name = model_name
        self.version = version
        self.reason = reason


class NarrativeUnavailableError(ChainwatchError):
    """Claude's narrative cannot be used.

    ``kind`` is a short label for metrics (``timeout``, ``overloaded``, ``rate_limited``,
    ``api_error``, ``paused``, ``rejected``, ``empty``); ``reason`` says it in words and is
    recorded with the template narrative that replaces it. Token counts are kept when the
    call itself succeeded (a rejected narrative was still paid for).
    """

    def __init__(
        self,
        kind: str,
        reason: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        rejected: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.rejected = rejected
