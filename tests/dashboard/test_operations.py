"""The models page: promotions from the KV bucket, versions and metrics from the trainer."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from chainwatch.dashboard.operations import model_statuses, scalar_metrics
from chainwatch.devstack.servers import NatsServer
from chainwatch.shared import bus
from chainwatch.shared.registry import MODEL_CHAMPION, RegistrySettings, promote
from chainwatch.shared.settings import NatsSettings


@pytest.fixture
async def own_nc(tmp_path: Path) -> AsyncIterator[NATS]:
    """A NATS of this test's own: promoting here reaches no scorer of another test."""
    server = NatsServer(tmp_path / "nats").start()
    client = await bus.connect(NatsSettings(url=server.url, connect_attempts=3), "test-models")
    try:
        yield client
    finally:
        await client.drain()
        server.stop()


async def test_models_show_the_serving_version_its_history_and_metrics(
    own_nc: NATS, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    js = own_nc.jetstream()
    first = datetime.now(UTC) - timedelta(days=1)
    await promote(js, MODEL_CHAMPION, "v1", store="file:///m", run_id="r1", promoted_at=first)
    await promote(js, MODEL_CHAMPION, "v2", store="file:///m", run_id="r2")
    version = f"test-{secrets.token_hex(3)}"
    has_table = await pool.fetchval("SELECT to_regclass('model_version') IS NOT NULL")
    if has_table:
        await pool.execute(
            """
            INSERT INTO model_version (name, version, framework, feature_set_version, threshold,
                trained_at, run_id, stores, metrics, card)
            VALUES ($1, $2, 'xgboost', 'tx-features-1', 0.5, now(), 'r3', ARRAY['file:///m'],
                $3, '{}')
            """,
            MODEL_CHAMPION,
            version,
            json.dumps({"pr_auc": 0.81, "reliability": [[0.1, 0.1]]}),
        )

    statuses = await model_statuses(pool, js, RegistrySettings(root=tmp_path / "none"))

    champion = next(s for s in statuses if s.name == MODEL_CHAMPION)
    assert champion.current is not None and champion.current.version == "v2"
    assert [p.version for p in champion.promotions] == ["v2", "v1"], "newest first"
    if has_table:
        row = next(v for v in champion.versions if v.version == version)
        assert row.metrics == {"pr_auc": 0.81}


def test_only_scalar_metrics_are_shown() -> None:
    assert scalar_metrics({"a": 1, "b": 0.5, "c": [1], "d": True, "e": "x"}) == {"a": 1.0, "b": 0.5}
