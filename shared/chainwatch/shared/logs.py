"""Logging a service can live with: one format, and the message's context on every record.

Inside a message handler, ``log_context(txid=..., subject=...)`` stamps those values on
every record logged below it, through a filter on the root handler, so log calls stay
short: ``logger.info("scored risk=%.3f", score)``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_CONTEXT_FIELDS = ("txid", "subject", "model_version")
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context")


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Attach ``txid``, ``subject`` and ``model_version`` to records logged in this block."""
    merged = dict(_context.get({}))
    merged.update({k: v for k, v in values.items() if v is not None})
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record ("-" where a value is unset)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        values = _context.get({})
        record.service = self.service
        for field in _CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, values.get(field, "-"))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for containers and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": getattr(record, "service", "-"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _CONTEXT_FIELDS:
            value = getattr(record, field, "-")
            if value != "-":
                entry[field] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A readable line, with the context fields that are set appended in brackets."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [
            f"{field}={value}"
            for field in _CONTEXT_FIELDS
            if (value := getattr(record, field, "-")) != "-"
        ]
        if not context:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{' '.join(context)}]{sep}{tail}"


def configure_logging(service: str, level: str = "INFO", fmt: str = "text") -> None:
    """Send every record to stderr in ``fmt`` ("text" or "json"), with context attached."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter(service))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())

    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
