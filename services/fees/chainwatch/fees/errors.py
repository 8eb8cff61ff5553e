"""Errors raised by the fees service.

The tree, below the shared ``ChainwatchError``::

    FeesError
    ├── MempoolGraphError     the transactions handed to the template builder do not form a
    │                         mempool (a parent out of range, a cycle, a non-positive weight)
    ├── SeriesError           a row of the recorded per-block series is unusable
    └── FeeModelError         a fee model artifact is missing a quantile, a target or a file

Each error carries the values that explain it.
"""

from __future__ import annotations

from chainwatch.shared.errors import ChainwatchError


class FeesError(ChainwatchError):
    """Base of the errors the fees service raises on purpose."""


class MempoolGraphError(FeesError):
    """The transactions do not form a mempool the builder can select from."""


class SeriesError(FeesError):
    """A row of a recorded series cannot be used; ``row`` is its 1-based line number."""

    def __init__(self, path: str, row: int, reason: str) -> None:
        super().__init__(f"{path} row {row}: {reason}")
        self.path = path
        self.row = row
        self.reason = reason


class FeeModelError(FeesError):
    """A fee model version cannot be served as it is."""

    def __init__(self, version: str, reason: str) -> None:
        super().__init__(f"fee model {version}: {reason}")
        self.version = version
        self.reason = reason
