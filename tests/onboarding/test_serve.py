"""The whole service as ``chainwatch-onboarding`` runs it: trains a model when none is
promoted, answers on NATS and HTTP, swaps in a newly promoted version, stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import free_port
from chainwatch.onboarding.__main__ import serve
from chainwatch.onboarding.pipeline import TrainedVersion, publish_version
from chainwatch.onboarding.settings import OnboardingSettings, TrainingSettings
from chainwatch.shared.onboarding import ONBOARDING_SCORE
from chainwatch.shared.registry import RegistrySettings, current_version, models_kv, open_store
from chainwatch.shared.settings import DatabaseSettings, DataSettings, NatsSettings

READY_TIMEOUT_S = 60.0


@pytest.fixture
async def served(
    nats_settings: NatsSettings,
    database_url: str,
    data_dir: Path,
    tmp_path: Path,
    nc: NATS,
) -> AsyncIterator[tuple[OnboardingSettings, str]]:
    settings = OnboardingSettings(
        model_name="onboarding-serve-test",
        train_if_missing=True,
        health_port=free_port(),
        train=TrainingSettings(folds=3, inner_folds=3),
        registry=RegistrySettings(root=tmp_path / "models"),
        nats=nats_settings,
        database=DatabaseSettings(url=database_url),
        data=DataSettings(data_dir=data_dir),
    )
    kv = await models_kv(nc.jetstream())
    await kv.purge(settings.model_name)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    base = f"http://127.0.0.1:{settings.health_port}"
    try:
        await _until_ready(base, task)
        yield settings, base
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await kv.purge(settings.model_name)


async def _until_ready(base: str, task: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base) as http:
        while True:
            assert not task.done(), f"serve() ended early: {task.exception()!r}"
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready in time"
            await asyncio.sleep(0.05)


async def test_the_service_trains_serves_swaps_and_stops(
    served: tuple[OnboardingSettings, str],
    nc: NATS,
    applicant_json: dict[str, Any],
    trained: TrainedVersion,
) -> None:
    settings, base = served
    first = await current_version(nc.jetstream(), settings.model_name)
    assert first is not None  # trained at start, since none was promoted

    body = json.dumps({"applicant": applicant_json}).encode()
    reply = json.loads((await nc.request(ONBOARDING_SCORE, body, timeout=10)).data)
    assert reply["decision"]["model_version"] == first

    # A newer version promoted while serving is picked up without a restart.
    newer = "20990101T000000Z-newer000"
    card = {**trained.card, "name": settings.model_name, "version": newer}
    model = dataclasses.replace(trained.model, name=settings.model_name, version=newer, card=card)
    swapped = TrainedVersion(model, card, trained.files)
    store = open_store(settings.registry)
    assert await publish_version(nc.jetstream(), store, swapped) is not None

    async with httpx.AsyncClient(base_url=base) as http:
        deadline = time.monotonic() + 10
        while (await http.get("/v1/onboarding/model")).json()["version"] != newer:
            assert time.monotonic() < deadline, "the newer version was not loaded"
            await asyncio.sleep(0.05)
        response = await http.post(
            "/v1/onboarding/score", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    assert response.json()["model_version"] == newer
