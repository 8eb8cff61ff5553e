"""When to train: a schedule, and a sensor that launches a run when retraining is requested.

The sensor reads ``chainwatch.trainer.retrain`` (see ``chainwatch.shared.retraining``) by
stream sequence, from the cursor Dagster keeps for it: requests that arrived since the
last tick become one run (``run_key`` = the last sequence, so a tick evaluated twice
launches once), tagged with who asked and why. When requests name a training window, the
run trains on their union (the asset ``screening_transactions`` gets it as config, and tag
``chainwatch/window`` shows it); requests without one leave the window as the others set
it, and with none at all the run trains on the configured data. An undecodable request is
logged and passed over; it stays in the stream for inspection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import dagster as dg
import nats.js.errors

from chainwatch.shared import bus
from chainwatch.shared.errors import DecodeError
from chainwatch.shared.retraining import RETRAIN_STREAM, RetrainRequest, TrainingWindow
from chainwatch.shared.settings import NatsSettings
from chainwatch.trainer.registry import connect_within

logger = logging.getLogger(__name__)

TRIGGER_TAG = "chainwatch/trigger"
REASON_TAG = "chainwatch/reason"
WINDOW_TAG = "chainwatch/window"
MAX_REQUESTS_PER_TICK = 500


@dataclass(frozen=True)
class PendingRequests:
    requests: list[RetrainRequest]
    last_seq: int


async def read_requests(nats_settings: NatsSettings, after_seq: int) -> PendingRequests:
    """Requests stored after stream sequence ``after_seq`` (at most ``MAX_REQUESTS_PER_TICK``)."""
    nc = await connect_within(nats_settings, "chainwatch-trainer-sensor")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, [RETRAIN_STREAM])
        state = (await js.stream_info(RETRAIN_STREAM.name)).state
        first = max(after_seq + 1, state.first_seq)
        last = min(state.last_seq, first + MAX_REQUESTS_PER_TICK - 1)
        requests = []
        for seq in range(first, last + 1):
            try:
                msg = await js.get_msg(RETRAIN_STREAM.name, seq)
            except nats.js.errors.NotFoundError:
                continue  # removed from the stream (age limit): nothing to read
            try:
                requests.append(bus.decode(RetrainRequest, msg.data or b"", msg.subject or ""))
            except DecodeError as exc:
                logger.warning("passing over retrain request at sequence %d: %s", seq, exc.reason)
        return PendingRequests(requests, max(after_seq, last))
    finally:
        await nc.drain()


def requested_window(requests: list[RetrainRequest]) -> TrainingWindow | None:
    """The union of the windows the requests name; none when none does."""
    window = None
    for request in requests:
        if request.window is not None:
            window = request.window if window is None else window.union(request.window)
    return window


def window_config(window: TrainingWindow) -> dict[str, str]:
    """The data set asset's config (``assets.DataWindowConfig``) for ``window``."""
    config = {"window_start": window.start.isoformat()}
    if window.end is not None:
        config["window_end"] = window.end.isoformat()
    return config


def window_run_config(window: TrainingWindow | None) -> dict[str, object]:
    """Run config giving ``window`` to the data set asset (empty: the configured data)."""
    if window is None:
        return {}
    return {"ops": {"screening_transactions": {"config": window_config(window)}}}


def build_retrain_sensor(
    job: dg.UnresolvedAssetJobDefinition, nats_settings: NatsSettings, interval_s: int
) -> dg.SensorDefinition:
    """A sensor that launches ``job`` when retraining has been requested on the bus."""

    @dg.sensor(
        name="retrain_on_request",
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Launches a training run when the drift service (or a person) asks",
    )
    def retrain_on_request(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        after = int(context.cursor or 0)
        pending = asyncio.run(read_requests(nats_settings, after))
        if not pending.requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"no retraining requested after sequence {after}"),
                cursor=str(pending.last_seq),
            )
        newest = pending.requests[-1]
        reasons = "; ".join(sorted({r.reason for r in pending.requests}))
        context.log.info("%d retraining request(s): %s", len(pending.requests), reasons)
        window = requested_window(pending.requests)
        tags = {TRIGGER_TAG: newest.requested_by, REASON_TAG: reasons[:250]}
        if window is not None:
            tags[WINDOW_TAG] = window.describe()
        run = dg.RunRequest(
            run_key=f"retrain-{pending.last_seq}", run_config=window_run_config(window), tags=tags
        )
        return dg.SensorResult(run_requests=[run], cursor=str(pending.last_seq))

    return retrain_on_request


def build_schedule(job: dg.UnresolvedAssetJobDefinition, cron: str) -> dg.ScheduleDefinition:
    """Retrain on a timer too (UTC cron), so models follow the data even without drift."""
    return dg.ScheduleDefinition(
        name="scheduled_training",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        tags={TRIGGER_TAG: "schedule"},
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
