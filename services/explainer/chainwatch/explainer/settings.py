"""Explainer settings: env prefix ``CHAINWATCH_EXPLAINER_``, and ``..._CLAUDE_`` for Claude.

With no ``CHAINWATCH_EXPLAINER_CLAUDE_API_KEY`` the explainer never calls Claude: every
narrative comes from the template. The key is read from that variable only, never from
``ANTHROPIC_API_KEY``, so a key set for other tools cannot make a development stack reach
the real API by accident.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, LogSettings, NatsSettings

PLACEHOLDER_KEYS = frozenset({"changeme", "change-me", "your-api-key", "sk-ant-xxx", "xxx", "todo"})


class ClaudeSettings(BaseSettings):
    """How narratives are asked of Claude through the Messages API."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_EXPLAINER_CLAUDE_", extra="ignore")

    api_key: SecretStr | None = Field(
        None, description="Anthropic API key; unset means template narratives only. Never logged"
    )
    model: str = Field("claude-haiku-4-5", description="Model id asked for narratives")
    base_url: str = Field("https://api.anthropic.com", description="Messages API base URL")
    timeout_s: float = Field(10.0, gt=0, description="Timeout of one request attempt")
    max_retries: int = Field(1, ge=0, le=5, description="Retries of a failed request (429, 5xx)")
    max_tokens: int = Field(600, ge=64, le=4096, description="Output token budget per narrative")
    concurrency: int = Field(8, ge=1, le=256, description="Requests in flight at once")
    breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures after which Claude is paused"
    )
    breaker_cooldown_s: float = Field(30.0, gt=0, description="How long a pause lasts")

    @field_validator("api_key", mode="before")
    @classmethod
    def _refuse_placeholders(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None  # an empty variable means "not set"
        if isinstance(raw, str) and raw.strip().lower() in PLACEHOLDER_KEYS:
            raise ValueError("the Claude API key is a placeholder; set a real key or unset it")
        return value


class ExplainerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_EXPLAINER_", extra="ignore")

    durable: str = Field("explainer", description="Durable consumer name; replicas share it")
    explain: Literal["flagged", "all"] = Field(
        "flagged", description="Which decisions to explain: the flagged ones, or every one"
    )
    batch_size: int = Field(256, ge=1, le=10_000, description="Messages fetched per batch")
    fetch_timeout_s: float = Field(0.5, gt=0)
    max_attempts: int = Field(5, ge=1, description="Deliveries before a message is dead-lettered")
    ack_wait_s: float = Field(
        60.0, gt=0, description="Unacked messages are redelivered after this; above the budget"
    )
    narrative_budget_s: float = Field(
        20.0,
        gt=0,
        description="Time a batch waits for Claude; narratives not back by then use the template",
    )
    top_k: int = Field(8, ge=1, le=64, description="Feature contributions listed per decision")
    model_cache_size: int = Field(4, ge=1, description="Model versions kept loaded")
    health_host: str = Field("127.0.0.1", description="Bind address of /healthz, /readyz, /metrics")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")

    claude: ClaudeSettings = Field(default_factory=ClaudeSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @model_validator(mode="after")
    def _batch_finishes_before_redelivery(self) -> Self:
        if self.ack_wait_s < self.narrative_budget_s + 10:
            raise ValueError(
                f"ack_wait_s ({self.ack_wait_s:g}) must exceed narrative_budget_s "
                f"({self.narrative_budget_s:g}) by 10 s, or a batch waiting for Claude is "
                "delivered again before it is done"
            )
        return self
