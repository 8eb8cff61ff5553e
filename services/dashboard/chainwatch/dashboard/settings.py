"""The dashboard's settings, read once from the environment in the entrypoint."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.settings import DatabaseSettings, LogSettings, NatsSettings


class DashboardSettings(BaseSettings):
    """Where the dashboard listens and how much live feed it keeps per browser.

    Variables start with ``CHAINWATCH_DASHBOARD_`` (``CHAINWATCH_DASHBOARD_PORT=8080``);
    the bus, database and logging settings are shared by every service and read their own
    variables (``CHAINWATCH_NATS_URL``, ``DATABASE_URL``, ``CHAINWATCH_LOG_LEVEL``).
    """

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_DASHBOARD_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on; loopback unless proxied")
    port: int = Field(8000, ge=0, le=65535, description="TCP port; 0 picks a free one")
    feed_queue_size: int = Field(
        256,
        ge=1,
        description="Decisions queued per websocket client; when full the oldest is dropped",
    )
    feed_rows: int = Field(
        200, ge=1, le=500, description="Rows the live feed page keeps, newest first"
    )
    ready_timeout_s: float = Field(
        2.0, gt=0, description="How long /readyz waits for the database to answer"
    )
    shutdown_grace_s: int = Field(
        5, ge=0, description="Seconds open connections get to finish when the server stops"
    )
    access_log: bool = Field(False, description="Log one line per HTTP request")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LogSettings = Field(default_factory=LogSettings)
