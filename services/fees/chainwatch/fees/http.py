"""The fees service's HTTP port: health and metrics, plus the estimates as JSON.

Besides ``/healthz``, ``/readyz`` and ``/metrics`` (``chainwatch.shared.health``):

- ``GET /api/v1/fees/recommended``: the latest ``FeeEstimate`` (the same JSON as on
  ``chainwatch.fees.estimate``); 503 until the first estimate is made;
- ``GET /api/v1/fees/projected-blocks``: its projected blocks only;
- ``GET /api/v1/fees/panel``: what a dashboard panel draws: the latest estimate, and for
  each recent block the next-block rate recommended before it against the block's p5 and
  median fee rates, with the share overpaid / in range / underpaid.

The port is for probes and internal readers, like the workers' health ports; put a proxy in
front of it to publish it.
"""

from __future__ import annotations

import json

from chainwatch.fees.estimator import FeeEstimator
from chainwatch.shared.health import HealthServer, ReadinessCheck

API = "/api/v1/fees"
JSON = "application/json"


class FeesHttpServer(HealthServer):
    """``HealthServer`` with the read-only fee endpoints."""

    def __init__(
        self, host: str, port: int, checks: dict[str, ReadinessCheck], estimator: FeeEstimator
    ) -> None:
        super().__init__(host, port, checks)
        self.estimator = estimator

    async def _respond(self, request_line: str) -> tuple[int, str, bytes]:
        parts = request_line.split()
        path = parts[1].split("?")[0] if len(parts) >= 2 else ""
        if not path.startswith(API) or parts[0] != "GET":
            return await super()._respond(request_line)

        latest = self.estimator.latest
        if path == f"{API}/panel":
            return 200, JSON, _json(self.estimator.panel())
        if path not in (f"{API}/recommended", f"{API}/projected-blocks"):
            return 404, "text/plain", b"not found\n"
        if latest is None:
            return 503, JSON, _json({"detail": "no estimate yet"})
        if path == f"{API}/recommended":
            return 200, JSON, latest.model_dump_json().encode() + b"\n"
        blocks = [b.model_dump(mode="json") for b in latest.projected_blocks]
        return 200, JSON, _json({"projected_blocks": blocks})


def _json(value: object) -> bytes:
    return json.dumps(value).encode() + b"\n"
