"""Source health: state, staleness, and what the readiness probe sees."""

from __future__ import annotations

from chainwatch.ingest.health import SourceHealth


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
