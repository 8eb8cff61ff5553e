"""The trainer's record in PostgreSQL: versions stored, gate decisions, and analysts' verdicts.

``TrainingLedger`` is the interface the assets use. ``PostgresLedger`` writes the
append-only tables ``model_version`` and ``training_run`` (migration 0004) and reads
verdicts from the verdict table when it exists: ``txid``, ``verdict`` ('true_positive',
'false_positive' or 'escalate') and ``decided_at`` (the dashboard's table, migration
0020); the latest verdict of a transaction wins, and an escalation is no label until a
later verdict closes it. ``NoLedger`` is the explicit choice of running without
a database (``CHAINWATCH_TRAINER_LEDGER=false``): nothing is recorded and no verdicts exist.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from chainwatch.shared import db
from chainwatch.shared.errors import ConfigurationError, TransientError
from chainwatch.shared.model_store import ModelVersion
from chainwatch.shared.settings import DatabaseSettings

logger = logging.getLogger(__name__)

VERDICT_LABELS = {"true_positive": True, "false_positive": False}
VERDICT_COLUMNS = frozenset({"txid", "verdict", "decided_at"})


class TrainingLedger(Protocol):
    def verdicts(self) -> dict[str, bool]:
        """txid → True (illicit) or False (licit), from analysts' latest verdicts."""
        ...

    def record_version(
        self, card: dict[str, Any], versions: Sequence[ModelVersion], run_id: str
    ) -> None: ...

    def record_decision(
        self,
        *,
        run_id: str,
        trigger: str,
        model_name: str,
        candidate_version: str,
        champion_version: str | None,
        promoted: bool,
        reasons: Sequence[str],
        decided_at: datetime,
    ) -> None: ...


class NoLedger:
    """No database: verdicts are none and records are only logged."""

    def verdicts(self) -> dict[str, bool]:
        return {}

    def record_version(
        self, card: dict[str, Any], versions: Sequence[ModelVersion], run_id: str
    ) -> None:
        logger.info("no ledger: version %s %s not recorded", card["name"], card["version"])

    def record_decision(self, **decision: Any) -> None:
        logger.info("no ledger: decision on %s not recorded", decision["candidate_version"])


class PostgresLedger:
    """The ledger in the audit database; each call opens and closes its own connection."""

    def __init__(self, settings: DatabaseSettings, verdict_table: str = "review_verdict") -> None:
        self.settings = settings
        self.verdict_table = verdict_table

    def verdicts(self) -> dict[str, bool]:
        return asyncio.run(self._verdicts())

    def record_version(
        self, card: dict[str, Any], versions: Sequence[ModelVersion], run_id: str
    ) -> None:
        asyncio.run(
            self._execute(
                """
                INSERT INTO model_version (name, version, framework, feature_set_version,
                    threshold, trained_at, run_id, stores, metrics, card)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb)
                ON CONFLICT (name, version) DO NOTHING
                """,
                card["name"],
                card["version"],
                card["framework"],
                card["feature_set_version"],
                card["threshold"],
                datetime.fromisoformat(card["trained_at"]),
                run_id,
                [v.uri for v in versions],
                json.dumps(card["metrics"]),
                json.dumps(card),
            )
        )

    def record_decision(
        self,
        *,
        run_id: str,
        trigger: str,
        model_name: str,
        candidate_version: str,
        champion_version: str | None,
        promoted: bool,
        reasons: Sequence[str],
        decided_at: datetime,
    ) -> None:
        asyncio.run(
            self._execute(
                """
                INSERT INTO training_run (run_id, trigger, model_name, candidate_version,
                    champion_version, decision, reasons, decided_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
                ON CONFLICT (run_id, model_name) DO NOTHING
                """,
                run_id,
                trigger,
                model_name,
                candidate_version,
                champion_version,
                "promoted" if promoted else "refused",
                json.dumps(list(reasons)),
                decided_at,
            )
        )

    async def _connect(self) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(self.settings.url.get_secret_value())
        except db.DATABASE_ERRORS as exc:
            raise TransientError(f"ledger database unreachable: {exc}") from exc

    async def _execute(self, query: str, *args: Any) -> None:
        conn = await self._connect()
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    async def _verdicts(self) -> dict[str, bool]:
        conn = await self._connect()
        try:
            columns = {
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = $1",
                    self.verdict_table,
                )
            }
            if not columns:
                logger.info("no verdict table %s yet: weak labels only", self.verdict_table)
                return {}
            if not columns >= VERDICT_COLUMNS:
                missing = ", ".join(sorted(VERDICT_COLUMNS - columns))
                raise ConfigurationError("verdict_table", f"{self.verdict_table} lacks {missing}")
            tie_break = ", id DESC" if "id" in columns else ""
            rows = await conn.fetch(
                f"SELECT DISTINCT ON (txid) txid, verdict FROM {self.verdict_table} "  # noqa: S608 - the name matches the settings pattern
                f"ORDER BY txid, decided_at DESC{tie_break}"
            )
        finally:
            await conn.close()
        found = {
            r["txid"]: VERDICT_LABELS[r["verdict"]] for r in rows if r["verdict"] in VERDICT_LABELS
        }
        logger.info("read %d verdicts (%d illicit)", len(found), sum(found.values()))
        return found
