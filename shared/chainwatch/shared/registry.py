"""The model registry: versioned artifacts in a store, and the current version of each model.

The contract between the trainer, which writes models, and the scorer, which serves them.

Models
    ``screening-xgb`` (``MODEL_CHAMPION``) decides in the batch tier; ``screening-lgbm``
    (``MODEL_CHALLENGER``) is scored in the shadow and recorded, never deciding.

Artifacts (``ARTIFACT_FILE``)
    XGBoost: ``model.json``, the JSON of ``Booster.save_model``. LightGBM: ``model.txt``,
    the text of ``Booster.model_to_string``. Both predict a probability of illicit activity
    in [0, 1] from the features named by the card, in the card's order.

Store (``ModelStore``: ``FilesystemStore`` or ``S3Store``, chosen by ``RegistrySettings``)
    A version is ``<name>/<version>/<file>`` plus ``<name>/<version>/card.json``, immutable.
    ``put_version(name, version, files, card) -> ModelVersion``,
    ``get_version(name, version) -> LoadedModel(files, card)``,
    ``list_versions(name) -> list[ModelVersion]`` (oldest first). Details in
    ``chainwatch.shared.model_store``.

Card (``card.json``, checked on ``put_version``)
    Every model: ``name``, ``version``, ``framework`` ("xgboost" | "lightgbm"; the learner's
    online model is "river" with ``model.pkl``), ``feature_set_version``, ``feature_names``
    (ordered as the model's columns), ``threshold`` (operating threshold on the predicted
    probability), ``trained_at`` (UTC ISO 8601). A batch model also: ``data_window`` (first
    and last transaction time of its training, validation and held-out windows),
    ``label_sources`` (rows and positives per label source), ``metrics`` (held-out: PR-AUC,
    precision and recall at the threshold, yield at a 1% review budget, Brier score and
    reliability bins) and ``metrics_by_label_source``. The store adds ``registry`` (store
    time, file digests). A scorer must refuse a card whose ``feature_set_version`` differs
    from the features it computes.

Current version (NATS KV bucket ``chainwatch_models``, created when missing)
    key = model name; value = JSON ``{"version", "store", "promoted_at", "run_id"}``, where
    ``store`` is the ``uri`` of the store holding the version. ``promote`` writes it,
    ``current_version`` reads it, ``watch_current`` yields every change, so a scorer loads
    a new version without a restart. Versions are kept; rolling back is promoting an older one.

Nothing here imports a machine-learning library.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.model_store import (
    ARTIFACT_FILE,
    BATCH_CARD_KEYS,
    CARD_FILE,
    REQUIRED_CARD_KEYS,
    ArtifactIntegrityError,
    FilesystemStore,
    LoadedModel,
    ModelStore,
    ModelVersion,
    RegistryError,
    VersionExistsError,
    VersionNotFoundError,
    check_card,
)
from chainwatch.shared.s3_store import S3Store

__all__ = [
    "ARTIFACT_FILE",
    "BATCH_CARD_KEYS",
    "CARD_FILE",
    "MODELS_KV_BUCKET",
    "MODEL_CHALLENGER",
    "MODEL_CHAMPION",
    "REQUIRED_CARD_KEYS",
    "ArtifactIntegrityError",
    "FilesystemStore",
    "LoadedModel",
    "ModelPointer",
    "ModelStore",
    "ModelVersion",
    "RegistryError",
    "RegistrySettings",
    "S3Store",
    "VersionExistsError",
    "VersionNotFoundError",
    "check_card",
    "current_pointer",
    "current_version",
    "models_kv",
    "open_store",
    "promote",
    "watch_current",
]

logger = logging.getLogger(__name__)

MODEL_CHAMPION = "screening-xgb"
MODEL_CHALLENGER = "screening-lgbm"
MODEL_ONLINE = "screening-online"
"""The learner's River model, checkpointed after every batch of verdicts (``model.pkl``)."""

MODELS_KV_BUCKET = "chainwatch_models"
POINTER_HISTORY = 16
"""Past pointer values the KV bucket keeps per model: the promotion history, newest last."""


