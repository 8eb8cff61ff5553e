"""The drift service in-process: verdicts in, a performance drift event stored and published."""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from nats.aio.client import Client as NATS

from chainwatch.drift.service import DriftService, tier_score
from chainwatch.drift.settings import DriftSettings
from chainwatch.shared import bus
from chainwatch.shared.drift import DRIFT_DETECTED, DRIFT_STREAM, DriftDetected
from chainwatch.shared.registry import FilesystemStore
from chainwatch.shared.schemas import RiskBand, Tier
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict, Verdict


def _verdict(i: int, label: int, score: float) -> ReviewVerdict:
    return ReviewVerdict(
        txid=hashlib.sha256(f"tx{i}".encode()).hexdigest(),
        verdict=Verdict.TRUE_POSITIVE if label else Verdict.FALSE_POSITIVE,
        label=label,
        reason_code="other",
        analyst="ana",
        analyst_role="analyst",
        decided_at=datetime.now(UTC),
        risk_score=score,
        band=RiskBand.HIGH,
        deciding_tier=Tier.BATCH,
        model_versions={"batch": "v1"},
    )


def test_tier_score_takes_the_champion_not_the_shadow_challenger() -> None:
    verdict = _verdict(1, 1, 0.7)
    tiers = [
        {"tier": "heuristic", "risk_score": 0.2, "model_version": None},
        {"tier": "online", "risk_score": 0.4, "model_version": None},
        {"tier": "batch", "risk_score": 0.1, "model_version": "lgbm-3"},
        {"tier": "batch", "risk_score": 0.9, "model_version": "v1"},
    ]

    assert tier_score(tiers, Tier.BATCH, verdict) == 0.9
    assert tier_score(tiers, Tier.ONLINE, verdict) is None  # no online model then
    assert tier_score(None, Tier.BATCH, verdict) == 0.7  # no audit row: the decision's own
    assert tier_score(None, Tier.ONLINE, verdict) is None


async def test_batch_errors_rising_on_verdicts_make_a_stored_published_event(
    private_nc: NATS, private_nats: object, fresh_database_url: str, tmp_path: Path
) -> None:
    js = private_nc.jetstream()
    await bus.ensure_streams(js, [REVIEW_STREAM, DRIFT_STREAM])
    rng = random.Random(1)
    for i in range(400):
        label = rng.random() < 0.5
        right = 0.9 if label else 0.1
        score = right if i < 250 else 1.0 - right  # the batch model turns wrong
        verdict = _verdict(i, int(label), score)
        await bus.publish(js, REVIEW_VERDICT, verdict, msg_id=verdict.verdict_id)

    settings = DriftSettings(
        nats={"url": private_nats.url},  # type: ignore[attr-defined]
        database={"url": fresh_database_url},
        retrain_on=("feature",),
        health_port=0,
    )
    pool = await asyncpg.create_pool(fresh_database_url)
    service = DriftService(settings, js, pool, FilesystemStore(tmp_path / "models"))
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        for _ in range(300):
            if await pool.fetchval("SELECT count(*) FROM drift_event"):
                break
            await asyncio.sleep(0.1)
        row = await pool.fetchrow("SELECT * FROM drift_event")
        check = await pool.fetchrow("SELECT * FROM drift_check WHERE kind = 'performance'")
        sub = await js.pull_subscribe(DRIFT_DETECTED, stream=DRIFT_STREAM.name)
        [msg] = await sub.fetch(1, timeout=5)
        published = DriftDetected.model_validate_json(msg.data)
    finally:
        stop.set()
        await running
        await pool.close()

    assert row["kind"] == "performance" and row["tier"] == "batch"
    assert row["subjects"] == ["batch_error"] and not row["retrain"]
    assert row["first_seq"] > 200 and row["last_seq"] <= 400
    assert check is not None and check["drifted"]
    assert published.event_id == row["event_id"] and published.tier == Tier.BATCH
    finding = published.findings[0]
    assert finding.reference_value is not None and finding.reference_value < 0.2
    assert finding.window_value is not None and finding.window_value > 0.5
