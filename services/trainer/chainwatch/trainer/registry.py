"""The trainer's side of the model registry: store versions, find the champion, promote.

``ModelRegistry`` writes every version to its primary store and to each mirror (e.g. S3
as primary, a local folder as mirror), reads what serves now from the NATS KV pointer, and
moves the pointer; with ``ensure_bucket`` it first creates a missing S3 bucket (development
only). Its methods are synchronous, for Dagster assets: each opens its own NATS connection
and event loop and closes them before returning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from nats.aio.client import Client as NATS

from chainwatch.shared import bus
from chainwatch.shared.errors import TransientError
from chainwatch.shared.registry import (
    LoadedModel,
    ModelPointer,
    ModelStore,
    ModelVersion,
    S3Store,
    current_pointer,
    promote,
)
from chainwatch.shared.settings import NatsSettings

logger = logging.getLogger(__name__)


async def connect_within(settings: NatsSettings, name: str) -> NATS:
    """``bus.connect``, given up with ``TransientError`` after its attempts' worth of time.

    The deadline matters in a batch job and a sensor tick: nats-py's own reconnect loop
    would otherwise keep an unreachable server's caller waiting for ever.
    """
    deadline_s = settings.connect_timeout_s * settings.connect_attempts
    try:
        return await asyncio.wait_for(bus.connect(settings, name=name), deadline_s)
    except TimeoutError:
        raise TransientError(f"nats unreachable at {settings.url} for {deadline_s:.0f}s") from None


class ModelRegistry:
    def __init__(
        self,
        store: ModelStore,
        nats: NatsSettings,
        mirrors: Sequence[ModelStore] = (),
        *,
        ensure_bucket: bool = False,
    ) -> None:
        self.store = store
        self.mirrors = tuple(mirrors)
        self.nats = nats
        self.ensure_bucket = ensure_bucket

    def serving(self, name: str) -> tuple[ModelPointer, LoadedModel] | None:
        """The version of ``name`` that serves now and its files, or None when none does.

        Raises ``VersionNotFoundError`` when the pointer names a version the primary store
        does not hold: the gate cannot judge against a champion it cannot load.
        """
        return asyncio.run(self._serving(name))

    def put(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> list[ModelVersion]:
        """Store the version in the primary store, then in every mirror."""
        return asyncio.run(self._put(name, version, files, card))

    def promote(self, name: str, version: str, run_id: str) -> ModelPointer:
        """Point ``name`` at ``version`` of the primary store; scorers load it at once."""
        return asyncio.run(self._promote(name, version, run_id))

    async def _connect(self) -> NATS:
        return await connect_within(self.nats, "chainwatch-trainer")

    async def _serving(self, name: str) -> tuple[ModelPointer, LoadedModel] | None:
        nc = await self._connect()
        try:
            pointer = await current_pointer(nc.jetstream(), name)
        finally:
            await nc.drain()
        if pointer is None:
            return None
        if pointer.store != self.store.uri:
            logger.warning(
                "%s %s was promoted from %s; reading it from %s",
                name,
                pointer.version,
                pointer.store,
                self.store.uri,
            )
        return pointer, await self.store.get_version(name, pointer.version)

    async def _put(
        self, name: str, version: str, files: Mapping[str, bytes], card: Mapping[str, Any]
    ) -> list[ModelVersion]:
        if self.ensure_bucket and isinstance(self.store, S3Store):
            await self.store.ensure_bucket()
        stored = [await self.store.put_version(name, version, files, card)]
        for mirror in self.mirrors:
            stored.append(await mirror.put_version(name, version, files, card))
        logger.info("stored %s %s in %s", name, version, ", ".join(v.uri for v in stored))
        return stored

    async def _promote(self, name: str, version: str, run_id: str) -> ModelPointer:
        nc = await self._connect()
        try:
            return await promote(nc.jetstream(), name, version, store=self.store, run_id=run_id)
        finally:
            await nc.drain()
