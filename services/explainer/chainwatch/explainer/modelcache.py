"""The models that made decisions, loaded from the registry by the version each decision names.

A decision records the version of every model that scored it (``model_versions``); the
explainer loads exactly that version, with the scorer's own loaders, so the model explained
is the model that decided, with the same columns in the same order, even after a newer one
was promoted. Versions are immutable, so a loaded version (or the reason it cannot be
loaded) is kept; the least recently used is dropped when more than ``size`` are held.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from chainwatch.explainer.errors import AttributionUnavailableError
from chainwatch.scorer.models import (
    ModelRefusedError,
    ServedModel,
    load_batch_model,
    load_online_model,
)
from chainwatch.shared.model_store import ModelStore, RegistryError
from chainwatch.shared.registry import MODEL_ONLINE

logger = logging.getLogger(__name__)

Outcome = ServedModel | AttributionUnavailableError


class ModelCache:
    def __init__(self, store: ModelStore, size: int = 4) -> None:
        self.store = store
        self.size = size
        self._held: OrderedDict[tuple[str, str], Outcome] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def get(self, name: str, version: str) -> ServedModel:
        """The model ``name`` at ``version``.

        Raises ``AttributionUnavailableError`` when the version is not stored, fails its
        digest check or is refused (another feature set); a store that cannot be reached
        raises ``TransientError``, so the batch is tried again later.
        """
        key = (name, version)
        async with self._locks.setdefault(key, asyncio.Lock()):
            outcome = self._held.get(key)
            if outcome is None:
                outcome = await self._load(name, version)
                self._held[key] = outcome
                while len(self._held) > self.size:
                    self._held.popitem(last=False)
            self._held.move_to_end(key)
        if isinstance(outcome, AttributionUnavailableError):
            raise outcome
        return outcome

    async def _load(self, name: str, version: str) -> Outcome:
        loader = load_online_model if name == MODEL_ONLINE else load_batch_model
        try:
            loaded = await self.store.get_version(name, version)
            model = await asyncio.to_thread(loader, name, version, loaded)
        except (RegistryError, ModelRefusedError) as exc:
            logger.warning("cannot explain with %s %s: %s", name, version, exc.reason)
            return AttributionUnavailableError(name, version, exc.reason)
        except (KeyError, ValueError) as exc:
            logger.warning("cannot load %s %s: %s", name, version, exc)
            return AttributionUnavailableError(name, version, f"cannot load: {exc}")
        logger.info("loaded %s %s (%s) for explanations", name, version, model.framework)
        return model
