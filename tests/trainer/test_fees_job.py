"""The fees_training job in process: the candidate is stored with its card, passes its
blocking gate (it beats mempool.space's method on held-out blocks) and is promoted; the fees
service's loader accepts what it promoted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import dagster as dg
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.fees.card import load_fee_model
from chainwatch.fees.model import MODEL_NAME, TrainConfig
from chainwatch.shared.registry import FilesystemStore, current_version, models_kv
from chainwatch.shared.settings import NatsSettings
from chainwatch.trainer.fees_assets import ASSETS, CHECKS, FeesTraining
from chainwatch.trainer.ledger import NoLedger
from chainwatch.trainer.registry import ModelRegistry

QUICK = TrainConfig(num_rounds=80, early_stopping_rounds=10)


@pytest.fixture
async def clean_pointer(nc: NATS) -> AsyncIterator[None]:
    kv = await models_kv(nc.jetstream())
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await kv.purge(MODEL_NAME)
    yield
    await kv.purge(MODEL_NAME)


async def test_the_job_trains_gates_and_promotes(
    clean_pointer: None, nc: NATS, nats_settings: NatsSettings, data_dir: Path, tmp_path: Path
) -> None:
    if not (data_dir / "fee_estimation").is_dir():
        pytest.skip(f"no fee_estimation folder in {data_dir}")
    store = FilesystemStore(tmp_path / "models")
    resources = {
        "fees": FeesTraining(data_dir, QUICK),
        "registry": ModelRegistry(store, nats_settings),
        "ledger": NoLedger(),
    }
    result = await asyncio.to_thread(
        dg.materialize_to_memory, [*ASSETS, *CHECKS], resources=resources
    )
    assert result.success

    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("fees_promotion_gate", True)]
    version = await current_version(nc.jetstream(), MODEL_NAME)
    assert version is not None
    loaded = await store.get_version(MODEL_NAME, version)
    judged = loaded.card["metrics"]["next_block_test"]
    assert judged["chainwatch"]["in_range"] > judged["mempool.space"]["in_range"]
    assert load_fee_model(loaded).version == version
