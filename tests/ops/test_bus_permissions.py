"""Least privilege on the bus, against a real nats-server running the deployed configuration.

Each service's user does what its service does (declare its streams, publish its subjects,
pull from its durable consumer, read streams by sequence, read or move model pointers),
through the same helpers the services call, without one permission error; every subject
another service publishes is refused to it, and so are other services' inboxes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import nats
import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ConfigDict

from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import TransientError
from chainwatch.shared.onboarding import ONBOARDING_SCORE
from chainwatch.shared.registry import current_pointer, promote, watch_current
from chainwatch.shared.settings import NatsSettings

BLOCK_277647 = "mempool_api/derived/block277647_txs_with_prevouts.json"
REQUESTS = {ONBOARDING_SCORE}
"""Subjects served as request/reply, on no stream."""


class AnyMessage(BaseModel):
    """Whatever JSON object a test puts on a stream."""

    model_config = ConfigDict(extra="allow")


@pytest.fixture
async def admin(secured_nats: Any, accounts: ModuleType) -> AsyncIterator[NATS]:
    """The operators' user: declares every stream and puts a message where a role reads."""
    nc = await bus.connect(secured_nats.settings(accounts.ADMIN_USER), "test-admin")
    js = nc.jetstream()
    streams = {s.name: s for role in accounts.ROLES for s in role.declares}
    await bus.ensure_streams(js, list(streams.values()))
    for role in accounts.ROLES:
        for stream in (*role.reads, *(c.stream for c in role.consumes)):
            await js.publish(stream.subjects[0], b'{"from": "admin"}')
        for model in role.moves_models:
            await promote(js, model, "v-admin", store="fs://test", run_id="admin")
    yield nc
    await nc.drain()


async def _errors_of(settings: NatsSettings, name: str) -> tuple[NATS, list[str]]:
    """A client for ``settings`` that records every error the server sends it."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        settings.servers,
        name=name,
        user=settings.user,
        password=settings.password.get_secret_value() if settings.password else None,
        inbox_prefix=settings.inbox,
        error_cb=on_error,
        allow_reconnect=False,
    )
    return nc, errors


def test_accounts_conf_is_generated_from_the_roles(accounts: ModuleType, repo_root: Path) -> None:
    committed = (repo_root / "deploy" / "nats" / "accounts.conf").read_text()

    assert committed == accounts.render(), "run: python deploy/nats/accounts.py > accounts.conf"


def test_model_names_are_the_services_own(accounts: ModuleType) -> None:
    from chainwatch.fees.model import MODEL_NAME as FEES_MODEL
    from chainwatch.onboarding.settings import MODEL_NAME as ONBOARDING_MODEL

    assert accounts.MODEL_FEES == FEES_MODEL
    assert accounts.MODEL_ONBOARDING == ONBOARDING_MODEL


def test_every_service_has_a_user_and_no_user_is_shared(
    accounts: ModuleType, repo_root: Path
) -> None:
    users = [role.user for role in accounts.ROLES]

    assert len(set(users)) == len(users)
    assert accounts.ADMIN_USER not in users
    services = {p.parent.name for p in (repo_root / "services").glob("*/pyproject.toml")}
    assert services <= set(users), "a service without a NATS user cannot connect"


async def test_a_service_user_does_its_own_work(
    role: Any, secured_nats: Any, admin: NATS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chainwatch.shared.bus")
    nc = await bus.connect(secured_nats.settings(role.user), f"test-{role.user}")
    js = nc.jetstream()
    try:
        await bus.ensure_streams(js, role.declares)

        for subject in role.publishes:
            if subject in REQUESTS:  # a request to a service, not a message to keep
                await nc.publish(subject, b"{}")
                continue
            ack = await js.publish(subject, b'{"test": true}', timeout=2)
            assert ack.seq >= 1, subject

        for consumer in role.consumes:
            await _pull_one_as_the_service_does(js, consumer)

        for stream in role.reads:
            await _read_as_the_service_does(js, stream)

        for stream in role.follows:
            await _follow_as_the_service_does(js, stream)

        for subject in role.answers:
            await _answer_as_the_service_does(nc, admin, subject)

        for model in role.moves_models:
            await promote(js, model, f"v-{role.user}", store="fs://test", run_id=role.user)
        if role.reads_models:
            for model in role.moves_models or ("screening-xgb",):
                await current_pointer(js, model)
                watch = watch_current(js, model)
                try:
                    await asyncio.wait_for(anext(watch), 2)
                finally:
                    await watch.aclose()  # type: ignore[attr-defined]

        for subject in role.subscribes:
            sub = await nc.subscribe(subject)
            await nc.flush()
            assert (await _received(sub, admin, subject)).subject == subject
            await sub.unsubscribe()

        await nc.flush()
    finally:
        await nc.drain()

    refused = [r.getMessage() for r in caplog.records if "violation" in r.getMessage().lower()]
    assert refused == []


async def _received(sub: Any, publisher: NATS, subject: str) -> Any:
    """Publish until the subscription has a message: a new subscription's interest reaches
    the server's other connections a moment after its own flush, so one publish may miss."""
    for _ in range(50):
        await publisher.publish(subject, b"{}")
        await publisher.flush()
        try:
            return await sub.next_msg(timeout=0.1)
        except nats.errors.TimeoutError:
            continue
    raise AssertionError(f"nothing published on {subject} reached the subscriber in 5 s")


