"""Run the dashboard: ``chainwatch-dashboard`` or ``python -m chainwatch.dashboard``."""

from __future__ import annotations

import logging

from chainwatch.dashboard.server import build_server
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.shared.logs import configure_logging

logger = logging.getLogger("chainwatch.dashboard")

STARTUP_FAILED = 3
"""Exit status when the app could not start (NATS or the database stayed unreachable)."""


def main() -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and return."""
    settings = DashboardSettings()
    configure_logging("dashboard", settings.log.level, settings.log.format)

    server = build_server(settings)
    server.run_until_signalled()
    if not server.started:
        raise SystemExit(STARTUP_FAILED)
    logger.info("dashboard stopped")


if __name__ == "__main__":
    main()
