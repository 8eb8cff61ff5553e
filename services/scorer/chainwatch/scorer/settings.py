"""Scorer settings (env prefix ``CHAINWATCH_SCORER_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
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
    online_min_verdicts: int = Field(
        200, ge=0, description="Verdicts before the online tier decides"
    )
    online_min_per_class: int = Field(20, ge=0, description="...of each class")
    rules_floor: bool = Field(True, description="A model's score never goes below the rules'")
    exposure_decay_per_hop: float = Field(0.7, gt=0, le=1)
    exposure_max_hops: int = Field(4, ge=0, le=20)
    taint_store: Literal["postgres", "memory"] = Field(
        "postgres", description="postgres: shared by replicas; memory: this process only"
    )
    taint_retention_days: float = Field(30.0, gt=0, description="Postgres taints kept this long")
    taint_memory_outpoints: int = Field(1_000_000, ge=1000, description="Bound of the memory store")
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz, /readyz, /metrics")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    labels_check_s: float = Field(30.0, gt=0, description="How often label files are re-checked")

    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)
