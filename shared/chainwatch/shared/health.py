"""Health, readiness and metrics over HTTP for the services that have no web app of their own.

``GET /healthz`` answers 200 while the process runs its event loop; ``GET /readyz`` answers
200 only when every readiness check passes (NATS connected, database answering, model
loaded, ...) and 503 with the failing checks otherwise; ``GET /metrics`` is the Prometheus
text format of the default registry. The server speaks just enough HTTP/1.1 for probes and
scrapers; it is not a general web server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
REQUEST_TIMEOUT_S = 5.0


class HealthServer:
    """Serves /healthz, /readyz and /metrics on ``host:port``."""

    def __init__(self, host: str, port: int, checks: dict[str, ReadinessCheck]) -> None:
        self.host = host
        self.port = port
        self.checks = checks
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        logger.info("health and metrics on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def readiness(self) -> dict[str, bool]:
        results = {}
        for name, check in self.checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), REQUEST_TIMEOUT_S))
            except Exception:  # a failing check means not ready; the probe says which
                logger.debug("readiness check %s failed", name, exc_info=True)
                results[name] = False
        return results

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S)
            while (await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S)).strip():
                pass  # headers are not needed
            status, content_type, body = await self._respond(request_line.decode("latin-1"))
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass  # a probe that hangs up or sends garbage gets nothing
        finally:
            writer.close()

    async def _respond(self, request_line: str) -> tuple[int, str, bytes]:
        parts = request_line.split()
        if len(parts) < 2:
            return 404, "text/plain", b"not found\n"
        method, path = parts[0], parts[1].split("?")[0]
        if method != "GET":
            return 405, "text/plain", b"only GET\n"
        if path == "/healthz":
            return 200, "application/json", b'{"status":"ok"}\n'
        if path == "/readyz":
            results = await self.readiness()
            status = 200 if all(results.values()) else 503
            return status, "application/json", json.dumps({"checks": results}).encode() + b"\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        return 404, "text/plain", b"not found\n"
