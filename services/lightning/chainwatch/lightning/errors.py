"""Errors of the lightning service.

``LightningError``
  ├── ``SnapshotFormatError``: a snapshot file is not in a format we read, or a field in it
  │   is missing or malformed (``path``, ``where`` and ``reason`` say which)
  └── ``EmptyGraphError``: a metric was asked of a graph with no node or no channel
"""

from __future__ import annotations

from pathlib import Path


class LightningError(Exception):
    """Base of this package's errors."""


class SnapshotFormatError(LightningError):
    """A snapshot could not be read: which file, where in it, and why."""

    def __init__(self, path: Path | str, where: str, reason: str) -> None:
        super().__init__(f"{path}: {where}: {reason}")
        self.path = str(path)
        self.where = where
        self.reason = reason


class EmptyGraphError(LightningError):
    """The graph has nothing to measure."""

    def __init__(self, name: str) -> None:
        super().__init__(f"graph {name!r} has no channels")
        self.name = name
