"""What the onboarding tests share: the real credit data, one model trained on it with the
service's own recipe (10-fold cross-validation included), and applicants to send.

Training takes about ten seconds, once per session; every test that needs a model uses that
one. Integration tests give the model a name of their own on the shared NATS and remove its
pointer afterwards, so no other test sees it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from chainwatch.onboarding.dataset import CreditData, load_credit_data
from chainwatch.onboarding.pipeline import TrainedVersion, train_version
from chainwatch.onboarding.settings import OnboardingSettings
from chainwatch.shared.registry import RegistrySettings
from chainwatch.shared.settings import DataSettings


@pytest.fixture(scope="session")
def credit_data(data_dir: Path) -> CreditData:
    if not (data_dir / "onboarding_risk").is_dir():
        pytest.skip(f"no onboarding_risk folder in {data_dir}")
    return load_credit_data(data_dir)


@pytest.fixture(scope="session")
def model_name() -> str:
    return f"onboarding-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def settings(
    model_name: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> OnboardingSettings:
    return OnboardingSettings(
        model_name=model_name,
        registry=RegistrySettings(root=tmp_path_factory.mktemp("models")),
        data=DataSettings(data_dir=data_dir),
    )


@pytest.fixture(scope="session")
def trained(settings: OnboardingSettings, credit_data: CreditData) -> TrainedVersion:
    return train_version(settings, credit_data)


@pytest.fixture
def applicant_json(credit_data: CreditData) -> dict[str, Any]:
    """The first applicant of the data set as a JSON object, as a client would send it."""
    applicant: dict[str, Any] = json.loads(credit_data.applicants[0].model_dump_json())
    return applicant