async def _pull_one_as_the_service_does(js: Any, consumer: Any) -> None:
    """Run the services' BatchConsumer on the durable until it has acked one message."""
    stop = asyncio.Event()
    handled: list[int] = []

    async def handle(batch: Any) -> None:
        handled.extend(d.stream_seq for d in batch)
        stop.set()

    worker = bus.BatchConsumer(
        js,
        stage="test",
        stream=consumer.stream.name,
        subject=consumer.stream.subjects[0],
        durable=consumer.durable,
        model=AnyMessage,
        handler=handle,
        fetch_timeout_s=0.2,
    )
    await asyncio.wait_for(worker.run(stop), 10)

    assert handled
    assert worker.processed >= 1
    for _ in range(100):  # an ack is a plain publish: the server applies it a moment later
        info = await js.consumer_info(consumer.stream.name, consumer.durable)
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.02)
    assert info.num_ack_pending == 0


async def _read_as_the_service_does(js: Any, stream: Any) -> None:
    """An ephemeral consumer (as ingest remembers txids) and a read by sequence (as a case
    view fetches its raw transaction)."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=5.0
    )
    sub = await js.pull_subscribe(stream.subjects[0], stream=stream.name, config=config)
    try:
        assert (await sub.consumer_info()).num_pending >= 1
        assert await sub.fetch(1, timeout=2)
    finally:
        await sub.unsubscribe()
    msg = await js.get_msg(stream.name, 1)
    assert msg.seq == 1


async def _follow_as_the_service_does(js: Any, stream: Any) -> None:
    """An ordered push consumer from the start of the stream (as fees follows the mempool)."""
    got: asyncio.Queue[Any] = asyncio.Queue()

    async def on_message(msg: Any) -> None:
        await got.put(msg)

    sub = await js.subscribe(
        stream.subjects[0],
        stream=stream.name,
        cb=on_message,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    try:
        assert (await asyncio.wait_for(got.get(), 2)).subject == stream.subjects[0]
    finally:
        await sub.unsubscribe()


async def _answer_as_the_service_does(nc: NATS, requester: NATS, subject: str) -> None:
    """A queue subscription that replies (as onboarding answers score requests)."""

    async def respond(msg: Any) -> None:
        await msg.respond(b'{"answered": true}')

    sub = await nc.subscribe(subject, queue="test", cb=respond)
    await nc.flush()
    try:
        for _ in range(50):  # the interest may reach the requester's side a moment later
            try:
                reply = await requester.request(subject, b"{}", timeout=2)
                break
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.02)
        assert json.loads(reply.data) == {"answered": True}
    finally:
        await sub.unsubscribe()


def _foreign_subjects(accounts: ModuleType, role: Any) -> set[str]:
    """What other services publish (model pointers included) that ``role`` must not."""
    own = set(accounts.publish_allow(role))
    foreign = set()
    for other in accounts.ROLES:
        foreign |= set(other.publishes)
        foreign |= {f"$KV.{accounts.MODELS_KV_BUCKET}.{m}" for m in other.moves_models}
    return foreign - own


async def test_a_service_user_is_refused_every_other_services_subjects(
    role: Any, secured_nats: Any, accounts: ModuleType
) -> None:
    foreign = _foreign_subjects(accounts, role)
    others_inboxes = {other.inbox + ".>" for other in accounts.ROLES if other is not role}
    wide = {"chainwatch.>", "_INBOX.>", "$JS.API.>"}
    assert foreign, f"{role.user}: no other service's subject to try"

    nc, errors = await _errors_of(secured_nats.settings(role.user), f"test-{role.user}")
    try:
        for subject in sorted(foreign):
            await nc.publish(subject, b"{}")
        for subject in sorted(others_inboxes | wide):
            await nc.subscribe(subject)
        await nc.flush()
        expected = len(foreign) + len(others_inboxes | wide)
        for _ in range(100):
            if len(errors) >= expected:
                break
            await asyncio.sleep(0.02)
    finally:
        await nc.close()

    # The client lower-cases the server's error text, subjects included.
    refused_publish = {e.split('"')[1] for e in errors if "violation for publish" in e}
    refused_subscribe = {e.split('"')[1] for e in errors if "violation for subscription" in e}
    assert refused_publish == {subject.lower() for subject in foreign}
    assert refused_subscribe == {subject.lower() for subject in others_inboxes | wide}


async def _stored(admin: NATS, stream: str) -> int:
    return int((await admin.jetstream().stream_info(stream)).state.messages)


@pytest.mark.parametrize(
    ("user", "subject", "stream"),
    [
        ("ingest", subjects.TX_SCORED, subjects.TX_SCORED_STREAM.name),
        ("dashboard", subjects.TX_RAW, subjects.TX_RAW_STREAM.name),
        ("scorer", subjects.TX_RAW, subjects.TX_RAW_STREAM.name),
        ("explainer", subjects.TX_SCORED, subjects.TX_SCORED_STREAM.name),
    ],
)
async def test_a_refused_jetstream_publish_stores_nothing(
    user: str, subject: str, stream: str, secured_nats: Any, admin: NATS
) -> None:
    before = await _stored(admin, stream)
    nc = await bus.connect(secured_nats.settings(user), f"test-{user}")
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream().publish(subject, b"{}", timeout=0.5)
    finally:
        await nc.close()

    assert await _stored(admin, stream) == before


async def test_no_service_can_delete_or_purge_a_stream(secured_nats: Any, admin: NATS) -> None:
    nc = await bus.connect(secured_nats.settings("scorer"), "test-scorer")
    js = nc.jetstream(timeout=0.5)  # a refused request is never answered
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_stream(subjects.TX_RAW_STREAM.name)
        with pytest.raises(nats.errors.TimeoutError):
            await js.purge_stream(subjects.TX_SCORED_STREAM.name)
    finally:
        await nc.close()

    assert await _stored(admin, subjects.TX_RAW_STREAM.name) >= 1


@pytest.mark.parametrize(
    "credentials",
    [{"user": "scorer", "password": "not-the-password"}, {"user": "nobody", "password": "x"}, {}],
    ids=["wrong-password", "unknown-user", "anonymous"],
)
async def test_a_client_without_valid_credentials_is_refused(
    secured_nats: Any, credentials: dict[str, str]
) -> None:
    settings = NatsSettings(
        url=secured_nats.url,
        connect_attempts=1,
        connect_timeout_s=0.5,
        **credentials,  # type: ignore[arg-type]
    )

    with pytest.raises(TransientError):
        await bus.connect(settings, "test-intruder")


def _service(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_ingest_and_scorer_run_under_their_own_users(
    secured_nats: Any,
    fresh_database_url: str,
    data_dir: Path,
    wait_for: Any,
) -> None:
    """The real services, each as its own user: a replayed block ends in the audit trail."""
    block = json.loads((data_dir / BLOCK_277647).read_text())
    txids = [tx["txid"] for tx in block]
    base = {**os.environ, "CHAINWATCH_DATA_DIR": str(data_dir), "CHAINWATCH_LOG_FORMAT": "json"}
    ingest = _service(
        "chainwatch.ingest",
        {
            **base,
            **secured_nats.env("ingest"),
            "CHAINWATCH_INGEST_MODE": "replay",
            "CHAINWATCH_INGEST_REPLAY_FILES": BLOCK_277647,
            "CHAINWATCH_INGEST_REPLAY_RATE_TX_S": "0",
            "CHAINWATCH_INGEST_HEALTH_ENABLED": "false",
        },
    )
    scorer = _service(
        "chainwatch.scorer",
        {
            **base,
            **secured_nats.env("scorer"),
            "DATABASE_URL": fresh_database_url,
            "CHAINWATCH_SCORER_HEALTH_PORT": "0",
        },
    )
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    try:

        async def all_audited() -> bool:
            count = await pool.fetchval(
                "SELECT count(DISTINCT txid) FROM audit_decision WHERE txid = ANY($1)", txids
            )
            return bool(count == len(txids))

        await wait_for(all_audited, 60, "every replayed txid audited")
        assert ingest.wait(30) == 0, ingest.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    finally:
        scorer.send_signal(signal.SIGTERM)
        _, scorer_err = scorer.communicate(timeout=30)
        if ingest.poll() is None:
            ingest.kill()
            ingest.wait()
        await pool.close()

    assert scorer.returncode == 0, scorer_err.decode()[-2000:]
    assert b"violation" not in scorer_err.lower()
