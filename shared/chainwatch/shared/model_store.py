"""Where model versions live: a version's artifact files and its card, immutable once written.

A version is the set of objects ``<name>/<version>/<file>`` plus ``<name>/<version>/card.json``.
``card.json`` is written last, so a version without it is incomplete and invisible: a
crashed upload never looks like a model. The stored card is the card given to
``put_version`` with one key added, ``registry``::

    {"stored_at": "2025-05-01T12:00:00+00:00",
     "files": {"model.json": {"sha256": "…", "size_bytes": 123456}}}

and ``get_version`` checks every file against its digest before handing it out.

Two stores: ``FilesystemStore`` here (the embedded default; a version is staged in a hidden
folder and renamed into place) and ``S3Store`` in ``chainwatch.shared.s3_store`` (any
S3-compatible service, by endpoint: AWS, Cloudflare R2, MinIO; through aioboto3, imported
only when an S3 store is used).

Errors, all ``RegistryError``, itself a ``ChainwatchError``::

    RegistryError
    ├── VersionExistsError      a version is immutable: it was written before
    ├── VersionNotFoundError    no complete version of that name and version
    └── ArtifactIntegrityError  a stored file does not match the digest in its card
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from chainwatch.shared.errors import ChainwatchError

CARD_FILE = "card.json"

ARTIFACT_FILE: dict[str, str] = {
    "xgboost": "model.json",
    "lightgbm": "model.txt",
    "river": "model.pkl",
}
"""The artifact file of each framework's model."""

REQUIRED_CARD_KEYS = (
    "name",
    "version",
    "framework",
    "feature_set_version",
    "feature_names",
    "threshold",
    "trained_at",
)
"""What every card must say, so that a scorer can serve the model."""

BATCH_CARD_KEYS = (
    "data_window",
    "label_sources",
    "metrics",
    "metrics_by_label_source",
)
"""What a batch model's card (xgboost, lightgbm) must also say: how it was judged."""

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class RegistryError(ChainwatchError):
    """A model version could not be stored or loaded as asked."""

    def __init__(self, name: str, version: str, reason: str) -> None:
        super().__init__(f"model {name} version {version}: {reason}")
        self.name = name
        self.version = version
        self.reason = reason


class VersionExistsError(RegistryError):
    """``put_version`` of a version that is already stored; versions are never overwritten."""


class VersionNotFoundError(RegistryError):
    """No complete version (one with its ``card.json``) of that name and version."""


class ArtifactIntegrityError(RegistryError):
    """A stored file's SHA-256 differs from the one recorded in its card."""

    def __init__(self, name: str, version: str, file: str, expected: str, actual: str) -> None:
        super().__init__(name, version, f"{file} has sha256 {actual}, card says {expected}")
        self.file = file
        self.expected_sha256 = expected
        self.actual_sha256 = actual


@dataclass(frozen=True)
class ModelVersion:
    """A stored version: where it is, which artifact files it has, when it was stored (UTC)."""

    name: str
    version: str
    uri: str
    files: tuple[str, ...]
    stored_at: datetime


@dataclass(frozen=True)
class LoadedModel:
    """A version's artifact bytes by file name, and its card as stored (with ``registry``)."""

    version: ModelVersion
    files: Mapping[str, bytes]
    card: Mapping[str, Any]


