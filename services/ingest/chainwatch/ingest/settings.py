"""Settings of the ingest service, read once from the environment (prefix ``CHAINWATCH_INGEST_``).

The bus, the data dir and logging are the shared settings classes, each with its own prefix
(``CHAINWATCH_NATS_URL``, ``CHAINWATCH_DATA_DIR``, ``CHAINWATCH_LOG_LEVEL``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chainwatch.ingest.recorded import ReplayOrder
from chainwatch.shared.settings import DataSettings, LogSettings, NatsSettings


class IngestSettings(BaseSettings):
    """Where transactions come from, how fast, and how they reach the bus."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_INGEST_", extra="ignore")

    mode: Literal["replay"] = Field(
        "replay", description="replay: recorded real transactions from the data dir"
    )
    replay_files: Annotated[tuple[str, ...], NoDecode] = Field(
        ("all",),
        description="Comma-separated presets (block277647, eras, fixtures, all), paths or "
        "globs relative to the data dir",
    )
    replay_order: ReplayOrder = Field("listed", description="listed, time or shuffled")
    replay_seed: int = Field(0, description="Seed of the shuffled order")
    replay_rate_tx_s: float = Field(
        10.0, ge=0, description="Transactions per second to replay; 0 = as fast as possible"
    )
    keep_running: bool = Field(
        False, description="Stay up after the replay finished, until SIGINT or SIGTERM"
    )

    max_in_flight: int = Field(256, ge=1, description="Publishes awaiting their ack at once")
    publish_timeout_s: float = Field(5.0, gt=0, description="Wait for one publish ack")
    shutdown_grace_s: float = Field(10.0, ge=0, description="Time to finish publishes on exit")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @field_validator("replay_files", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value
