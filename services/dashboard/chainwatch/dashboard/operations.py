"""What the operations pages show: models, promotions, training runs and drift events.

Sources, each optional, so the pages show what exists on this deployment:

- the current version of each model and its promotion history: the ``chainwatch_models``
  KV bucket (each key keeps its last values);
- versions with their cards' metrics: table ``model_version`` (the trainer's record), or
  failing that the model store's list of versions;
- promotion gate decisions: table ``training_run``;
- drift events: table ``drift_event`` (the drift service's record).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODELS_KV_BUCKET,
    ModelPointer,
    RegistrySettings,
    open_store,
)

logger = logging.getLogger(__name__)

MODEL_ONLINE = "screening-online"
MODEL_ROLES: tuple[tuple[str, str], ...] = (
    (MODEL_CHAMPION, "Champion (batch tier, decides)"),
    (MODEL_CHALLENGER, "Challenger (batch tier, shadow)"),
    (MODEL_ONLINE, "Online (learns from verdicts)"),
)
ROWS = 50


@dataclass(frozen=True)
class Promotion:
    version: str
    promoted_at: datetime
    run_id: str
    revision: int


@dataclass(frozen=True)
class VersionRow:
    version: str
    framework: str
    trained_at: datetime | None
    threshold: float | None
    metrics: dict[str, float]
    """The card's scalar held-out metrics, e.g. ``pr_auc``."""


@dataclass
class ModelStatus:
    name: str
    role: str
    current: ModelPointer | None = None
    promotions: list[Promotion] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)


async def model_statuses(
    pool: asyncpg.Pool, js: JetStreamContext, registry: RegistrySettings
) -> list[ModelStatus]:
    statuses = [ModelStatus(name, role) for name, role in MODEL_ROLES]
    await _promotions(js, statuses)
    if await table_exists(pool, "model_version"):
        await _versions_from_table(pool, statuses)
    else:
        await _versions_from_store(registry, statuses)
    return statuses


async def _promotions(js: JetStreamContext, statuses: list[ModelStatus]) -> None:
    try:
        kv = await js.key_value(MODELS_KV_BUCKET)
    except (nats.js.errors.BucketNotFoundError, nats.errors.Error, TimeoutError):
        return
    for status in statuses:
        try:
            history = await kv.history(status.name)
        except (nats.js.errors.NoKeysError, nats.errors.Error, TimeoutError):
            continue
        for entry in history:
            try:
                pointer = ModelPointer.from_json(entry.value or b"")
            except (ValueError, KeyError, TypeError):
                continue
            status.current = pointer
            status.promotions.append(
                Promotion(pointer.version, pointer.promoted_at, pointer.run_id, entry.revision or 0)
            )
        status.promotions.reverse()


async def _versions_from_table(pool: asyncpg.Pool, statuses: list[ModelStatus]) -> None:
    for status in statuses:
        rows = await pool.fetch(
            "SELECT version, framework, trained_at, threshold, metrics FROM model_version"
            " WHERE name = $1 ORDER BY trained_at DESC LIMIT $2",
            status.name,
            ROWS,
        )
        status.versions = [
            VersionRow(
                version=r["version"],
                framework=r["framework"],
                trained_at=r["trained_at"],
                threshold=r["threshold"],
                metrics=scalar_metrics(json.loads(r["metrics"])),
            )
            for r in rows
        ]


async def _versions_from_store(registry: RegistrySettings, statuses: list[ModelStatus]) -> None:
    if registry.backend == "fs" and not registry.root.exists():
        return
    store = open_store(registry)
    for status in statuses:
        try:
            versions = await store.list_versions(status.name)
        except Exception as exc:
            # A store that cannot be read leaves the page with the KV's view only.
            logger.warning("cannot list versions of %s: %s", status.name, exc)
            continue
        status.versions = [
            VersionRow(v.version, "", v.stored_at, None, {}) for v in reversed(versions[-ROWS:])
        ]


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The top-level numeric entries of a card's metrics (nested tables are left out)."""
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


async def table_exists(pool: asyncpg.Pool, table: str) -> bool:
    exists: bool = await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
    return exists


async def recent_rows(pool: asyncpg.Pool, table: str, order: str = "id") -> list[dict[str, Any]]:
    """The latest rows of a table as dicts, or none when the table does not exist.

    ``table`` and ``order`` are names chosen in code, never from a request.
    """
    if not await table_exists(pool, table):
        return []
    rows = await pool.fetch(
        f"SELECT to_jsonb(t) AS row FROM {table} t ORDER BY t.{order} DESC LIMIT {ROWS:d}"  # noqa: S608
    )
    return [json.loads(r["row"]) for r in rows]
