"""The onboarding_training job in process: the candidate is stored with its card, passes its
blocking gate and is promoted; the onboarding service's loader accepts what it promoted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import dagster as dg
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.onboarding.model import OnboardingModel
from chainwatch.onboarding.settings import OnboardingSettings, TrainingSettings
from chainwatch.shared.registry import FilesystemStore, current_version, models_kv
from chainwatch.shared.settings import DataSettings, NatsSettings
from chainwatch.trainer.ledger import NoLedger
from chainwatch.trainer.onboarding_assets import ASSETS, CHECKS, OnboardingTraining
from chainwatch.trainer.registry import ModelRegistry

MODEL = "onboarding-job-test"


@pytest.fixture
async def clean_pointer(nc: NATS) -> AsyncIterator[None]:
    kv = await models_kv(nc.jetstream())
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await kv.purge(MODEL)
    yield
    await kv.purge(MODEL)


async def test_the_job_trains_gates_and_promotes(
    clean_pointer: None, nc: NATS, nats_settings: NatsSettings, data_dir: Path, tmp_path: Path
) -> None:
    if not (data_dir / "onboarding_risk").is_dir():
        pytest.skip(f"no onboarding_risk folder in {data_dir}")
    settings = OnboardingSettings(
        model_name=MODEL,
        train=TrainingSettings(folds=3, inner_folds=3),
        data=DataSettings(data_dir=data_dir),
    )
    store = FilesystemStore(tmp_path / "models")
    resources = {
        "onboarding": OnboardingTraining(settings),
        "registry": ModelRegistry(store, nats_settings),
        "ledger": NoLedger(),
    }
    result = await _materialize(resources)
    assert result.success

    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("onboarding_promotion_gate", True)]
    version = await current_version(nc.jetstream(), MODEL)
    assert version is not None
    loaded = await store.get_version(MODEL, version)
    assert loaded.card["metrics"]["folds"] == 3
    assert OnboardingModel.from_loaded(loaded).version == version


async def _materialize(resources: dict[str, object]) -> dg.ExecuteInProcessResult:
    # The registry resource runs its own event loop; keep it off the test's.
    return await asyncio.to_thread(
        dg.materialize_to_memory, [*ASSETS, *CHECKS], resources=resources
    )
