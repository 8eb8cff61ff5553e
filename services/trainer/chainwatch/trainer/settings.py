"""Trainer settings (env prefix ``CHAINWATCH_TRAINER_``), read once by ``definitions``.

The registry has its own prefix (``CHAINWATCH_REGISTRY_``, see ``chainwatch.shared.registry``)
because the scorer reads the same settings to find the models this trainer writes.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, DataSettings, LogSettings, NatsSettings


class TrainerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_TRAINER_", extra="ignore")

    replay_files: list[str] = Field(
        default_factory=lambda: ["all"],
        description="Recorded files to train on: presets, paths or globs under the data dir",
    )
    window_max_transactions: int = Field(
        200_000,
        ge=1,
        description="Most transactions a windowed run reads from chainwatch.tx.raw (newest kept)",
    )
    mirror_root: Path | None = Field(
        None, description="Also write every version to this folder (a filesystem store)"
    )
    ledger: bool = Field(
        True, description="Record versions and gate decisions in PostgreSQL; read verdicts"
    )
    verdict_table: str = Field(
        "review_verdict",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Table of analyst verdicts (txid, verdict, decided_at), read if it exists",
    )
    report_dir: Path = Field(
        Path("var/reports"), description="Where the Elliptic benchmark writes its report"
    )
    schedule_cron: str = Field("0 3 * * 1", description="Scheduled retraining, UTC cron")
    retrain_poll_s: int = Field(
        30, ge=5, description="How often the sensor looks for retraining requests, seconds"
    )

    dagster_home: Path = Field(
        Path("var/dagster"), description="Dagster's instance folder when DAGSTER_HOME is unset"
    )
    ui_host: str = Field("127.0.0.1", description="Bind address of the Dagster UI (serve)")
    ui_port: int = Field(3000, ge=1, le=65535, description="Port of the Dagster UI (serve)")
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz and /readyz")
    health_port: int = Field(8080, ge=0, le=65535, description="Port of /healthz and /readyz")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    log: LogSettings = Field(default_factory=LogSettings)
