"""``S3Store``: model versions in a bucket of any S3-compatible service, through aioboto3.

The layout and guarantees are the ``ModelStore``'s (``chainwatch.shared.model_store``):
objects ``<name>/<version>/<file>``, ``card.json`` written last and only if absent, digests
checked on reading. aioboto3 is imported when a store is first used, not with this module.
Connection failures of the S3 client are raised as ``TransientError`` naming the store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chainwatch.shared.errors import TransientError
from chainwatch.shared.model_store import (
    CARD_FILE,
    LoadedModel,
    ModelVersion,
    VersionExistsError,
    VersionNotFoundError,
    by_stored_at,
    check_card,
    check_name,
    check_names,
    stored_card,
    verify_files,
    version_of_card,
)


class S3Store:
    """Versions as objects ``<name>/<version>/<file>`` in one bucket of an S3-compatible service.

    ``endpoint_url`` selects the service (None means AWS itself); credentials left as None
    fall back to the AWS default chain (environment, profile, instance role). Path-style
    addressing is used whenever an endpoint is given, as MinIO and most emulators need.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    def _client(self) -> Any:
        import aioboto3
        from botocore.config import Config

        addressing = "path" if self.endpoint_url else "auto"
        return aioboto3.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            config=Config(s3={"addressing_style": addressing}, retries={"mode": "standard"}),
        )

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (development and tests; needs the right)."""
        from botocore.exceptions import ClientError

        async with _transient(self), self._client() as s3:
            try:
                await s3.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                await s3.create_bucket(Bucket=self.bucket)

    async def put_version(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> ModelVersion:
        check_names(name, version, files)
        check_card(name, version, card)
        content = stored_card(card, files, datetime.now(UTC))
        prefix = f"{name}/{version}/"
        async with _transient(self), self._client() as s3:
            if await self._exists(s3, prefix + CARD_FILE):
                raise VersionExistsError(name, version, f"already stored at {self.uri}/{prefix}")
            for file, data in files.items():
                await s3.put_object(Bucket=self.bucket, Key=prefix + file, Body=data)
            body = json.dumps(content, indent=2, sort_keys=True).encode()
            await s3.put_object(
                Bucket=self.bucket, Key=prefix + CARD_FILE, Body=body, IfNoneMatch="*"
            )
        return version_of_card(name, version, f"{self.uri}/{prefix}", content)

    async def get_version(self, name: str, version: str) -> LoadedModel:
        check_names(name, version)
        prefix = f"{name}/{version}/"
        async with _transient(self), self._client() as s3:
            card_bytes = await self._get(s3, prefix + CARD_FILE)
            if card_bytes is None:
                raise VersionNotFoundError(name, version, f"no {CARD_FILE} at {self.uri}/{prefix}")
            card = json.loads(card_bytes)
            files: dict[str, bytes] = {}
            for file in card["registry"]["files"]:
                data = await self._get(s3, prefix + file)
                if data is None:
                    raise VersionNotFoundError(name, version, f"{file} missing at {self.uri}")
                files[file] = data
        verify_files(name, version, card, files)
        return LoadedModel(
            version_of_card(name, version, f"{self.uri}/{prefix}", card), files, card
        )

    async def list_versions(self, name: str) -> list[ModelVersion]:
        check_name(name)
        async with _transient(self), self._client() as s3:
            versions: list[str] = []
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{name}/"):
                for item in page.get("Contents", []):
                    _, version, file = item["Key"].split("/", 2)
                    if file == CARD_FILE:
                        versions.append(version)
            cards = await asyncio.gather(
                *(self._get(s3, f"{name}/{version}/{CARD_FILE}") for version in versions)
            )
        found = [
            version_of_card(name, version, f"{self.uri}/{name}/{version}/", json.loads(card))
            for version, card in zip(versions, cards, strict=True)
            if card is not None
        ]
        return sorted(found, key=by_stored_at)

    async def _exists(self, s3: Any, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    async def _get(self, s3: Any, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        from botocore.exceptions import ClientError

        try:
            response = await s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        async with response["Body"] as stream:
            data: bytes = await stream.read()
        return data


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _transient:
    """Turn the S3 client's connection failures into ``TransientError`` naming the store."""

    def __init__(self, store: S3Store) -> None:
        self.store = store

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: Any, tb: Any) -> None:
        from botocore.exceptions import ConnectionError as BotoConnectionError

        if exc is not None and isinstance(exc, BotoConnectionError | OSError):
            raise TransientError(f"{self.store.uri} at {self.store.endpoint_url}: {exc}") from exc
