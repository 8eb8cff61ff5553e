"""The audit trail is append-only and tamper-evident, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from chainwatch.scorer.audit import read_decisions, write_decisions
from chainwatch.scorer.verify import CHANGED, UNLINKED, verify_chain
from chainwatch.shared.schemas import RiskBand, ScoredTransaction, Tier, TierOutput


def _decision(n: int, risk: float = 0.1) -> ScoredTransaction:
    return ScoredTransaction(
        txid=f"{n:064x}",
        decided_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        risk_score=risk,
        band=RiskBand.LOW,
        flagged=False,
        deciding_tier=Tier.HEURISTIC,
        decision_reason="no model loaded",
        tiers=[TierOutput(tier=Tier.HEURISTIC, risk_score=risk)],
        value_out=100_000 + n,
        fee=1_000,
        vsize=141,
        input_count=1,
        output_count=2,
        source="test",
        latency_ms=1.5,
        features={"fee_rate_sat_vb": 7.09, "input_count": 1.0, "unknown": None},
        feature_set_version="test",
        anomaly_score=0.25,
    )


@pytest.fixture
async def fresh_pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


async def test_rows_chain_and_verify_intact(fresh_pool: asyncpg.Pool) -> None:
    decisions = [_decision(n) for n in range(1, 31)]
    written = await write_decisions(fresh_pool, decisions[:20], list(range(20)))
    written |= await write_decisions(fresh_pool, decisions[10:], list(range(10, 30)))

    assert len(written) == 30, "a repeated txid is written once"
    async with fresh_pool.acquire() as conn:
        report = await verify_chain(conn)
        seqs = await conn.fetch("SELECT chain_seq FROM audit_decision ORDER BY chain_seq")
    assert report.intact and report.rows_checked == 30
    assert [r["chain_seq"] for r in seqs] == list(range(1, 31))


async def test_concurrent_writers_form_one_chain(fresh_pool: asyncpg.Pool) -> None:
    batches = [[_decision(n) for n in range(b * 50 + 1, b * 50 + 51)] for b in range(6)]
    await asyncio.gather(*(write_decisions(fresh_pool, b, [0] * len(b)) for b in batches))

    async with fresh_pool.acquire() as conn:
        report = await verify_chain(conn)
    assert report.intact and report.rows_checked == 300


async def test_service_role_cannot_update_or_delete(
    fresh_pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    await write_decisions(fresh_pool, [_decision(1)], [1])
    user = f"cw_scorer_{secrets.token_hex(3)}"
    password = secrets.token_hex(12)
    await fresh_pool.execute(
        f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE chainwatch_audit_writer"
    )
    parts = urlsplit(fresh_database_url)
    try:
        scorer = await asyncpg.connect(
            urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname or ''}"
                                      + (f":{parts.port}" if parts.port else "")))
        )  # fmt: skip
        try:
            await write_decisions(scorer, [_decision(2)], [2])  # type: ignore[arg-type]
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await scorer.execute("UPDATE audit_decision SET risk_score = 0")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await scorer.execute("DELETE FROM audit_decision")
        finally:
            await scorer.close()
    finally:
        await fresh_pool.execute(f"DROP OWNED BY {user}; DROP ROLE {user}")

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await fresh_pool.execute("UPDATE audit_decision SET risk_score = 0")


async def _tamper(pool: asyncpg.Pool, statement: str, *args: object) -> None:
    """What someone with the owner's rights could do: switch the guard off and edit."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_decision DISABLE TRIGGER audit_decision_append_only")
        await conn.execute(statement, *args)
        await conn.execute("ALTER TABLE audit_decision ENABLE TRIGGER audit_decision_append_only")


