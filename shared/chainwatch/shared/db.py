"""The PostgreSQL pool and the schema migrations.

Migrations are the numbered ``migrations/NNNN_name.sql`` files beside this module, applied
in order, each in its own transaction, under an advisory lock so that two services starting
together do not race. A migration that was applied is never edited: its checksum is stored
and a changed file stops start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

from chainwatch.shared.errors import MigrationError, TransientError
from chainwatch.shared.settings import DatabaseSettings

logger = logging.getLogger(__name__)

MIGRATION_LOCK_ID = 0x63776D67  # "cwmg": any constant shared by every chainwatch process

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)
"""Errors that mean the database is unreachable for now, not that the work is wrong."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migrations shipped with this package, in version order."""
    found = []
    for entry in resources.files("chainwatch.shared").joinpath("migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version, _, rest = entry.name.partition("_")
        found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    found.sort(key=lambda m: m.version)
    return found


async def create_pool(settings: DatabaseSettings, **kwargs: Any) -> asyncpg.Pool:
    """A connection pool, retried with backoff while the database is not up yet."""
    dsn = settings.url.get_secret_value()
    for attempt in range(1, settings.connect_attempts + 1):
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=settings.pool_min_size, max_size=settings.pool_max_size, **kwargs
            )
        except DATABASE_ERRORS as exc:
            if attempt == settings.connect_attempts:
                raise TransientError(f"database unreachable: {exc}") from exc
            delay_s = min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)
            logger.info("database not reachable (%s), retry in %.1fs", type(exc).__name__, delay_s)
            await asyncio.sleep(delay_s)
        else:
            assert pool is not None
            return pool
    raise AssertionError("unreachable")


async def migrate(pool: asyncpg.Pool) -> list[int]:
    """Apply every migration not applied yet; return the versions applied now."""
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migration (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            rows = await conn.fetch("SELECT version, checksum FROM schema_migration")
            applied = {r["version"]: r["checksum"] for r in rows}

            for migration in load_migrations():
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise MigrationError(migration.version, "file changed after it was applied")
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migration (version, name, checksum) "
                        "VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                logger.info("applied migration %04d %s", migration.version, migration.name)
                applied_now.append(migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now
