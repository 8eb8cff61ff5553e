"""The ledger reads analysts' verdicts: the latest per transaction, escalations unlabelled."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from chainwatch.shared.errors import ConfigurationError
from chainwatch.shared.settings import DatabaseSettings
from chainwatch.trainer.ledger import PostgresLedger

T0 = datetime(2025, 5, 1, tzinfo=UTC)


async def test_latest_verdict_wins_and_escalations_are_no_label(
    pool: asyncpg.Pool, database_settings: DatabaseSettings
) -> None:
    table = f"verdicts_{secrets.token_hex(4)}"
    await pool.execute(
        f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY, "
        "txid text, verdict text, decided_at timestamptz)"
    )
    rows = [
        ("a" * 64, "true_positive", T0),
        ("a" * 64, "false_positive", T0 + timedelta(hours=1)),  # overruled: licit
        ("b" * 64, "true_positive", T0),
        ("c" * 64, "escalate", T0),
        ("d" * 64, "true_positive", T0),
        ("d" * 64, "escalate", T0 + timedelta(hours=1)),  # reopened: no label for now
    ]
    insert = f"INSERT INTO {table} (txid, verdict, decided_at) VALUES ($1, $2, $3)"  # noqa: S608 - a name made here
    await pool.executemany(insert, rows)

    verdicts = await asyncio.to_thread(PostgresLedger(database_settings, table).verdicts)

    assert verdicts == {"a" * 64: False, "b" * 64: True}


async def test_missing_table_means_no_verdicts_and_a_wrong_one_is_refused(
    pool: asyncpg.Pool, database_settings: DatabaseSettings
) -> None:
    absent = PostgresLedger(database_settings, f"nothing_{secrets.token_hex(4)}")
    wrong = f"wrong_{secrets.token_hex(4)}"
    await pool.execute(f"CREATE TABLE {wrong} (txid text)")

    assert await asyncio.to_thread(absent.verdicts) == {}
    with pytest.raises(ConfigurationError, match="lacks decided_at, verdict"):
        await asyncio.to_thread(PostgresLedger(database_settings, wrong).verdicts)
