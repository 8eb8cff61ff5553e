"""Container health probe: exit 0 when the service's ``/healthz`` answers 2xx, else 1.

Every chainwatch image runs it as its ``HEALTHCHECK``, naming the environment variable that
holds the service's health port (``CHAINWATCH_SCORER_HEALTH_PORT``, ...; see
deploy/README.md). It uses the standard library only, because an image holds nothing but its
service and that service's dependencies. What went wrong is written to stderr, where
``docker inspect`` shows it beside the health status.

Exit codes: 0 healthy; 1 unhealthy (an error status, a refused connection, a timeout);
2 misconfigured (the variable is unset or not a port number).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTHY = 0
UNHEALTHY = 1
MISCONFIGURED = 2

TIMEOUT_S = 2.0


def health_url(port_env: str) -> str:
    """The loopback ``/healthz`` URL on the port held by the variable ``port_env``."""
    raw = os.environ.get(port_env, "")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{port_env}={raw!r} is not a TCP port")
    return f"http://127.0.0.1:{int(raw)}/healthz"


def probe(url: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when ``url`` answers 2xx; otherwise why it is unhealthy."""
    try:
        # S310 warns of file: and custom schemes; the URL is the http one built above.
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} unreachable: {exc}"

    if not 200 <= status < 300:
        return f"{url} answered {status}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: healthcheck.py PORT_ENV_VAR\n")
        return MISCONFIGURED

    try:
        url = health_url(argv[0])
    except ValueError as exc:
        sys.stderr.write(f"misconfigured: {exc}\n")
        return MISCONFIGURED

    problem = probe(url)
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return UNHEALTHY
    return HEALTHY


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
