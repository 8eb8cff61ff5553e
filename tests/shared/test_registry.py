"""The model registry: stores round-trip versions; the KV pointer promotes and is watched.

The S3 store talks to moto's S3 server on a free loopback port; the KV tests use the real
NATS server of the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODELS_KV_BUCKET,
    ArtifactIntegrityError,
    FilesystemStore,
    ModelPointer,
    ModelStore,
    RegistryError,
    RegistrySettings,
    S3Store,
    VersionExistsError,
    VersionNotFoundError,
    current_pointer,
    current_version,
    models_kv,
    open_store,
    promote,
    watch_current,
)


def card(name: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "framework": "xgboost",
        "feature_set_version": "test-1",
        "feature_names": ["input_count", "output_count"],
        "threshold": 0.42,
        "trained_at": datetime(2025, 5, 1, tzinfo=UTC).isoformat(),
        "data_window": {"train": ["2013-12-30T00:00:00+00:00", "2019-05-02T00:00:00+00:00"]},
        "label_sources": {"direct_exposure": 4},
        "metrics": {"pr_auc": 0.5},
        "metrics_by_label_source": {},
    }


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(endpoint_url: str) -> RegistrySettings:
    return RegistrySettings(
        backend="s3",
        bucket="chainwatch-test-models",
        endpoint_url=endpoint_url,
        access_key_id="testing",
        secret_access_key="testing",
    )


@pytest.fixture(params=["fs", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> ModelStore:
    if request.param == "fs":
        return FilesystemStore(tmp_path / "models")
    s3 = open_store(s3_settings(request.getfixturevalue("s3_endpoint")))
    assert isinstance(s3, S3Store)
    await s3.ensure_bucket()
    await s3.ensure_bucket()  # a second call finds the bucket and leaves it be
    return s3


async def test_round_trip(store: ModelStore) -> None:
    version = "20250501T120000Z-a1b2c3"
    files = {"model.json": b'{"learner": {}}', "extra.bin": bytes(range(256))}

    stored = await store.put_version(MODEL_CHAMPION, version, files, card(MODEL_CHAMPION, version))
    loaded = await store.get_version(MODEL_CHAMPION, version)

    assert stored.files == ("extra.bin", "model.json")
    assert stored.uri.endswith(f"/{MODEL_CHAMPION}/{version}/")
    assert dict(loaded.files) == files
    assert loaded.card["threshold"] == 0.42
    assert loaded.card["registry"]["files"]["model.json"]["size_bytes"] == len(files["model.json"])
    assert loaded.version == stored
    assert stored.stored_at.tzinfo is not None


async def test_versions_are_immutable_and_listed_oldest_first(store: ModelStore) -> None:
    name = MODEL_CHALLENGER
    for version in ("v1", "v2"):
        await store.put_version(name, version, {"model.txt": version.encode()}, card(name, version))

    with pytest.raises(VersionExistsError) as refused:
        await store.put_version(name, "v1", {"model.txt": b"other"}, card(name, "v1"))
    versions = await store.list_versions(name)

    assert refused.value.version == "v1"
    assert [v.version for v in versions] == ["v1", "v2"]
    assert (await store.get_version(name, "v1")).files["model.txt"] == b"v1"
    assert await store.list_versions("never-trained") == []


async def test_missing_version_and_bad_card_are_refused(store: ModelStore) -> None:
    with pytest.raises(VersionNotFoundError):
        await store.get_version(MODEL_CHAMPION, "absent")

    incomplete = card(MODEL_CHAMPION, "bad") | {"version": "other"}
    with pytest.raises(RegistryError, match="card is for"):
        await store.put_version(MODEL_CHAMPION, "bad", {"model.json": b"{}"}, incomplete)
    with pytest.raises(RegistryError, match="not allowed"):
        await store.put_version(MODEL_CHAMPION, "bad", {"../x": b""}, card(MODEL_CHAMPION, "bad"))


async def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    await store.put_version(MODEL_CHAMPION, "v1", {"model.json": b"{}"}, card(MODEL_CHAMPION, "v1"))
    (tmp_path / MODEL_CHAMPION / "v1" / "model.json").write_bytes(b'{"evil": 1}')

    with pytest.raises(ArtifactIntegrityError) as refused:
        await store.get_version(MODEL_CHAMPION, "v1")

    assert refused.value.file == "model.json"


def test_settings_refuse_half_configured_s3() -> None:
    with pytest.raises(ValueError, match="BUCKET is required"):
        RegistrySettings(backend="s3")
    with pytest.raises(ValueError, match="or neither"):
        RegistrySettings(backend="s3", bucket="abc", access_key_id="only-one")
    assert isinstance(open_store(RegistrySettings()), FilesystemStore)


@pytest.fixture
async def clean_kv(nc: NATS) -> AsyncIterator[NATS]:
    js = nc.jetstream()
    await models_kv(js)
    yield nc
    await js.delete_key_value(MODELS_KV_BUCKET)


async def test_promote_moves_the_pointer(clean_kv: NATS) -> None:
    js = clean_kv.jetstream()
    assert await current_version(js, MODEL_CHAMPION) is None

    at = datetime(2025, 5, 1, 12, tzinfo=UTC)
    first = await promote(
        js, MODEL_CHAMPION, "v1", store="s3://models", run_id="r1", promoted_at=at
    )
    await promote(js, MODEL_CHAMPION, "v2", store=FilesystemStore(Path("var/models")), run_id="r2")

    assert first == ModelPointer("v1", "s3://models", at, "r1")
    assert await current_version(js, MODEL_CHAMPION) == "v2"
    pointer = await current_pointer(js, MODEL_CHAMPION)
    assert pointer is not None and pointer.store.startswith("file://") and pointer.run_id == "r2"
    assert await current_version(js, MODEL_CHALLENGER) is None


async def test_watch_sees_current_then_every_change(clean_kv: NATS) -> None:
    js = clean_kv.jetstream()
    await promote(js, MODEL_CHAMPION, "v1", store="s3://models", run_id="r1")
    seen: list[str | None] = []
    changed = asyncio.Queue[None]()

    async def watch() -> None:
        async for pointer in watch_current(js, MODEL_CHAMPION):
            seen.append(pointer.version if pointer else None)
            changed.put_nowait(None)
            if len(seen) == 4:
                return

    task = asyncio.create_task(watch())
    await asyncio.wait_for(changed.get(), 5)  # the watch is up and has seen v1
    kv = await models_kv(js)
    await kv.put(MODEL_CHALLENGER, b"not for this watcher")
    await promote(js, MODEL_CHAMPION, "v2", store="s3://models", run_id="r2")
    await asyncio.wait_for(changed.get(), 5)
    await kv.put(MODEL_CHAMPION, b"{not json")  # logged and skipped
    await kv.delete(MODEL_CHAMPION)
    await promote(js, MODEL_CHAMPION, "v3", store="s3://models", run_id="r3")
    await asyncio.wait_for(task, 5)

    assert seen == ["v1", "v2", None, "v3"]
