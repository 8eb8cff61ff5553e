"""The served model: exact reasons, a faithful round trip through the registry, refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from chainwatch.onboarding.calibration import sigmoid
from chainwatch.onboarding.dataset import CreditData
from chainwatch.onboarding.errors import ModelRefusedError
from chainwatch.onboarding.model import OnboardingModel
from chainwatch.onboarding.pipeline import TrainedVersion
from chainwatch.shared.model_store import FilesystemStore, LoadedModel


def test_reasons_add_up_to_the_calibrated_log_odds(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    for applicant in credit_data.applicants[:200]:
        score = trained.model.score(applicant)
        total = score.base_log_odds + sum(score.contributions.values())
        assert total == pytest.approx(score.log_odds, abs=1e-9)
        assert score.proba == pytest.approx(float(sigmoid(np.array([score.log_odds]))[0]))
        assert score.refused == (score.proba >= trained.model.threshold)


def test_protected_attributes_are_neither_features_nor_reasons(
    trained: TrainedVersion, credit_data: CreditData
) -> None:
    score = trained.model.score(credit_data.applicants[0])
    assert "age_years" not in score.contributions
    assert "personal_status_sex" not in score.contributions
    assert trained.card["protected_excluded_from_features"] == ["age_years", "personal_status_sex"]


async def _round_trip(trained: TrainedVersion, root: Path) -> LoadedModel:
    store = FilesystemStore(root)
    name, version = trained.model.name, trained.model.version
    await store.put_version(name, version, trained.files, trained.card)
    return await store.get_version(name, version)


async def test_a_stored_version_scores_exactly_as_trained(
    trained: TrainedVersion, credit_data: CreditData, tmp_path: Path
) -> None:
    loaded = OnboardingModel.from_loaded(await _round_trip(trained, tmp_path))
    assert loaded.threshold == trained.model.threshold
    for applicant in credit_data.applicants[:50]:
        assert loaded.score(applicant) == trained.model.score(applicant)


async def test_a_version_with_another_encoding_is_refused(
    trained: TrainedVersion, tmp_path: Path
) -> None:
    loaded = await _round_trip(trained, tmp_path)
    encoding = dict(loaded.card["encoding"])
    encoding["purpose"] = list(reversed(encoding["purpose"]))
    changed = dataclasses.replace(loaded, card={**loaded.card, "encoding": encoding})
    with pytest.raises(ModelRefusedError, match="encoding"):
        OnboardingModel.from_loaded(changed)


async def test_a_version_of_another_feature_set_is_refused(
    trained: TrainedVersion, tmp_path: Path
) -> None:
    loaded = await _round_trip(trained, tmp_path)
    changed = dataclasses.replace(loaded, card={**loaded.card, "feature_set_version": "v0"})
    with pytest.raises(ModelRefusedError, match="feature set"):
        OnboardingModel.from_loaded(changed)
