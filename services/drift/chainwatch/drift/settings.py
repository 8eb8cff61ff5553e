"""Drift service settings (env prefix ``CHAINWATCH_DRIFT_``): windows, thresholds, healing.

Every threshold of every detector is here; docs/drift.md explains how they were chosen.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chainwatch.shared.drift import DriftKind
from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, LogSettings, NatsSettings

CommaSeparated = Annotated[tuple[str, ...], NoDecode]


class DriftSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_DRIFT_", extra="ignore")

    # windows
    window_size: int = Field(
        200, ge=20, description="Decisions in the sliding window compared with the reference"
    )
    check_every: int = Field(
        50, ge=1, description="Decisions between two checks of the window (its hop)"
    )
    bootstrap_size: int = Field(
        150, ge=20, description="First decisions that form the reference when no card has one"
    )
    bins: int = Field(10, ge=2, le=50, description="Quantile bins of a bootstrap reference")

    # feature and prediction drift
    psi_threshold: float = Field(
        0.25, gt=0, description="PSI from which a distribution counts as moved (0.25: major)"
    )
    alpha: float = Field(
        0.01, gt=0, lt=1, description="Family-wise error level of the tests, Holm-corrected"
    )
    min_drifted_features: int = Field(1, ge=1, description="Drifted features for a feature event")
    exclude_features: CommaSeparated = Field(
        ("anomaly_score",),
        description="Features not compared (the anomaly score has a detector of its own)",
    )
    flag_rate_min_change: float = Field(
        0.05, gt=0, le=1, description="Smallest change of the flagged share that is drift"
    )

    # ADWIN detectors: anomaly rate and verdict errors
    anomaly_threshold: float = Field(
        0.8, gt=0, lt=1, description="Anomaly score from which a transaction counts as unusual"
    )
    anomaly_delta: float = Field(0.002, gt=0, lt=1, description="ADWIN confidence, anomaly rate")
    anomaly_min_increase: float = Field(
        0.25, gt=0, le=1, description="Rise of the unusual share that is drift"
    )
    error_delta: float = Field(0.002, gt=0, lt=1, description="ADWIN confidence, verdict errors")
    error_min_increase: float = Field(
        0.1, gt=0, le=1, description="Rise of a tier's mean absolute error that is drift"
    )

    # events and self-healing
    realert_s: float = Field(
        3600.0, gt=0, description="A drift that persists is reported again after this long"
    )
    retrain_on: CommaSeparated = Field(
        ("feature", "performance"), description="Kinds of drift that may ask for retraining"
    )
    retrain_min_features: int = Field(
        3, ge=1, description="Drifted features from which feature drift asks for retraining"
    )
    retrain_cooldown_s: float = Field(
        1800.0, ge=0, description="Least time between two retraining requests"
    )
    retrain_timeout_s: float = Field(
        3600.0, gt=0, description="A request with no promotion or refusal by then timed out"
    )
    retrain_poll_s: float = Field(
        5.0, gt=0, description="How often the trainer's decisions are looked up"
    )
    retrain_after_decisions: int = Field(
        1000,
        ge=0,
        description=(
            "Decisions to wait after a drifted window before asking for retraining, so the "
            "new model has some of the new world to learn from (0: ask at once)"
        ),
    )
    retrain_window_s: float = Field(
        7 * 86400.0,
        gt=0,
        description=(
            "A retraining run trains on the transactions that arrived this long before the "
            "drift and since (chainwatch.tx.raw keeps 7 days)"
        ),
    )

    # consuming and operations
    durable: str = Field("drift", description="Durable consumer name of tx.scored")
    verdict_durable: str = Field("drift-verdicts", description="Durable consumer of verdicts")
    batch_size: int = Field(256, ge=1, le=10_000, description="Messages fetched per batch")
    fetch_timeout_s: float = Field(0.5, gt=0)
    max_attempts: int = Field(5, ge=1, description="Deliveries before a message is dead-lettered")
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz, /readyz, /metrics")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")

    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @field_validator("exclude_features", "retrain_on", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("retrain_on")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {k.value for k in DriftKind}
        if unknown:
            raise ValueError(f"unknown drift kinds {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def _window_fits(self) -> DriftSettings:
        if self.check_every > self.window_size:
            raise ValueError("check_every must not exceed window_size: decisions would go unseen")
        return self