class RegistrySettings(BaseSettings):
    """Which store holds model artifacts (env prefix ``CHAINWATCH_REGISTRY_``)."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_REGISTRY_", extra="ignore")

    backend: Literal["fs", "s3"] = Field("fs", description="fs: a local folder; s3: a bucket")
    root: Path = Field(Path("var/models"), description="Folder of the fs backend")
    bucket: str | None = Field(None, min_length=3, description="Bucket of the s3 backend")
    endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (R2, MinIO); unset means AWS itself"
    )
    region: str = Field("us-east-1", description="Region name; R2 takes 'auto'")
    access_key_id: SecretStr | None = Field(
        None, description="Unset (with the secret) means the AWS default credential chain"
    )
    secret_access_key: SecretStr | None = None
    create_bucket: bool = Field(False, description="Create the bucket when missing (dev only)")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("CHAINWATCH_REGISTRY_BUCKET is required with backend s3")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither")
        return self


def open_store(settings: RegistrySettings) -> FilesystemStore | S3Store:
    """The store ``settings`` name. Creating an S3 bucket, if asked, is ``ensure_bucket``."""
    if settings.backend == "fs":
        return FilesystemStore(settings.root)
    assert settings.bucket is not None  # checked by the settings validator
    return S3Store(
        settings.bucket,
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        access_key_id=_secret(settings.access_key_id),
        secret_access_key=_secret(settings.secret_access_key),
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class ModelPointer:
    """The value of a model's key in the KV bucket: which version serves, since when, why."""

    version: str
    store: str
    promoted_at: datetime
    run_id: str

    def to_json(self) -> bytes:
        value = asdict(self) | {"promoted_at": self.promoted_at.isoformat()}
        return json.dumps(value, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ModelPointer:
        """Parse a pointer; raises ``ValueError`` (or ``KeyError``) for a malformed value."""
        value = json.loads(data)
        promoted_at = datetime.fromisoformat(value["promoted_at"])
        if promoted_at.tzinfo is None:
            raise ValueError(f"promoted_at {value['promoted_at']!r} has no time zone")
        return cls(str(value["version"]), str(value["store"]), promoted_at, str(value["run_id"]))


async def models_kv(js: JetStreamContext) -> KeyValue:
    """The ``chainwatch_models`` KV bucket, created (keeping ``POINTER_HISTORY``) if missing."""
    try:
        return await js.key_value(MODELS_KV_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        config = KeyValueConfig(
            bucket=MODELS_KV_BUCKET,
            description="Current version of each chainwatch model",
            history=POINTER_HISTORY,
        )
        kv = await js.create_key_value(config)
        logger.info("created KV bucket %s", MODELS_KV_BUCKET)
        return kv


async def promote(
    js: JetStreamContext,
    name: str,
    version: str,
    *,
    store: ModelStore | str,
    run_id: str,
    promoted_at: datetime | None = None,
) -> ModelPointer:
    """Make ``version`` the current version of ``name``; every watcher hears of it.

    ``store`` is the store holding the version (or its ``uri``). The caller has checked the
    version exists and passed its gates; this only moves the pointer.
    """
    pointer = ModelPointer(
        version=version,
        store=store if isinstance(store, str) else store.uri,
        promoted_at=promoted_at or datetime.now(UTC),
        run_id=run_id,
    )
    kv = await models_kv(js)
    revision = await kv.put(name, pointer.to_json())
    logger.info("promoted %s version %s (run %s, revision %d)", name, version, run_id, revision)
    return pointer


async def current_pointer(js: JetStreamContext, name: str) -> ModelPointer | None:
    """The pointer of ``name``, or None when no version was ever promoted (or it was removed)."""
    kv = await models_kv(js)
    try:
        entry = await kv.get(name)
    except nats.js.errors.KeyNotFoundError:
        return None
    return ModelPointer.from_json(entry.value or b"")


async def current_version(js: JetStreamContext, name: str) -> str | None:
    """The version of ``name`` that serves now, or None when there is none."""
    pointer = await current_pointer(js, name)
    return pointer.version if pointer else None


async def watch_current(js: JetStreamContext, name: str) -> AsyncIterator[ModelPointer | None]:
    """Yield the current pointer of ``name`` now (if any) and then on every change.

    None is yielded when the pointer is deleted: no version serves any more. A malformed
    value is logged as an error and skipped, so one bad write cannot stop a scorer's watch.
    The iterator runs until the caller stops iterating (``aclose``), then unsubscribes.
    """
    kv = await models_kv(js)
    watcher = await kv.watch(name)
    try:
        async for entry in watcher:
            if entry is None:  # the marker "initial values delivered"; nothing changed
                continue
            if entry.operation in (KV_DEL, KV_PURGE):
                logger.warning("pointer of %s was removed (revision %d)", name, entry.revision)
                yield None
                continue
            try:
                pointer = ModelPointer.from_json(entry.value or b"")
            except (ValueError, KeyError, TypeError) as exc:
                logger.error(
                    "ignoring malformed pointer of %s at revision %d: %s",
                    name,
                    entry.revision,
                    exc,
                )
                continue
            yield pointer
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
