"""Onboarding settings (env prefix ``CHAINWATCH_ONBOARDING_``).

Narratives come from Claude only with ``CHAINWATCH_ONBOARDING_CLAUDE_API_KEY`` set (the rest of
Claude's settings under the same prefix, see ``chainwatch.explainer.settings``).
Protected attributes (``PROTECTED_ATTRIBUTES``, a JSON list of attribute names) are the ones
the fairness report groups by; with ``EXCLUDE_PROTECTED`` (the default) the model never
sees them either. Lists and mappings are given as JSON, e.g.
``CHAINWATCH_ONBOARDING_PROTECTED_BANDS='{"age_years": [25, 35, 50]}'``.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainwatch.explainer.settings import ClaudeSettings
from chainwatch.onboarding.attributes import ATTRIBUTES, BY_NAME
from chainwatch.onboarding.costs import CostMatrix, ThresholdMethod
from chainwatch.onboarding.learners import GbmParams
from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DatabaseSettings, DataSettings, LogSettings, NatsSettings

MODEL_NAME = "onboarding-gbm"


class OnboardingClaudeSettings(ClaudeSettings):
    """The explainer's Claude settings, read under ``CHAINWATCH_ONBOARDING_CLAUDE_``.

    With no ``CHAINWATCH_ONBOARDING_CLAUDE_API_KEY`` every narrative is the template's.
    """

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_ONBOARDING_CLAUDE_", extra="ignore")


class TrainingSettings(BaseSettings):
    """How the model is trained and judged (env prefix ``CHAINWATCH_ONBOARDING_TRAIN_``)."""

    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_ONBOARDING_TRAIN_", extra="ignore")

    folds: int = Field(10, ge=2, le=50, description="Outer folds of the cross-validation")
    inner_folds: int = Field(5, ge=2, le=20, description="Folds that fit calibration, threshold")
    seed: int = Field(20_260_101, description="Seed of the folds and of LightGBM")
    threshold_method: ThresholdMethod = Field(
        "bayes",
        description="bayes: refuse when P(bad) >= 1/6 (cost ratio); empirical: the threshold "
        "with the least cost on out-of-fold probabilities",
    )
    cost_bad_accepted: float = Field(5.0, gt=0, description="Cost of accepting a bad applicant")
    cost_good_refused: float = Field(1.0, gt=0, description="Cost of refusing a good applicant")
    min_group_size: int = Field(30, ge=1, description="Smallest group compared for fairness")
    gbm: GbmParams = Field(default_factory=GbmParams)

    @property
    def cost(self) -> CostMatrix:
        return CostMatrix(self.cost_bad_accepted, self.cost_good_refused)


class OnboardingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINWATCH_ONBOARDING_", extra="ignore")

    model_name: str = Field(MODEL_NAME, description="Registry name of the model served")
    protected_attributes: list[str] = Field(
        ["age_years", "personal_status_sex"],
        description="Attributes the fairness report groups by",
    )
    exclude_protected: bool = Field(True, description="Keep protected attributes out of the model")
    protected_bands: dict[str, list[int]] = Field(
        {"age_years": [25, 35, 50]}, description="Band edges of integer protected attributes"
    )
    train_if_missing: bool = Field(
        False, description="With no promoted version, train, store and promote one at start"
    )
    health_host: str = Field("127.0.0.1", description="Bind address of the HTTP API and probes")
    health_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    max_request_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted")
    narrative_timeout_s: float = Field(
        15.0, gt=0, description="Longest wait for a narrative before the template is used"
    )

    train: TrainingSettings = Field(default_factory=TrainingSettings)
    claude: OnboardingClaudeSettings = Field(default_factory=OnboardingClaudeSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @model_validator(mode="after")
    def _known_attributes(self) -> Self:
        unknown = [a for a in self.protected_attributes if a not in BY_NAME]
        if unknown:
            raise ValueError(f"unknown protected attributes {unknown}; known: {list(BY_NAME)}")
        for name in self.protected_attributes:
            if BY_NAME[name].kind == "integer" and not self.protected_bands.get(name):
                raise ValueError(f"protected attribute {name} is an integer: give its bands")
        return self

    @property
    def features(self) -> tuple[str, ...]:
        """The attributes the model is trained on, in the data's column order."""
        excluded = set(self.protected_attributes) if self.exclude_protected else set()
        return tuple(a.name for a in ATTRIBUTES if a.name not in excluded)
