"""Learner settings (env prefix ``CHAINWATCH_LEARNER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import LogSettings, NatsSettings


class LearnerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_LEARNER_", extra="ignore")

    durable: str = Field("learner", description="Durable consumer of the verdict stream")
    learning_rate: float = Field(0.02, gt=0, le=1, description="SGD step of each verdict")
    l2: float = Field(0.001, ge=0, description="L2 penalty on the weights")
    batch_size: int = Field(64, ge=1, description="Verdicts learned before one checkpoint")
    health_host: str = "127.0.0.1"
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")

    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
