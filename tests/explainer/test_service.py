"""The explainer end to end over a real nats-server and a real PostgreSQL.

Decisions of real transactions are written to the audit trail as the scorer writes them and
published on ``chainwatch.tx.scored``; the service (``serve``, as the console script runs it)
must publish one explanation per flagged decision on ``chainwatch.tx.explained``, store each
once, linked to its decision and chained, whatever is redelivered, and keep going when Claude
times out or is overloaded. Each test has a nats-server and a database of its own, so no
other test's decisions reach its consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import nats.js.errors
import pytest
from nats.js import JetStreamContext

from chainwatch.devstack.servers import NatsServer, free_port
from chainwatch.explainer.__main__ import serve
from chainwatch.explainer.audit import verify_chain
from chainwatch.explainer.settings import ClaudeSettings, ExplainerSettings
from chainwatch.scorer.audit import write_decisions
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import TransientError
from chainwatch.shared.explanations import ExplainedTransaction, NarrativePath
from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.schemas import DeadLetter, ScoredTransaction
from chainwatch.shared.settings import DatabaseSettings, NatsSettings

from .conftest import SANCTIONED_TXID, RealDecisions
from .messages_api import FAITHFUL, OVERLOADED, MessagesAPI, slow

WAIT_S = 30.0


@dataclass
class Stack:
    nats_url: str
    js: JetStreamContext
    pool: asyncpg.Pool
    database_url: str
    models_root: Path
    explained: dict[str, ExplainedTransaction]
    arrived: asyncio.Condition

    def settings(self, **overrides: object) -> ExplainerSettings:
        return ExplainerSettings(
            nats=NatsSettings(url=self.nats_url, connect_attempts=3),
            database=DatabaseSettings(url=self.database_url),
            registry=RegistrySettings(root=self.models_root),
            health_port=overrides.pop("health_port", 0),
            fetch_timeout_s=0.2,
            **overrides,  # type: ignore[arg-type]
        )

    async def wait_for(self, txids: set[str], timeout_s: float = WAIT_S) -> None:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: txids <= self.explained.keys()), timeout_s
            )


@pytest.fixture
async def stack(
    tmp_path: Path, fresh_database_url: str, real_decisions: RealDecisions
) -> AsyncIterator[Stack]:
    nats = NatsServer(tmp_path / "nats").start()
    nc = await bus.connect(NatsSettings(url=nats.url, connect_attempts=3), "test")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=4)
    assert pool is not None
    stack = Stack(
        nats.url, js, pool, fresh_database_url, real_decisions.store.root, {}, asyncio.Condition()
    )

    async def on_explained(msg: object) -> None:
        message = ExplainedTransaction.model_validate_json(msg.data)  # type: ignore[attr-defined]
        async with stack.arrived:
            assert message.txid not in stack.explained, "one explanation per txid on the bus"
            stack.explained[message.txid] = message
            stack.arrived.notify_all()

    await js.subscribe(subjects.TX_EXPLAINED, cb=on_explained, ordered_consumer=True)
    yield stack
    await pool.close()
    await nc.drain()
    nats.stop()


@pytest.fixture
def decisions(real_decisions: RealDecisions) -> list[ScoredTransaction]:
    """40 real decisions: the sanctioned payment, flagged batch decisions and unflagged ones."""
    by_model = [d for d in real_decisions.xgboost if d.txid != SANCTIONED_TXID]
    flagged = [d for d in by_model if d.flagged][:25]
    quiet = [d for d in by_model if not d.flagged][:14]
    sanctioned = next(d for d in real_decisions.xgboost if d.txid == SANCTIONED_TXID)
    return [sanctioned, *flagged, *quiet]


async def publish(stack: Stack, decisions: list[ScoredTransaction]) -> None:
    await write_decisions(stack.pool, decisions, list(range(1, len(decisions) + 1)))
    await bus.publish_batch(stack.js, subjects.TX_SCORED, [(d, d.txid) for d in decisions])


async def running(
    settings: ExplainerSettings, body: Callable[[], object], timeout_s: float = 60.0
) -> None:
    """Run the service while ``body`` runs, then stop it and wait for it to finish."""
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))
    try:
        await asyncio.wait_for(body(), timeout_s)  # type: ignore[arg-type]
    finally:
        stop.set()
        await asyncio.wait_for(service, 15)


async def test_flagged_decisions_are_explained_stored_linked_and_chained(
    stack: Stack, decisions: list[ScoredTransaction]
) -> None:
    flagged = {d.txid for d in decisions if d.flagged}
    port = free_port()

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'chainwatch_explainer_explanations_total{path="template",tier="batch"}' in metrics

    await running(stack.settings(health_port=port), body)

    assert set(stack.explained) == flagged, "flagged only, by default"
    rows = await stack.pool.fetch(
        "SELECT e.txid, e.explanation::text AS explanation, e.decision_row_hash, d.row_hash, "
        "e.narrative_path, e.attribution_method, e.model_version "
        "FROM audit_explanation e JOIN audit_decision d USING (txid)"
    )
    assert len(rows) == len(flagged)
    for row in rows:
        published = stack.explained[row["txid"]]
        assert ExplainedTransaction.model_validate_json(row["explanation"]) == published
        assert bytes(row["decision_row_hash"]) == bytes(row["row_hash"])
        assert published.decision_row_hash == bytes(row["row_hash"]).hex()
        assert row["narrative_path"] == "template"
    sanctioned = stack.explained[SANCTIONED_TXID]
    assert sanctioned.attribution is None and sanctioned.rules[0].category == "sanctions"
    batch = next(m for m in stack.explained.values() if m.attribution is not None)
    assert batch.attribution is not None and batch.attribution.reproduced
    async with stack.pool.acquire() as conn:
        report = await verify_chain(conn)
    assert report.intact and report.rows_checked == len(flagged)


async def test_redelivery_stores_and_publishes_each_explanation_once(
    stack: Stack, decisions: list[ScoredTransaction], monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = {d.txid for d in decisions if d.flagged}
    real_publish = bus.publish_batch
    failures = {"left": 1}

    async def publish_fails_once(
        js: JetStreamContext, subject: str, *args: object, **kw: object
    ) -> object:
        if subject == subjects.TX_EXPLAINED and failures["left"]:
            failures["left"] -= 1
            raise TransientError("bus hiccup after the rows were stored")
        return await real_publish(js, subject, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bus, "publish_batch", publish_fails_once)

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged)

    await running(stack.settings(), body)
    first = dict(stack.explained)
    assert failures["left"] == 0, "the first batch failed after storing and was redelivered"

    # A second consumer replays the whole stream: everything is delivered again.
    async def replayed() -> None:
        while True:
            with contextlib.suppress(nats.js.errors.NotFoundError):  # not created yet
                info = await stack.js.consumer_info(subjects.TX_SCORED_STREAM.name, "replay")
                if info.delivered.stream_seq >= len(decisions) and not info.num_ack_pending:
                    return
            await asyncio.sleep(0.05)

    await running(stack.settings(durable="replay"), replayed)

    count = await stack.pool.fetchval("SELECT count(*) FROM audit_explanation")
    assert count == len(flagged)
    info = await stack.js.stream_info(subjects.TX_EXPLAINED_STREAM.name)
    assert info.state.messages == len(flagged)
    assert stack.explained == first


async def test_claude_narratives_through_the_service(
    stack: Stack, decisions: list[ScoredTransaction], messages_api: MessagesAPI
) -> None:
    messages_api.behaviour = FAITHFUL
    flagged = {d.txid for d in decisions if d.flagged}
    claude = ClaudeSettings(api_key="sk-local-test", base_url=messages_api.url, max_retries=0)

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged)

    await running(stack.settings(claude=claude), body)

    assert all(m.narrative.path is NarrativePath.CLAUDE for m in stack.explained.values())
    paths = await stack.pool.fetch("SELECT narrative_path, input_tokens FROM audit_explanation")
    assert {r["narrative_path"] for r in paths} == {"claude"}
    assert all(r["input_tokens"] > 0 for r in paths)


@pytest.mark.parametrize("failure", ["timeout", "overloaded"])
async def test_a_failing_claude_does_not_hold_up_the_stream(
    stack: Stack, decisions: list[ScoredTransaction], messages_api: MessagesAPI, failure: str
) -> None:
    messages_api.behaviour = slow(10.0) if failure == "timeout" else OVERLOADED
    flagged = {d.txid for d in decisions if d.flagged}
    claude = ClaudeSettings(
        api_key="sk-local-test",
        base_url=messages_api.url,
        timeout_s=0.3,
        max_retries=0,
        concurrency=4,
        breaker_failures=3,
    )

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged, timeout_s=10)

    await running(stack.settings(claude=claude, narrative_budget_s=3.0), body)

    reasons = [m.narrative.fallback_reason or "" for m in stack.explained.values()]
    assert all(m.narrative.path is NarrativePath.TEMPLATE for m in stack.explained.values())
    first = "timed out after 0.3s" if failure == "timeout" else "HTTP 529"
    assert any(r.startswith(first) for r in reasons)
    assert any(r.startswith("Claude paused") for r in reasons), "the breaker stopped asking"
    assert len(messages_api.requests) < len(flagged)


async def test_a_decision_without_an_audit_row_is_dead_lettered(
    stack: Stack, decisions: list[ScoredTransaction]
) -> None:
    orphan = next(d for d in decisions if d.flagged).model_copy(
        update={"txid": secrets.token_hex(32)}
    )
    letters: list[DeadLetter] = []
    got = asyncio.Event()

    async def on_letter(msg: object) -> None:
        letters.append(DeadLetter.model_validate_json(msg.data))  # type: ignore[attr-defined]
        got.set()

    await stack.js.subscribe(subjects.deadletter_subject("explainer"), cb=on_letter)
    await bus.publish(stack.js, subjects.TX_SCORED, orphan, orphan.txid)

    await running(stack.settings(max_attempts=1), got.wait)

    assert letters[0].error_type == "DecisionNotAuditedError"
    assert orphan.txid in letters[0].reason


async def test_the_service_role_may_append_and_read_but_never_change(
    stack: Stack, decisions: list[ScoredTransaction]
) -> None:
    flagged = {d.txid for d in decisions if d.flagged}

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged)

    await running(stack.settings(), body)
    user, password = f"cw_explainer_{secrets.token_hex(3)}", secrets.token_hex(12)
    await stack.pool.execute(
        f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE chainwatch_explainer_writer"
    )
    parts = urlsplit(stack.database_url)
    url = urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM audit_explanation") == len(flagged)
        for statement in (
            "UPDATE audit_explanation SET fallback_reason = 'edited'",
            "DELETE FROM audit_explanation",
            "TRUNCATE audit_explanation",
            "DELETE FROM audit_decision",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()
        await stack.pool.execute(f"DROP ROLE {user}")


async def test_verify_names_an_explanation_changed_behind_the_triggers(
    stack: Stack, decisions: list[ScoredTransaction]
) -> None:
    flagged = {d.txid for d in decisions if d.flagged}

    async def body() -> None:
        await publish(stack, decisions)
        await stack.wait_for(flagged)

    await running(stack.settings(), body)
    async with stack.pool.acquire() as conn:
        victim = await conn.fetchval("SELECT txid FROM audit_explanation WHERE chain_seq = 3")
        await conn.execute("ALTER TABLE audit_explanation DISABLE TRIGGER USER")
        await conn.execute(
            "UPDATE audit_explanation SET explanation = jsonb_set(explanation, "
            "'{narrative,text}', '\"nothing to see\"') WHERE chain_seq = 3"
        )
        await conn.execute("ALTER TABLE audit_explanation ENABLE TRIGGER USER")
        report = await verify_chain(conn)
    assert report.first_break == (3, victim, "changed after it was written")
    assert report.rows_checked == 2
