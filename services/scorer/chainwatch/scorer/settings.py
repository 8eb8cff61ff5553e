"""Scorer settings (env prefix ``CHAINWATCH_SCORER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.schemas import RiskBand
from chainwatch.shared.settings import DatabaseSettings, DataSettings, LogSettings, NatsSettings


class ScorerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_SCORER_", extra="ignore")

    durable: str = Field("scorer", description="Durable consumer name; replicas share it")
    batch_size: int = Field(256, ge=1, le=10_000, description="Messages fetched per batch")
    fetch_timeout_s: float = Field(0.5, gt=0)
    max_attempts: int = Field(5, ge=1, description="Deliveries before a message is dead-lettered")
    ack_wait_s: float = Field(
        30.0, gt=0, description="Unacked messages are redelivered after this (e.g. after a crash)"
    )
    band_medium: float = 0.30
    band_high: float = 0.60
    band_severe: float = 0.85
    flag_from: RiskBand = RiskBand.HIGH
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz, /readyz, /metrics")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    labels_check_s: float = Field(30.0, gt=0, description="How often label files are re-checked")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)
