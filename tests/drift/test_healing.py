"""Self-healing against a real NATS and PostgreSQL: requests, guards, outcomes, audit rows."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.drift.checks import CheckResult
from chainwatch.drift.healing import Healer, HealingPolicy, crosses
from chainwatch.shared.drift import (
    DriftDetected,
    DriftFinding,
    DriftKind,
    DriftReference,
    DriftWindow,
)
from chainwatch.shared.registry import MODEL_CHAMPION, ModelPointer
from chainwatch.shared.retraining import RETRAIN_STREAM, RetrainRequest

POLICY = HealingPolicy(
    retrain_on=frozenset({DriftKind.FEATURE, DriftKind.PERFORMANCE}),
    min_features=3,
    cooldown_s=60.0,
    timeout_s=3600.0,
    window_s=86400.0,
)


def _event(event_id: str, *, retrain: bool = True, features: int = 1) -> DriftDetected:
    now = datetime.now(UTC)
    return DriftDetected(
        event_id=event_id,
        kind=DriftKind.FEATURE,
        detected_at=now,
        summary="3 of 53 features drifted: fee_rate_sat_vb (PSI 1.20), ...",
        findings=[
            DriftFinding(subject=f"feature_{i}", test="ks", statistic=0.4, psi=1.2)
            for i in range(features)
        ],
        window=DriftWindow(first_seq=51, last_seq=250, first_at=now, last_at=now, size=200),
        model_versions={"batch": "v1"},
        retrain=retrain,
    )


async def _steps(pool: asyncpg.Pool) -> list[tuple[str, str | None]]:
    rows = await pool.fetch("SELECT step, event_id FROM drift_retrain ORDER BY id")
    return [(r["step"], r["event_id"]) for r in rows]


async def _requests(nc: NATS) -> list[RetrainRequest]:
    js = nc.jetstream()
    last = (await js.stream_info(RETRAIN_STREAM.name)).state.last_seq
    found = []
    for seq in range(1, last + 1):
        msg = await js.get_msg(RETRAIN_STREAM.name, seq)
        found.append(RetrainRequest.model_validate_json(msg.data or b""))
    return found


def test_the_policy_needs_enough_features_and_a_listed_kind() -> None:
    assert crosses(POLICY, DriftKind.FEATURE, 3)
    assert not crosses(POLICY, DriftKind.FEATURE, 2)
    assert crosses(POLICY, DriftKind.PERFORMANCE, 1)
    assert not crosses(POLICY, DriftKind.ANOMALY, 5)


async def test_one_request_at_a_time_until_promotion_then_serving_then_cool_down(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    healer = Healer(private_nc.jetstream(), fresh_pool, POLICY)

    first = _event("e1")
    await healer.on_event(first)
    await healer.on_event(_event("e2"))  # the first is still open
    await healer.on_event(_event("e0", retrain=False))  # below the policy: nothing at all
    [request] = await _requests(private_nc)
    assert request.requested_by == "drift" and "e1" in request.reason
    assert "decisions 51-250" in request.reason
    # Retrain on the day before the drifted window ended, and on everything since.
    assert request.window is not None and request.window.end is None
    assert first.window.last_at - request.window.start == timedelta(days=1)

    promoted_at = datetime.now(UTC)
    await healer.on_promotion(ModelPointer("v2", "file:///models", promoted_at, "run-1"))
    await healer.on_served("v1", 300, promoted_at)  # still the old model: not serving yet
    await healer.on_served("v2", 301, promoted_at + timedelta(seconds=1))
    await healer.on_event(_event("e3"))  # within the cool-down

    assert await _steps(fresh_pool) == [
        ("requested", "e1"),
        ("suppressed", "e2"),
        ("promoted", "e1"),
        ("serving", None),
        ("suppressed", "e3"),
    ]
    rows = await fresh_pool.fetch("SELECT step, model_version, detail FROM drift_retrain")
    details = {r["step"]: r for r in rows}
    assert details["promoted"]["model_version"] == "v2"
    assert "sequence 301" in details["serving"]["detail"]
    assert "cool-down" in rows[-1]["detail"] and "still open" in rows[1]["detail"]
    assert "training on transactions arrived from" in rows[0]["detail"]
    assert len(await _requests(private_nc)) == 1


async def test_a_refusal_by_the_gate_closes_the_request_and_a_restart_remembers_it(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    healer = Healer(private_nc.jetstream(), fresh_pool, POLICY)
    await healer.on_event(_event("e1"))

    restarted = Healer(private_nc.jetstream(), fresh_pool, POLICY)
    await restarted.restore()
    assert restarted.open is not None and restarted.open.event_id == "e1"
    await restarted.poll()  # nothing decided yet
    assert restarted.open is not None

    await fresh_pool.execute(
        "INSERT INTO training_run (run_id, trigger, model_name, candidate_version, "
        "champion_version, decision, reasons, decided_at) "
        "VALUES ('run-2', 'drift', $1, 'v9', 'v1', 'refused', $2::jsonb, now())",
        MODEL_CHAMPION,
        json.dumps(["PR-AUC 0.1 is worse than the serving v1's 0.8"]),
    )
    await restarted.poll()

    assert restarted.open is None
    row = await fresh_pool.fetchrow("SELECT * FROM drift_retrain WHERE step = 'refused'")
    assert row is not None and row["model_version"] == "v9" and row["run_id"] == "run-2"
    assert "worse than" in row["detail"]


async def test_a_request_nobody_answers_times_out(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    quick = HealingPolicy(POLICY.retrain_on, 3, cooldown_s=0.0, timeout_s=0.0)
    healer = Healer(private_nc.jetstream(), fresh_pool, quick)
    await healer.on_event(_event("e1"))

    await healer.poll()
    await healer.on_event(_event("e2"))  # no cool-down, nothing open: asked again

    assert await _steps(fresh_pool) == [
        ("requested", "e1"),
        ("timed_out", "e1"),
        ("requested", "e2"),
    ]


def _check(first_seq: int, *, drifted: bool = True, reference: str | None = None) -> CheckResult:
    now = datetime.now(UTC)
    findings = [
        DriftFinding(subject=name, test="ks", statistic=0.4, psi=1.2)
        for name in ("fee_rate_sat_vb", "in_share_p2pkh", "out_share_v1_p2tr")
    ]
    return CheckResult(
        kind=DriftKind.FEATURE,
        drifted=drifted,
        summary="still drifted" if drifted else "nothing moved",
        window=DriftWindow(
            first_seq=first_seq, last_seq=first_seq + 199, first_at=now, last_at=now, size=200
        ),
        findings=findings if drifted else [],
        reference=None if reference is None else _reference(reference),
    )


def _reference(reference_id: str) -> DriftReference:
    return DriftReference(reference_id=reference_id, source="card", rows=363, description="card")


async def test_a_drift_held_back_is_asked_for_when_the_guard_lifts_if_it_persists(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    brief = HealingPolicy(POLICY.retrain_on, 3, cooldown_s=0.5, timeout_s=3600.0)
    healer = Healer(private_nc.jetstream(), fresh_pool, brief)
    await healer.on_event(_event("e1"))
    await healer.on_promotion(ModelPointer("v2", "file:///models", datetime.now(UTC), "run-1"))
    await healer.on_event(_event("e2"))  # within the cool-down: deferred
    await healer.on_check(_check(301))  # still drifted, still cooling down: nothing yet

    await asyncio.sleep(0.6)
    await healer.on_check(_check(351))  # the guard has lifted and the drift persists

    steps = await _steps(fresh_pool)
    assert steps == [("requested", "e1"), ("promoted", "e1"), ("suppressed", "e2"),
                     ("requested", "e2")]  # fmt: skip
    first, second = await _requests(private_nc)
    assert healer.open is not None and second.request_id == healer.open.request_id
    assert first.window is not None and second.window is not None
    assert second.window.start > first.window.start
    detail = await fresh_pool.fetchval("SELECT detail FROM drift_retrain ORDER BY id DESC LIMIT 1")
    assert "still drifted at decisions 351-550" in detail
    assert not healer.deferred


async def test_a_deferred_drift_is_forgotten_when_it_clears_or_the_reference_changes(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    brief = HealingPolicy(POLICY.retrain_on, 3, cooldown_s=0.0, timeout_s=3600.0)
    healer = Healer(private_nc.jetstream(), fresh_pool, brief)
    await healer.on_event(_event("e1"))
    await healer.on_event(_event("e2"))  # e1 is open: deferred
    await healer.on_check(_check(301, drifted=False))  # cleared by itself
    assert not healer.deferred

    await healer.on_event(_event("e3"))  # e1 is still open: deferred
    await healer.on_check(_check(351, reference="card:screening-xgb:v2"))  # a new champion
    assert not healer.deferred
    await healer.poll()

    assert await _steps(fresh_pool) == [
        ("requested", "e1"),
        ("suppressed", "e2"),
        ("suppressed", "e3"),
    ]


async def test_a_drift_that_begins_weak_asks_for_retraining_once_it_has_grown(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    # The alarm reports a drift when it begins; one that begins below the policy and grows
    # raises no new event, so the healer follows its checks.
    healer = Healer(private_nc.jetstream(), fresh_pool, POLICY)
    await healer.on_event(_event("e1", retrain=False, features=1))
    assert await _steps(fresh_pool) == []

    await healer.on_check(_check(301))  # now three features: past the policy

    assert await _steps(fresh_pool) == [("requested", "e1")]
    [request] = await _requests(private_nc)
    assert "still drifted" in request.reason and "decisions 301-500" in request.reason
    detail = await fresh_pool.fetchval("SELECT detail FROM drift_retrain")
    assert "grew by decisions 301-500" in detail


async def test_a_deferred_request_that_fails_is_asked_again_when_the_batch_is_retried(
    private_nc: NATS, fresh_pool: asyncpg.Pool, fresh_database_url: str
) -> None:
    brief = HealingPolicy(POLICY.retrain_on, 3, cooldown_s=0.0, timeout_s=3600.0)
    healer = Healer(private_nc.jetstream(), fresh_pool, brief)
    await healer.on_event(_event("e1", retrain=False))  # weak: followed
    gone = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=1)
    await gone.close()
    healer.pool = gone  # the database goes away after the request is published

    with pytest.raises(asyncpg.InterfaceError):
        await healer.on_check(_check(301))
    assert healer.deferred  # still followed: the service retries the batch
    healer.pool = fresh_pool
    await healer.on_check(_check(301))

    assert await _steps(fresh_pool) == [("requested", "e1")]
    assert len(await _requests(private_nc)) == 1  # published twice, kept once (same id)
    assert not healer.deferred and healer.open is not None


async def test_a_drift_waits_for_decisions_of_the_new_world_before_asking(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    patient = HealingPolicy(POLICY.retrain_on, 3, 0.0, 3600.0, after_decisions=200)
    healer = Healer(private_nc.jetstream(), fresh_pool, patient)
    await healer.on_event(_event("e1", features=3))  # window 51-250: past the policy
    await healer.on_check(_check(201))  # ends at 400: 150 decisions later, too soon

    assert await _steps(fresh_pool) == []
    await healer.on_check(_check(251))  # ends at 450: 200 decisions of the new world

    assert await _steps(fresh_pool) == [("requested", "e1")]
    detail = await fresh_pool.fetchval("SELECT detail FROM drift_retrain")
    assert "waited 200 decisions, still drifted at decisions 251-450" in detail


async def test_a_drift_whose_retraining_was_refused_asks_again_if_it_persists(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    brief = HealingPolicy(POLICY.retrain_on, 3, cooldown_s=0.3, timeout_s=3600.0)
    healer = Healer(private_nc.jetstream(), fresh_pool, brief)
    await healer.on_event(_event("e1", features=3))
    await fresh_pool.execute(
        "INSERT INTO training_run (run_id, trigger, model_name, candidate_version, "
        "champion_version, decision, reasons, decided_at) "
        "VALUES ('run-1', 'drift', $1, 'v1', NULL, 'refused', $2::jsonb, now())",
        MODEL_CHAMPION,
        json.dumps(["every held-out score is 0.0000: the model learned nothing"]),
    )
    await healer.poll()  # refused: the drift is followed again
    await healer.on_check(_check(301))  # in the cool-down: held back, said once
    await healer.on_check(_check(351))
    await asyncio.sleep(0.35)
    await healer.on_check(_check(401))  # the drift persists: asked again, with a new id

    assert await _steps(fresh_pool) == [
        ("requested", "e1"),
        ("refused", "e1"),
        ("suppressed", "e1"),
        ("requested", "e1"),
    ]
    first, second = await _requests(private_nc)
    assert first.request_id != second.request_id
    assert "window: decisions 401-600" in second.reason


async def test_a_drift_reported_again_keeps_its_wait(
    private_nc: NATS, fresh_pool: asyncpg.Pool
) -> None:
    # A drift that persists for realert_s is reported again; that must not restart the
    # wait, or with slow traffic it would never ask.
    patient = HealingPolicy(POLICY.retrain_on, 3, 0.0, 3600.0, after_decisions=200)
    healer = Healer(private_nc.jetstream(), fresh_pool, patient)
    first = _event("e1", features=3)  # window 51-250
    again = _event("e1-again", features=3)
    again = again.model_copy(
        update={"window": again.window.model_copy(update={"first_seq": 201, "last_seq": 400})}
    )
    await healer.on_event(first)
    await healer.on_check(_check(201))  # ends at 400
    await healer.on_event(again)

    await healer.on_check(_check(251))  # ends at 450: 200 after the first event

    # Asked for under its latest report, on the wait that began with the first.
    assert await _steps(fresh_pool) == [("requested", "e1-again")]
