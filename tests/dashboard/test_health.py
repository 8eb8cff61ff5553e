"""Liveness and readiness: ready only while both NATS and PostgreSQL answer."""

from __future__ import annotations

from .conftest import RunningApp


async def test_healthz_answers_while_the_process_runs(running_app: RunningApp) -> None:
    response = await running_app.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_nats_and_database_answer(running_app: RunningApp) -> None:
    response = await running_app.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"ready": True, "nats": "ok", "database": "ok", "feed_clients": 0}


async def test_not_ready_without_nats(running_app: RunningApp) -> None:
    await running_app.app.state.resources.nc.close()

    response = await running_app.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert response.json()["nats"] == "disconnected"
    assert response.json()["database"] == "ok"


async def test_not_ready_without_the_database(running_app: RunningApp) -> None:
    await running_app.app.state.resources.pool.close()

    response = await running_app.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["nats"] == "ok"
    assert response.json()["database"].startswith("unreachable")
