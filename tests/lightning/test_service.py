"""The service end to end: snapshots in a folder become reports on NATS and over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path

import httpx
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.devstack.servers import free_port
from chainwatch.lightning.__main__ import serve
from chainwatch.lightning.api import create_app
from chainwatch.lightning.catalog import SnapshotCatalog
from chainwatch.lightning.service import LightningService
from chainwatch.lightning.settings import LightningSettings
from chainwatch.shared import bus
from chainwatch.shared.lightning import LIGHTNING_HEALTH, LIGHTNING_STREAM, LightningHealthReport
from chainwatch.shared.settings import NatsSettings

from .conftest import DESCRIBEGRAPH, FAST

DAY_S = 86_400


def two_snapshots(folder: Path) -> None:
    """The small describegraph, and the same graph a day later without its hub "delta"."""
    shutil.copy(DESCRIBEGRAPH, folder / "graph_day1.json")
    document = json.loads(DESCRIBEGRAPH.read_text())
    delta = next(n["pub_key"] for n in document["nodes"] if n["alias"] == "delta")
    document["edges"] = [
        e | {"last_update": e["last_update"] + DAY_S}
        for e in document["edges"]
        if delta not in (e["node1_pub"], e["node2_pub"])
    ]
    (folder / "graph_day2.json").write_text(json.dumps(document))


async def test_reports_are_published_and_served(
    tmp_path: Path, nats_settings: NatsSettings, nc: NATS
) -> None:
    two_snapshots(tmp_path)
    port = free_port()
    settings = LightningSettings(
        snapshot_dir=tmp_path,
        health_port=port,
        reachability_worlds=2,
        reachability_pairs_per_world=10,
        nats=nats_settings,
    )
    js = nc.jetstream()
    await bus.ensure_streams(js, [LIGHTNING_STREAM])  # as the service will: same config
    sub = await js.subscribe(LIGHTNING_HEALTH, ordered_consumer=True)
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))
    try:
        received: list[LightningHealthReport] = []
        while len(received) < 2:
            msg = await sub.next_msg(timeout=30)
            received.append(LightningHealthReport.model_validate_json(msg.data))

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ready = await client.get("/readyz")
            latest = await client.get("/v1/lightning/health")
            listing = await client.get("/v1/lightning/snapshots")
            panel = await client.get("/v1/lightning/panel")
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)

    assert [r.snapshot for r in received] == ["graph_day1", "graph_day2"]
    assert received[0].change is None
    change = received[1].change
    assert change is not None and change.previous_snapshot == "graph_day1"
    assert "hub_lost" in {a.kind for a in change.anomalies}
    assert ready.status_code == 200
    assert latest.json()["snapshot"] == "graph_day2"
    assert [s["snapshot"] for s in listing.json()] == ["graph_day1", "graph_day2"]
    assert panel.status_code == 200 and "<svg" in panel.text


async def test_api_before_any_analysis_and_for_an_unknown_snapshot() -> None:
    catalog = SnapshotCatalog(FAST)
    app = create_app(catalog, {})
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/v1/lightning/health")).status_code == 404
        assert "No Lightning snapshot" in (await client.get("/v1/lightning/panel")).text

        catalog.refresh(DESCRIBEGRAPH.parent)
        assert (await client.get("/v1/lightning/health/nope")).status_code == 404
        report = (await client.get("/v1/lightning/health/describegraph_small")).json()
        assert report["totals"]["channel_count"] == 6
        assert "chainwatch_lightning" in (await client.get("/metrics")).text


@pytest.mark.data
def test_the_2025_subgraph_is_compared_with_2018_cut_to_the_same_filter(
    lightning_dir: Path,
) -> None:
    catalog = SnapshotCatalog(FAST)

    reports = {r.snapshot: r for r in catalog.refresh(lightning_dir)}

    ghigh = reports["ln-graph-viz_2025-04-30_ghigh"]
    assert ghigh.change is not None
    assert ghigh.change.previous_snapshot.startswith("kulpreet_mainnet_20180824")
    assert ghigh.change.previous_snapshot.endswith(">5000000 sat")
    assert reports["ln-graph-viz_2025-04-30_gfree"].change is None  # 2018 had no >1 BTC channel
    latest = catalog.latest()
    assert latest is not None and latest.graph.name == "ln-graph-viz_2025-04-30_ghigh"


async def test_a_report_that_cannot_be_published_waits_for_the_next_scan(
    tmp_path: Path, nc: NATS
) -> None:
    shutil.copy(DESCRIBEGRAPH, tmp_path / "graph.json")
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(LIGHTNING_STREAM.name)  # publishing cannot succeed
    settings = LightningSettings(snapshot_dir=tmp_path, reachability_worlds=1)
    service = LightningService(settings, SnapshotCatalog(FAST), js)

    first = await service.scan_once()
    assert [r.snapshot for r in first] == ["graph"]
    assert [r.snapshot for r in service.pending] == ["graph"]

    await bus.ensure_streams(js, [LIGHTNING_STREAM])
    assert await service.scan_once() == []  # nothing new to analyse...
    assert service.pending == []  # ...but the waiting report went out
    info = await js.stream_info(LIGHTNING_STREAM.name)
    assert info.state.messages == 1
