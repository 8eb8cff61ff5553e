"""Errors raised by the ingest service.

The tree, from the most general down::

    IngestError
    ├── NormaliseError          a record is not a transaction the shared schema can hold
    └── SourceError             an upstream (mempool.space, Esplora, the replay server) failed
        └── RateLimitedError    the upstream answered 429; ``retry_after_s`` says how long to wait

A record that raises ``NormaliseError`` goes to ``chainwatch.deadletter.ingest`` with the
error's ``reason``; a ``SourceError`` is retried with backoff and shows in the source health.
"""

from __future__ import annotations

from chainwatch.shared.errors import ChainwatchError


class IngestError(ChainwatchError):
    """Base of every error the ingest service raises on purpose."""


class NormaliseError(IngestError):
    """A record cannot be turned into a ``Transaction``.

    ``txid`` is the record's txid when it had a readable one, else None; ``reason`` is short,
    names the failing field, and is safe to publish on the dead-letter subject.
    """

    def __init__(self, txid: str | None, reason: str) -> None:
        super().__init__(f"txid={txid or '?'}: {reason}")
        self.txid = txid
        self.reason = reason


class SourceError(IngestError):
    """An upstream request failed: no answer in time, a refused connection, a bad status."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class RateLimitedError(SourceError):
    """The upstream answered HTTP 429; wait ``retry_after_s`` seconds before asking again."""

    def __init__(self, url: str, retry_after_s: float) -> None:
        super().__init__(url, f"rate limited, retry after {retry_after_s:.1f}s", status=429)
        self.retry_after_s = retry_after_s
