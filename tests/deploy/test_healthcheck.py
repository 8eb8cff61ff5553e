"""The images' health probe, run as Docker runs it, against a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chainwatch.devstack.servers import free_port

PORT_ENV = "CHAINWATCH_PROBED_HEALTH_PORT"


class Health(BaseHTTPRequestHandler):
    """``/healthz`` answers with the server's ``status``; every other path is 404."""

    server: HealthServer

    def do_GET(self) -> None:
        status = self.server.status if self.path == "/healthz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads exit codes, not access logs."""


class HealthServer(ThreadingHTTPServer):
    status = 200


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    server = HealthServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def probe(repo_root: Path, port: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo_root / "deploy/docker/healthcheck.py"), PORT_ENV],
        env={PORT_ENV: str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthy_when_healthz_answers_200(repo_root: Path, health_server: HealthServer) -> None:
    result = probe(repo_root, health_server.server_address[1])

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_unhealthy_when_healthz_answers_an_error(
    repo_root: Path, health_server: HealthServer
) -> None:
    health_server.status = 503

    result = probe(repo_root, health_server.server_address[1])

    assert result.returncode == 1
    assert "answered 503" in result.stderr


def test_unhealthy_when_nothing_listens(repo_root: Path) -> None:
    result = probe(repo_root, free_port())

    assert result.returncode == 1
    assert "unreachable" in result.stderr


@pytest.mark.parametrize("port", ["", "http", "0", "70000"])
def test_misconfigured_when_the_port_is_not_a_port(repo_root: Path, port: str) -> None:
    result = probe(repo_root, port)

    assert result.returncode == 2
    assert PORT_ENV in result.stderr
