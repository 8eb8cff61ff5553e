"""The dashboard's settings, read once from the environment in the entrypoint."""

from __future__ import annotations

import logging
import secrets
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, LogSettings, NatsSettings

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "changethis", "secret", "development"})


class DashboardSettings(BaseSettings):
    """Where the dashboard listens, how it keeps sessions, and how much live feed it holds.

    Variables start with ``CHAINWATCH_DASHBOARD_`` (``CHAINWATCH_DASHBOARD_PORT=8080``);
    the bus, database, registry and logging settings are shared by every service and read
    their own variables (``CHAINWATCH_NATS_URL``, ``DATABASE_URL``, ``CHAINWATCH_LOG_LEVEL``).

    ``session_secret`` has no default: outside ``environment=development`` the dashboard
    refuses to start without one of at least 32 characters, or with a placeholder. In
    development a missing secret is replaced by a random one per process (sessions then end
    when the process does).
    """

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_DASHBOARD_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "production", description="development relaxes the secret and cookie rules"
    )
    host: str = Field("127.0.0.1", description="Address to listen on; loopback unless proxied")
    port: int = Field(8000, ge=0, le=65535, description="TCP port; 0 picks a free one")

    session_secret: SecretStr | None = Field(
        None, description="Key of session and CSRF tokens; required outside development"
    )
    cookie_secure: bool | None = Field(
        None, description="Send cookies over HTTPS only; default: on outside development"
    )
    session_max_age_s: int = Field(
        8 * 3600, ge=60, description="A session ends this long after sign-in"
    )
    session_idle_s: int = Field(3600, ge=60, description="A session ends after this long unused")
    login_free_failures: int = Field(
        3, ge=1, description="Failed sign-ins (per user and address) before each next one waits"
    )
    login_base_delay_s: float = Field(
        2.0, gt=0, description="Wait after the first failure past the free ones; doubles each"
    )
    login_max_delay_s: float = Field(900.0, gt=0, description="Longest wait between attempts")
    login_window_s: int = Field(
        3600, ge=60, description="How long a failed sign-in counts against the next ones"
    )
    login_wide_failures: int = Field(
        20,
        ge=1,
        description="Failed sign-ins for one user from any address, or from one address for "
        "any user, before those wait too",
    )

    feed_queue_size: int = Field(
        256,
        ge=1,
        description="Frames queued per websocket client; when full the oldest is dropped",
    )
    feed_rows: int = Field(200, ge=1, le=500, description="Rows the live feed page keeps")
    queue_page_size: int = Field(50, ge=5, le=500, description="Alerts per page of the queue")
    export_max_rows: int = Field(50_000, ge=1, description="Most rows one CSV export holds")
    outbox_poll_s: float = Field(2.0, gt=0, description="How often unsent verdicts are retried")
    outbox_publish_timeout_s: float = Field(
        3.0, gt=0, description="How long one publish of the outbox waits for its ack"
    )
    ready_timeout_s: float = Field(2.0, gt=0, description="How long /readyz waits for the db")
    shutdown_grace_s: int = Field(
        5, ge=0, description="Seconds open connections get to finish when the server stops"
    )
    access_log: bool = Field(False, description="Log one line per HTTP request")

    fees_url: str = Field(
        "", description="Base URL of the fees service's HTTP port; empty: no Fees page data"
    )
    lightning_url: str = Field(
        "", description="Base URL of the lightning service's HTTP API; empty: not configured"
    )
    onboarding_url: str = Field(
        "", description="Base URL of the onboarding service's HTTP API; empty: not configured"
    )
    upstream_timeout_s: float = Field(
        5.0, gt=0, description="How long a page waits for one of those services to answer"
    )

    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @model_validator(mode="after")
    def _secret_is_real(self) -> Self:
        if self.environment == "development":
            return self
        if self.session_secret is None:
            raise ValueError("CHAINWATCH_DASHBOARD_SESSION_SECRET is required outside development")
        value = self.session_secret.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH or value.lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "CHAINWATCH_DASHBOARD_SESSION_SECRET must be a random value of at least "
                f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment != "development"

    def secret_key(self) -> bytes:
        """The session secret as bytes; in development without one, a random key per process."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value().encode()
        logger.warning("no session secret set (development): sessions end with this process")
        return secrets.token_bytes(32)
