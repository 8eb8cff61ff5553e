"""Settings every service shares: the bus, the database, the data dir, logging.

Each service has one settings class of its own (its own env prefix, e.g.
``CHAINWATCH_SCORER_``) that holds these as nested fields, built once in its entrypoint and
passed down. Connection settings shared by all services use the ``CHAINWATCH_`` prefix;
the database URL is also read from ``DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("../shared/data")


class NatsSettings(BaseSettings):
    """Where the bus is and how hard to try reaching it."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_NATS_", extra="ignore")

    url: str = Field("nats://127.0.0.1:4222", description="Comma-separated server URLs")
    user: str | None = None
    password: SecretStr | None = None
    creds_file: Path | None = Field(None, description="NATS .creds file (JWT + nkey)")
    connect_timeout_s: float = Field(5.0, gt=0)
    connect_attempts: int = Field(30, ge=1, description="Attempts at start-up before giving up")
    inbox_prefix: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Prefix of reply inboxes; unset: _INBOX.<user> with a user, else _INBOX",
    )

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]

    @property
    def inbox(self) -> str:
        """Where replies to this client go: a user may subscribe to its own inboxes only.

        With a user and no explicit prefix it is ``_INBOX.<user>``, which is what the
        server's permissions for that user allow (deploy/nats/accounts.conf).
        """
        if self.inbox_prefix:
            return self.inbox_prefix
        return f"_INBOX.{self.user}" if self.user else "_INBOX"


class DatabaseSettings(BaseSettings):
    """The PostgreSQL that holds the audit trail."""

    model_config = SettingsConfigDict(
        env_prefix="CHAINWATCH_", extra="ignore", populate_by_name=True
    )

    url: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/chainwatch"),
        validation_alias=AliasChoices("CHAINWATCH_DATABASE_URL", "DATABASE_URL"),
        description="libpq URL; it may hold a password, so it is never logged",
    )
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(8, ge=1)
    connect_attempts: int = Field(30, ge=1)


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_LOG_", extra="ignore")

    level: str = "INFO"
    format: Literal["text", "json"] = "text"


class DataSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_", extra="ignore")

    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Recorded real data: mempool responses, labels, blocks"
    )
