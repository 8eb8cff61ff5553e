"""The health server answers probes and scrapers over real HTTP on loopback."""

from __future__ import annotations

import httpx

from chainwatch.shared.health import HealthServer


async def test_ready_only_when_every_check_passes() -> None:
    database_up = True

    async def nats() -> bool:
        return True

    async def database() -> bool:
        if not database_up:
            raise ConnectionRefusedError("down")
        return True

    server = HealthServer("127.0.0.1", 0, {"nats": nats, "database": database})
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"checks": {"nats": True, "database": True}}

            database_up = False
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["database"] is False

            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert "python_info" in metrics.text
            assert (await client.get("/nope")).status_code == 404
            assert (await client.post("/healthz")).status_code == 405
    finally:
        await server.stop()
