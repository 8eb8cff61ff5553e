"""Asking the trainer for a retraining run: the subject, its stream and the message.

The drift service (or an operator) publishes a ``RetrainRequest`` on
``chainwatch.trainer.retrain``; the trainer's Dagster sensor reads the stream from where it
left off and launches one training run for all the requests it finds, tagged with who
asked and why. Requests are kept for a week, so a trainer that was down catches up.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from nats.js import JetStreamContext
from nats.js.api import PubAck
from pydantic import AwareDatetime, Field, field_validator, model_validator

from chainwatch.shared import bus, subjects
from chainwatch.shared.schemas import WireModel

RETRAIN_REQUESTED = f"{subjects.PREFIX}.trainer.retrain"
"""A request for a retraining run of the batch models."""

RETRAIN_STREAM = subjects.StreamSpec(
    name="CHAINWATCH_RETRAIN",
    subjects=(RETRAIN_REQUESTED,),
    max_age=timedelta(days=7),
    duplicate_window=timedelta(hours=1),
    description="Requests for a retraining run, read by the trainer's sensor",
)


class TrainingWindow(WireModel):
    """The transactions to train on: those that arrived from ``start`` to ``end``."""

    start: AwareDatetime = Field(description="First arrival time included")
    end: AwareDatetime | None = Field(
        None, description="Last arrival time included; none: up to when the run reads the data"
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        # Pydantic would read a number, or a string of digits, as Unix time.
        if isinstance(value, int | float) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value)
        ):
            raise ValueError("a time in ISO 8601 with a zone, not a number")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TrainingWindow:
        if self.end is not None and self.end <= self.start:
            raise ValueError("a training window must end after it starts")
        return self

    def union(self, other: TrainingWindow) -> TrainingWindow:
        """The smallest window holding both (open-ended when either is)."""
        end = None if self.end is None or other.end is None else max(self.end, other.end)
        return TrainingWindow(start=min(self.start, other.start), end=end)

    def describe(self) -> str:
        end = _utc(self.end) if self.end else "the start of the run"
        return f"arrived from {_utc(self.start)} to {end}"


class RetrainRequest(WireModel):
    """Please retrain the batch models (subject ``chainwatch.trainer.retrain``)."""

    schema_version: Literal[1] = 1
    request_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, description="Unique; repeats are dropped"
    )
    requested_by: Literal["drift", "operator", "schedule"] = Field(
        description="Who asked: the drift service, a person, or a timer"
    )
    reason: str = Field(max_length=500, description="Why, e.g. the drift that was detected")
    requested_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    window: TrainingWindow | None = Field(
        None, description="Train on the transactions of this window; none: the configured data"
    )


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def request_retraining(js: JetStreamContext, request: RetrainRequest) -> PubAck:
    """Publish ``request`` (declaring its stream if needed); a repeated request_id is dropped."""
    await bus.ensure_streams(js, [RETRAIN_STREAM])
    return await bus.publish(js, RETRAIN_REQUESTED, request, msg_id=request.request_id)
