"""Retraining on request: a RetrainRequest on the bus makes the sensor launch one run."""

from __future__ import annotations

import asyncio

import dagster as dg
from nats.aio.client import Client as NATS

from chainwatch.shared.retraining import RETRAIN_STREAM, RetrainRequest, request_retraining
from chainwatch.shared.settings import NatsSettings
from chainwatch.trainer.definitions import build_definitions, training_job
from chainwatch.trainer.retrain import REASON_TAG, TRIGGER_TAG, build_retrain_sensor
from chainwatch.trainer.settings import TrainerSettings


def _tick(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


async def test_requests_since_the_cursor_launch_one_run(
    nc: NATS, nats_settings: NatsSettings
) -> None:
    js = nc.jetstream()
    await request_retraining(js, RetrainRequest(requested_by="drift", reason="fee_rate drifted"))
    await request_retraining(js, RetrainRequest(requested_by="drift", reason="PR-AUC fell"))
    repeat = RetrainRequest(requested_by="operator", reason="new label lists")
    await request_retraining(js, repeat)
    await request_retraining(js, repeat)  # same request_id: dropped by JetStream
    sensor = build_retrain_sensor(training_job, nats_settings, interval_s=30)

    first = await asyncio.to_thread(_tick, sensor, None)
    again = await asyncio.to_thread(_tick, sensor, first.cursor)

    [run] = first.run_requests or []
    last_seq = (await js.stream_info(RETRAIN_STREAM.name)).state.last_seq
    assert run.run_key == f"retrain-{last_seq}" and first.cursor == str(last_seq)
    assert run.tags[TRIGGER_TAG] == "operator"
    assert run.tags[REASON_TAG] == "PR-AUC fell; fee_rate drifted; new label lists"
    assert not again.run_requests and again.skip_reason is not None


def test_code_location_loads_with_its_jobs_schedule_and_sensor() -> None:
    defs = build_definitions(TrainerSettings())

    assert defs.resolve_job_def("screening_training") is not None
    assert defs.resolve_job_def("elliptic") is not None
    assert defs.resolve_schedule_def("scheduled_training").cron_schedule == "0 3 * * 1"
    assert defs.resolve_sensor_def("retrain_on_request") is not None
    defs.resolve_all_job_defs()
