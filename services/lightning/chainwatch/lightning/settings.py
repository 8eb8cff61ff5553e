"""Lightning service settings (env prefix ``CHAINWATCH_LIGHTNING_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.lightning.analysis import AnalysisOptions
from chainwatch.shared.settings import DataSettings, LogSettings, NatsSettings


class LightningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_LIGHTNING_", extra="ignore")

    snapshot_dir: Path | None = Field(
        None, description="Folder of channel-graph snapshots; default <data_dir>/lightning"
    )
    rescan_s: float = Field(3600.0, gt=0, description="How often the folder is checked again")
    exact_max_nodes: int = Field(
        5_000, ge=2, description="Centrality is exact up to this many nodes, sampled above"
    )
    sample_sources: int = Field(1_000, ge=10, description="Sources sampled above that size")
    reachability_worlds: int = Field(20, ge=1, description="Draws of every channel's balance")
    reachability_pairs_per_world: int = Field(50, ge=1, description="Random pairs per draw")
    seed: int = Field(0, description="Seed of every random draw, so reports repeat")
    publish: bool = Field(True, description="Publish reports on NATS (false: HTTP only)")
    health_host: str = Field("127.0.0.1", description="Bind address of the HTTP API and probes")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @property
    def snapshots(self) -> Path:
        return self.snapshot_dir or self.data.data_dir / "lightning"

    @property
    def analysis(self) -> AnalysisOptions:
        return AnalysisOptions(
            exact_max_nodes=self.exact_max_nodes,
            sample_sources=self.sample_sources,
            reachability_worlds=self.reachability_worlds,
            reachability_pairs_per_world=self.reachability_pairs_per_world,
            seed=self.seed,
        )
