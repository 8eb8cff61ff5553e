"""The learner service: learn each verdict, checkpoint the model, promote the checkpoint.

Per batch of verdicts: learn those not learned before, write a checkpoint (the model, the
verdict ids it has learned and the stream position) to the registry, move the
``screening-online`` pointer to it — the scorer's watcher loads it from there — and only
then let the consumer ack. A crash before the ack means redelivery; verdicts already in the
checkpoint are recognised by id and skipped, the others are learned again from the
checkpoint's state, so each verdict is learned exactly once into the model that serves.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import time
from collections.abc import Sequence

from nats.js import JetStreamContext

from chainwatch.learner.model import OnlineModel, build_pipeline
from chainwatch.learner.settings import LearnerSettings
from chainwatch.shared import bus
from chainwatch.shared.logs import log_context
from chainwatch.shared.model_store import ModelStore
from chainwatch.shared.registry import MODEL_ONLINE, current_pointer, promote
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict

logger = logging.getLogger(__name__)

STAGE = "learner"


async def resume(js: JetStreamContext, store: ModelStore, settings: LearnerSettings) -> OnlineModel:
    """The model of the current checkpoint, or a new one when none was ever promoted."""
    pointer = await current_pointer(js, MODEL_ONLINE)
    if pointer is None:
        logger.info("no checkpoint of %s yet: starting a new model", MODEL_ONLINE)
        return OnlineModel(build_pipeline(settings.learning_rate, settings.l2))
    model = OnlineModel.from_checkpoint(await store.get_version(MODEL_ONLINE, pointer.version))
    logger.info(
        "resumed %s %s: %d verdicts learned, stream seq %d",
        MODEL_ONLINE,
        pointer.version,
        model.n_verdicts,
        model.last_seq,
    )
    return model


class Learner:
    def __init__(
        self, settings: LearnerSettings, js: JetStreamContext, store: ModelStore, model: OnlineModel
    ) -> None:
        self.js = js
        self.store = store
        self.model = model
        self.consumer = bus.BatchConsumer(
            js,
            stage=STAGE,
            stream=REVIEW_STREAM.name,
            subject=REVIEW_VERDICT,
            durable=settings.durable,
            model=ReviewVerdict,
            handler=self.handle,
            batch_size=settings.batch_size,
        )
        self.checkpoints = 0

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)

    async def handle(self, batch: Sequence[bus.Delivery[ReviewVerdict]]) -> None:
        # Learn into a copy; it becomes the model only once its checkpoint is promoted, so a
        # failed checkpoint leaves nothing learned that a redelivery would then skip.
        candidate = copy.deepcopy(self.model)
        learned = 0
        for delivery in batch:
            verdict = delivery.message
            with log_context(txid=verdict.txid, subject=REVIEW_VERDICT):
                if candidate.learn(verdict, delivery.stream_seq):
                    learned += 1
                    logger.info("learned %s from %s", verdict.verdict.value, verdict.analyst)
        if learned:
            await self.checkpoint(candidate)
        self.model = candidate

    async def checkpoint(self, model: OnlineModel) -> None:
        started = time.perf_counter()
        probe = model.predict_proba({})
        if not math.isfinite(probe):
            raise ValueError(f"model predicts {probe} after learning: not promoted")
        files, card = model.artifacts()
        version = await self.store.put_version(MODEL_ONLINE, card["version"], files, card)
        await promote(self.js, MODEL_ONLINE, version.version, store=self.store, run_id="learner")
        self.checkpoints += 1
        logger.info(
            "checkpoint %s promoted in %.1f ms (%d verdicts)",
            version.version,
            (time.perf_counter() - started) * 1000,
            model.n_verdicts,
        )