class ModelStore(Protocol):
    """Versioned, immutable model artifacts. Implementations must be safe to share."""

    @property
    def uri(self) -> str:
        """Where this store keeps its versions, e.g. ``file:///srv/models`` or ``s3://models``."""
        ...

    async def put_version(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> ModelVersion: ...

    async def get_version(self, name: str, version: str) -> LoadedModel: ...

    async def list_versions(self, name: str) -> list[ModelVersion]: ...


def check_name(name: str) -> None:
    """Refuse a model name that is not lower-case letters, digits and dashes."""
    if not _NAME_RE.fullmatch(name):
        raise RegistryError(name, "-", "model name must match [a-z0-9][a-z0-9-]*")


def check_names(name: str, version: str, files: Mapping[str, bytes] | None = None) -> None:
    """Refuse names that could escape their folder or collide with ``card.json``."""
    check_name(name)
    if not _PART_RE.fullmatch(version):
        raise RegistryError(name, version, "version must match [A-Za-z0-9][A-Za-z0-9._-]*")
    for file in files or {}:
        if file == CARD_FILE or not _PART_RE.fullmatch(file):
            raise RegistryError(name, version, f"artifact file name {file!r} is not allowed")
    if files is not None and not files:
        raise RegistryError(name, version, "a version needs at least one artifact file")


def check_card(name: str, version: str, card: Mapping[str, Any]) -> None:
    """Raise ``RegistryError`` unless ``card`` has the required keys and names this version."""
    required: tuple[str, ...] = REQUIRED_CARD_KEYS
    if card.get("framework") in ("xgboost", "lightgbm"):
        required += BATCH_CARD_KEYS
    missing = [key for key in required if key not in card]
    if missing:
        raise RegistryError(name, version, f"card lacks {', '.join(missing)}")
    if card["name"] != name or card["version"] != version:
        raise RegistryError(name, version, f"card is for {card['name']} {card['version']}")
    if card["framework"] not in ARTIFACT_FILE:
        raise RegistryError(name, version, f"unknown framework {card['framework']!r}")


def stored_card(
    card: Mapping[str, Any], files: Mapping[str, bytes], stored_at: datetime
) -> dict[str, Any]:
    """The card as written: ``card`` plus the ``registry`` key with digests and store time."""
    digests = {
        file: {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
        for file, data in sorted(files.items())
    }
    return {**card, "registry": {"stored_at": stored_at.isoformat(), "files": digests}}


def verify_files(
    name: str, version: str, card: Mapping[str, Any], files: Mapping[str, bytes]
) -> None:
    """Raise ``ArtifactIntegrityError`` unless every file matches its digest in ``card``."""
    for file, meta in card["registry"]["files"].items():
        actual = hashlib.sha256(files[file]).hexdigest()
        if actual != meta["sha256"]:
            raise ArtifactIntegrityError(name, version, file, meta["sha256"], actual)


def version_of_card(name: str, version: str, uri: str, card: Mapping[str, Any]) -> ModelVersion:
    """The ``ModelVersion`` a stored card describes (files and store time from ``registry``)."""
    registry = card["registry"]
    return ModelVersion(
        name=name,
        version=version,
        uri=uri,
        files=tuple(sorted(registry["files"])),
        stored_at=datetime.fromisoformat(registry["stored_at"]),
    )


def by_stored_at(version: ModelVersion) -> tuple[datetime, str]:
    """Sort key of ``list_versions``: oldest first."""
    return version.stored_at, version.version


class FilesystemStore:
    """Versions as folders ``<root>/<name>/<version>/``; the embedded default store.

    A version is written to a hidden staging folder and renamed into place, so readers see
    all of it or none of it, and two writers of one version cannot both succeed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def uri(self) -> str:
        return self.root.resolve().as_uri()

    async def put_version(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> ModelVersion:
        check_names(name, version, files)
        check_card(name, version, card)
        content = stored_card(card, files, datetime.now(UTC))
        await asyncio.to_thread(self._write, name, version, files, content)
        return version_of_card(name, version, self._version_uri(name, version), content)

    async def get_version(self, name: str, version: str) -> LoadedModel:
        check_names(name, version)
        card, files = await asyncio.to_thread(self._read, name, version)
        verify_files(name, version, card, files)
        model_version = version_of_card(name, version, self._version_uri(name, version), card)
        return LoadedModel(version=model_version, files=files, card=card)

    async def list_versions(self, name: str) -> list[ModelVersion]:
        check_name(name)
        cards = await asyncio.to_thread(self._cards, name)
        found = [version_of_card(name, v, self._version_uri(name, v), c) for v, c in cards.items()]
        return sorted(found, key=by_stored_at)

    def _version_uri(self, name: str, version: str) -> str:
        return f"{self.uri}/{name}/{version}/"

    def _write(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> None:
        target = self.root / name / version
        if target.exists():
            raise VersionExistsError(name, version, f"already stored at {target}")
        staging = self.root / name / f".{version}.{secrets.token_hex(4)}.partial"
        staging.mkdir(parents=True)
        try:
            for file, data in files.items():
                (staging / file).write_bytes(data)
            (staging / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True))
            try:
                os.rename(staging, target)
            except OSError as exc:
                raise VersionExistsError(name, version, f"already stored at {target}") from exc
        finally:
            if staging.exists():
                shutil.rmtree(staging)

    def _read(self, name: str, version: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        folder = self.root / name / version
        try:
            card: dict[str, Any] = json.loads((folder / CARD_FILE).read_text())
        except FileNotFoundError:
            raise VersionNotFoundError(name, version, f"no {CARD_FILE} in {folder}") from None
        files = {file: (folder / file).read_bytes() for file in card["registry"]["files"]}
        return card, files

    def _cards(self, name: str) -> dict[str, dict[str, Any]]:
        folder = self.root / name
        if not folder.is_dir():
            return {}
        return {
            entry.name: json.loads((entry / CARD_FILE).read_text())
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and (entry / CARD_FILE).is_file()
        }