async def test_tampered_row_is_named_by_verify(
    fresh_pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    await write_decisions(fresh_pool, [_decision(n) for n in range(1, 11)], list(range(10)))
    victim = _decision(6).txid
    await _tamper(
        fresh_pool,
        "UPDATE audit_decision SET band = 'Low', risk_score = 0.01 WHERE txid = $1",
        victim,
    )

    async with fresh_pool.acquire() as conn:
        report = await verify_chain(conn)
    assert report.first_break is not None
    assert report.first_break.txid == victim
    assert report.first_break.chain_seq == 6
    assert report.first_break.problem == CHANGED
    assert report.rows_checked == 5

    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.scorer.verify", "verify",
        env={"DATABASE_URL": fresh_database_url, "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 1
    assert victim in stdout.decode() and "chain_seq=6" in stdout.decode()


async def test_deleted_row_breaks_the_link(fresh_pool: asyncpg.Pool) -> None:
    await write_decisions(fresh_pool, [_decision(n) for n in range(1, 6)], list(range(5)))
    await _tamper(fresh_pool, "DELETE FROM audit_decision WHERE chain_seq = 5")
    await _tamper(fresh_pool, "DELETE FROM audit_decision WHERE chain_seq = 3")

    async with fresh_pool.acquire() as conn:
        report = await verify_chain(conn)
    assert report.first_break is not None
    assert report.first_break.chain_seq == 4
    assert (
        "rows were removed" in report.first_break.problem or report.first_break.problem == UNLINKED
    )


async def test_recorded_decisions_read_back_as_they_were_written(fresh_pool: asyncpg.Pool) -> None:
    decisions = [_decision(n, risk=0.05 * n) for n in range(1, 6)]
    await write_decisions(fresh_pool, decisions, list(range(5)))

    recorded = await read_decisions(fresh_pool, [d.txid for d in decisions])

    assert len(recorded) == 5
    for decision in decisions:
        assert recorded[decision.txid].model_dump() == decision.model_dump()


async def _cli(database_url: str, *args: str) -> tuple[int, str]:
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.scorer.verify", *args,
        env={"DATABASE_URL": database_url, "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode is not None
    return cli.returncode, stdout.decode()


async def test_a_rewritten_chain_is_caught_by_an_anchor(
    fresh_pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    await write_decisions(fresh_pool, [_decision(n) for n in range(1, 6)], list(range(5)))
    code, anchor = await _cli(fresh_database_url, "anchor")
    assert code == 0 and anchor.startswith("5:")

    # Edit row 3 and recompute its hash and every later one: the chain alone looks whole.
    await _tamper(fresh_pool, "UPDATE audit_decision SET risk_score = 0.01 WHERE chain_seq = 3")
    async with fresh_pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_decision DISABLE TRIGGER audit_decision_append_only")
        for seq in range(3, 6):
            await conn.execute(
                """
                WITH previous AS (SELECT row_hash FROM audit_decision WHERE chain_seq = $1 - 1)
                UPDATE audit_decision a SET
                    prev_hash = (SELECT row_hash FROM previous),
                    row_hash = sha256(
                        (SELECT row_hash FROM previous) || audit_decision_canonical(a)
                    )
                WHERE chain_seq = $1
                """,
                seq,
            )
        await conn.execute("ALTER TABLE audit_decision ENABLE TRIGGER audit_decision_append_only")

    assert (await _cli(fresh_database_url, "verify"))[0] == 0, "the rewrite fools the chain"
    code, out = await _cli(fresh_database_url, "verify", "--anchor", anchor.strip())
    assert code == 1 and "chain_seq=5" in out and "rewritten" in out


async def test_a_replaced_canonical_function_is_reported(
    fresh_pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    await write_decisions(fresh_pool, [_decision(1)], [1])
    await fresh_pool.execute(
        """CREATE OR REPLACE FUNCTION audit_decision_canonical(d audit_decision) RETURNS bytea
           LANGUAGE sql STABLE AS $$ SELECT convert_to(d.txid, 'UTF8') $$"""
    )
    code, out = await _cli(fresh_database_url, "verify")
    assert code == 1 and "audit_decision_canonical" in out
