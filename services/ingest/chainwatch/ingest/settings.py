"""Settings of the ingest service, read once from the environment (prefix ``CHAINWATCH_INGEST_``).

The bus, the data dir and logging are the shared settings classes, each with its own prefix
(``CHAINWATCH_NATS_URL``, ``CHAINWATCH_DATA_DIR``, ``CHAINWATCH_LOG_LEVEL``).

Modes: ``live`` follows a mempool.space or Esplora instance at ``live_base_url``; ``local``
starts the local replay server in-process (recorded real data, no network) and follows it
exactly as it would a remote one; ``replay`` publishes recorded files straight to the bus.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chainwatch.ingest.recorded import ReplayOrder
from chainwatch.shared.settings import DataSettings, LogSettings, NatsSettings

CommaSeparated = Annotated[tuple[str, ...], NoDecode]


class IngestSettings(BaseSettings):
    """Where transactions come from, how fast, and how they reach the bus."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_INGEST_", extra="ignore")

    mode: Literal["live", "local", "replay"] = Field(
        "live", description="live: mempool.space API; local: the local replay server; replay"
    )

    # replay
    replay_files: CommaSeparated = Field(
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

    # live
    live_base_url: str = Field(
        "https://mempool.space", description="mempool.space or Esplora instance, without /api"
    )
    live_track: Literal["mempool", "mempool-txids"] = Field(
        "mempool", description="Full transactions in each mempool delta, or txids to fetch"
    )
    live_track_rbf: bool = Field(True, description="Ask for replacement trees (track-rbf)")
    request_timeout_s: float = Field(10.0, gt=0, description="Deadline of one REST request")
    request_attempts: int = Field(5, ge=1, description="Tries per REST request")
    max_concurrent_requests: int = Field(4, ge=1, description="REST requests at once")
    reconnect_initial_s: float = Field(1.0, gt=0, description="First reconnect delay")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay")
    stale_after_s: float = Field(
        120.0, gt=0, description="Reconnect when the websocket is silent this long"
    )
    resync_full_mempool: bool = Field(
        False,
        description="After (re)connecting, compare the whole mempool (/api/mempool/txids), not "
        "only /api/mempool/recent; right for a self-hosted instance",
    )
    resync_max_txs: int = Field(50_000, ge=0, description="Most transactions fetched by a resync")
    catchup_blocks: int = Field(
        3, ge=0, description="Latest blocks checked for confirmations after (re)connecting"
    )
    snapshot_min_interval_s: float = Field(
        5.0, ge=0, description="Fewest seconds between two mempool snapshots"
    )
    seen_capacity: int = Field(1_000_000, ge=1, description="Published txids kept in memory")
    seen_lookback_s: float = Field(
        86_400.0, ge=0, description="At start, remember txids published this long ago"
    )

    # local
    local_blocks: CommaSeparated = Field(
        ("eras",), description="Recorded blocks the local server mines (block277647, ..., eras)"
    )
    local_steps_per_s: float = Field(2.0, gt=0, description="Scenario steps per second")
    local_batch_size: int = Field(10, ge=1, description="Transactions entering per step")

    # publishing and operations
    max_in_flight: int = Field(256, ge=1, description="Publishes awaiting their ack at once")
    publish_timeout_s: float = Field(5.0, gt=0, description="Wait for one publish ack")
    shutdown_grace_s: float = Field(10.0, ge=0, description="Time to finish publishes on exit")
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz and /readyz")
    health_port: int = Field(8080, ge=0, le=65535, description="Their port; 0 = any free port")
    health_enabled: bool = Field(True, description="Serve /healthz, /readyz and /status")

    nats: NatsSettings = Field(default_factory=NatsSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @field_validator("replay_files", "local_blocks", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("live_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
