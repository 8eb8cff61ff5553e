"""Fees service settings (env prefix ``CHAINWATCH_FEES_``), read once in the entrypoint."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DataSettings, LogSettings, NatsSettings


class FeesSettings(BaseSettings):
    """Where the service listens, how often it estimates, how much mempool it keeps."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_FEES_", extra="ignore")

    health_host: str = Field(
        "127.0.0.1", description="Bind address of /healthz, /readyz, /metrics and /api/v1/fees"
    )
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    publish_interval_s: float = Field(
        10.0, gt=0, description="Seconds between estimates while no block arrives"
    )
    projected_blocks: int = Field(8, ge=1, le=32, description="Blocks projected per estimate")
    warmup_s: float = Field(
        1800.0, ge=0, description="At start, replay this many seconds of the streams"
    )
    max_mempool_txs: int = Field(
        300_000, ge=1000, description="Past this the cheapest transactions are dropped"
    )
    block_grace_s: float = Field(
        5.0, gt=0, description="A block is judged this long after it connects at the latest"
    )
    train_if_missing: bool = Field(
        False, description="At start, train and promote fees-lgbm when no version is current"
    )

    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)
