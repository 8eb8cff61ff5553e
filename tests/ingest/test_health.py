"""Source health and its HTTP endpoint."""

from __future__ import annotations

import httpx

from chainwatch.ingest.health import HealthServer, SourceHealth


def test_health_follows_the_connection() -> None:
    health = SourceHealth("live", stale_after_s=60)
    assert health.report().state == "starting" and not health.report().healthy

    health.connected()
    assert health.report().healthy and health.report().connects == 1

    health.disconnected("ConnectionClosedError: no close frame")
    report = health.report()
    assert (report.healthy, report.state, report.disconnects) == (False, "reconnecting", 1)
    assert report.last_error == "ConnectionClosedError: no close frame"

    health.connected()
    health.rate_limited(30.0)
    assert health.report().state == "rate_limited" and not health.report().healthy


def test_a_silent_connection_is_not_healthy() -> None:
    health = SourceHealth("live", stale_after_s=0.0)
    health.connected()
    report = health.report()
    assert not report.healthy and report.reason.startswith("no message for")


async def test_endpoints_answer_liveness_readiness_and_status() -> None:
    ready = {"ready": False, "mode": "live"}
    server = HealthServer("127.0.0.1", 0, lambda: dict(ready))
    assert await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 503
            status = await client.get("/status")
            assert status.status_code == 200 and status.json()["mode"] == "live"
            ready["ready"] = True
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/nothing")).status_code == 404
            assert (await client.post("/healthz")).status_code == 405
    finally:
        await server.stop()


async def test_a_taken_port_does_not_stop_the_service() -> None:
    first = HealthServer("127.0.0.1", 0, dict)
    assert await first.start()
    second = HealthServer("127.0.0.1", first.port, dict)
    try:
        assert not await second.start()
    finally:
        await first.stop()
