"""Errors raised by the shared library.

The tree, from the most general down::

    ChainwatchError
    ├── ConfigurationError      a setting is missing or refuses its value
    ├── DecodeError             a message body is not valid for its subject's schema
    ├── TransientError          a dependency failed in a way a retry can fix (database, bus)
    └── MigrationError          a schema migration could not be applied

Each error carries the values that explain it, so a handler that catches one can log or
dead-letter it without parsing its message.
"""

from __future__ import annotations


class ChainwatchError(Exception):
    """Base of every error chainwatch raises on purpose."""


class ConfigurationError(ChainwatchError):
    """A setting is missing or has a value that cannot be used."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


class DecodeError(ChainwatchError):
    """A message body does not parse as the schema of its subject.

    ``reason`` is short and safe to publish on the dead-letter subject; it names the
    failing field where the validator reported one.
    """

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"cannot decode message on {subject}: {reason}")
        self.subject = subject
        self.reason = reason


class TransientError(ChainwatchError):
    """A dependency failed; the same work may succeed when tried again later."""


class MigrationError(ChainwatchError):
    """A migration file could not be applied or does not match what was applied before."""

    def __init__(self, version: int, reason: str) -> None:
        super().__init__(f"migration {version:04d}: {reason}")
        self.version = version
        self.reason = reason
