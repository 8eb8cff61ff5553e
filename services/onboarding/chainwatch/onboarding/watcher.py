"""Hot swap: follow the model's current-version pointer and serve what it names.

A newly promoted version is loaded off the event loop and then replaces the service's model
in one assignment, so a request is scored by one whole model. A version that cannot be
loaded or is refused leaves the serving model in place and is logged once; a removed
pointer leaves the last model serving (an applicant is better scored by the last good
model than not at all) and says so.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext

from chainwatch.onboarding import metrics
from chainwatch.onboarding.errors import ModelRefusedError
from chainwatch.onboarding.model import OnboardingModel
from chainwatch.onboarding.service import OnboardingService
from chainwatch.shared.errors import ChainwatchError
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import watch_current

logger = logging.getLogger(__name__)


async def follow_model(
    js: JetStreamContext, store: ModelStore, service: OnboardingService, name: str
) -> None:
    """Load every version of ``name`` promoted from now on (and the current one) until cancelled."""
    async for pointer in watch_current(js, name):
        current = service.model
        if pointer is None:
            logger.warning(
                "pointer of %s removed; still serving %s", name, current.version if current else "-"
            )
            continue
        if current is not None and current.version == pointer.version:
            continue
        try:
            loaded = await store.get_version(name, pointer.version)
            model = await asyncio.to_thread(OnboardingModel.from_loaded, loaded)
        except ModelRefusedError as exc:
            logger.error("%s; still serving %s", exc, current.version if current else "nothing")
            continue
        except (ChainwatchError, OSError, KeyError, ValueError) as exc:
            logger.error("cannot load %s %s: %s", name, pointer.version, exc)
            continue
        service.model = model
        if current is not None:
            metrics.MODEL_VERSION.labels(current.version).set(0)
        metrics.MODEL_VERSION.labels(model.version).set(1)
        logger.info("now serving %s %s (threshold %.3f)", name, model.version, model.threshold)
