"""The service's HTTP API (Starlette, on the health port), for probes, the dashboard and people.

* ``GET /healthz``: 200 while the process serves requests.
* ``GET /readyz``: 200 once NATS is connected (when publishing) and at least one snapshot
  is analysed; 503 with the failing checks otherwise.
* ``GET /metrics``: Prometheus text format.
* ``GET /v1/lightning/snapshots``: every analysed snapshot, oldest first, with its score,
  for a history chart.
* ``GET /v1/lightning/health``: the latest snapshot's report (the
  ``chainwatch.lightning.health`` model as JSON); ``/v1/lightning/health/{snapshot}`` one
  snapshot's. 404 while nothing is analysed or for an unknown name.
* ``GET /v1/lightning/panel``: an HTML panel of the latest report with its charts, drawn
  as inline SVG; no script and no external asset.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chainwatch.lightning.catalog import SnapshotCatalog
from chainwatch.lightning.panel import render_panel

ReadinessCheck = Callable[[], Awaitable[bool]]


def create_app(catalog: SnapshotCatalog, checks: dict[str, ReadinessCheck]) -> Starlette:
    """The ASGI app over ``catalog``; ``checks`` decide readiness besides having a report."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        results = {name: bool(await check()) for name, check in checks.items()}
        results["analysed"] = bool(catalog.entries)
        return JSONResponse({"checks": results}, status_code=200 if all(results.values()) else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def snapshots(request: Request) -> Response:
        entries = catalog.ordered()
        return JSONResponse(
            [
                {
                    "snapshot": e.wire.snapshot,
                    "snapshot_at": e.wire.snapshot_at.isoformat() if e.wire.snapshot_at else None,
                    "source_format": e.wire.source_format,
                    "min_channel_capacity_sat": e.wire.min_channel_capacity_sat,
                    "active_node_count": e.wire.totals.active_node_count,
                    "channel_count": e.wire.totals.channel_count,
                    "health_score": e.wire.health.score,
                    "health_band": e.wire.health.band,
                    "anomaly_count": len(e.wire.change.anomalies) if e.wire.change else 0,
                }
                for e in entries
            ]
        )

    async def health(request: Request) -> Response:
        name = request.path_params.get("snapshot")
        entry = catalog.entries.get(name) if name else catalog.latest()
        if entry is None:
            return JSONResponse({"detail": f"no report for {name or 'any snapshot'}"}, 404)
        return Response(entry.wire.model_dump_json(), media_type="application/json")

    async def panel(request: Request) -> Response:
        entry = catalog.latest()
        history = [e.wire for e in catalog.ordered()]
        return HTMLResponse(render_panel(entry.wire if entry else None, history))

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/v1/lightning/snapshots", snapshots),
            Route("/v1/lightning/health", health),
            Route("/v1/lightning/health/{snapshot}", health),
            Route("/v1/lightning/panel", panel),
        ]
    )
