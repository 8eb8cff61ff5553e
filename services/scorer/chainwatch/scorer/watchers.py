"""Hot swap: follow each model's current-version pointer and load what it names.

A watcher loads a newly promoted version off the event loop, then replaces the cascade's
``ServingModels`` in one assignment between batches, so no message is dropped or scored by
half a model. A version that cannot be loaded or is refused leaves the serving model in
place and is logged once; a deleted pointer unloads the model (the cascade falls through).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from nats.js import JetStreamContext

from chainwatch.scorer import metrics
from chainwatch.scorer.cascade import Cascade, ServingModels
from chainwatch.scorer.models import (
    ModelRefusedError,
    ServedModel,
    load_batch_model,
    load_online_model,
    smoke_test,
)
from chainwatch.shared.errors import ChainwatchError
from chainwatch.shared.model_store import LoadedModel, ModelStore
from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODEL_ONLINE,
    watch_current,
)

logger = logging.getLogger(__name__)

Loader = Callable[[str, str, LoadedModel], ServedModel]

SLOTS: dict[str, tuple[str, Loader, str]] = {
    MODEL_CHAMPION: ("champion", load_batch_model, "batch"),
    MODEL_CHALLENGER: ("challenger", load_batch_model, "batch_challenger"),
    MODEL_ONLINE: ("online", load_online_model, "online"),
}
"""Model name → (slot in ServingModels, loader, tier label in metrics)."""


async def watch_model(js: JetStreamContext, store: ModelStore, cascade: Cascade, name: str) -> None:
    slot, loader, tier = SLOTS[name]
    async for pointer in watch_current(js, name):
        current: ServedModel | None = getattr(cascade.models, slot)
        if pointer is None:
            _swap(cascade, slot, None, tier, current)
            logger.warning("%s unloaded: its pointer was removed", name)
            continue
        if current is not None and current.version == pointer.version:
            continue
        try:
            loaded = await store.get_version(name, pointer.version)
            model = await asyncio.to_thread(_load, loader, name, pointer.version, loaded)
        except ModelRefusedError as exc:
            logger.error("%s; still serving %s", exc, current.version if current else "nothing")
            continue
        except (ChainwatchError, OSError) as exc:
            logger.error("cannot load %s %s: %s", name, pointer.version, exc)
            continue
        except Exception:  # a bad artifact must never end the watch: the next version may be fine
            logger.exception("loading %s %s failed; still serving the last", name, pointer.version)
            continue
        _swap(cascade, slot, model, tier, current)
        logger.info("now serving %s %s (promoted %s)", name, model.version, pointer.promoted_at)


def _load(loader: Loader, name: str, version: str, loaded: LoadedModel) -> ServedModel:
    return smoke_test(loader(name, version, loaded))


def _swap(
    cascade: Cascade, slot: str, model: ServedModel | None, tier: str, old: ServedModel | None
) -> None:
    cascade.models = dataclasses.replace(cascade.models, **{slot: model})
    if old is not None:
        metrics.MODEL_VERSION.labels(tier, old.version).set(0)
    if model is not None:
        metrics.MODEL_VERSION.labels(tier, model.version).set(1)


def start_watchers(
    js: JetStreamContext, store: ModelStore, cascade: Cascade
) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(watch_model(js, store, cascade, name), name=f"watch-{name}")
        for name in SLOTS
    ]


__all__ = ["ServingModels", "start_watchers", "watch_model"]
