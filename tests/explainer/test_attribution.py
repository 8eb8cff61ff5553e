"""Attribution on real transactions: exact TreeSHAP adds up, and explains the model that decided."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xgboost as xgb

from chainwatch.explainer.attributor import Attributor, feature_rows
from chainwatch.explainer.contributions import Contributions, proportional_proba, sigmoid
from chainwatch.explainer.errors import AttributionUnavailableError
from chainwatch.explainer.linear import linear_contributions
from chainwatch.explainer.modelcache import ModelCache
from chainwatch.explainer.treeshap import tree_contributions
from chainwatch.scorer.models import load_batch_model, load_online_model
from chainwatch.shared.explanations import AttributionMethod, ModelAttribution
from chainwatch.shared.features import FEATURE_NAMES
from chainwatch.shared.registry import MODEL_CHAMPION, MODEL_ONLINE
from chainwatch.shared.schemas import ScoredTransaction, Tier

from .conftest import LGB_VERSION, ONLINE_VERSION, SCALED_VERSION, XGB_VERSION, RealDecisions

ADDS_UP = 1e-4
"""log-odds; the trees compute in float32, so sums agree to about 1e-6 of their size."""


def _batch_decided(decisions: list[ScoredTransaction]) -> list[ScoredTransaction]:
    chosen = [d for d in decisions if d.deciding_tier is Tier.BATCH]
    assert len(chosen) >= len(decisions) - 1, "the batch tier decides all but the sanctioned one"
    return chosen


@pytest.mark.parametrize("version", [XGB_VERSION, LGB_VERSION])
async def test_treeshap_plus_expected_value_is_the_raw_output_for_every_real_transaction(
    real_decisions: RealDecisions, version: str
) -> None:
    decisions = real_decisions.xgboost if version == XGB_VERSION else real_decisions.lightgbm
    decisions = _batch_decided(decisions)
    loaded = await real_decisions.store.get_version(MODEL_CHAMPION, version)
    model = load_batch_model(MODEL_CHAMPION, version, loaded)
    rows = feature_rows(decisions)

    phi = tree_contributions(model, rows)

    raw_output = _raw_output(model.native, model.framework, rows[:, list(model.columns)])
    total = phi.expected_log_odds + phi.log_odds.sum(axis=1)
    assert np.abs(total - raw_output).max() < ADDS_UP
    assert phi.additivity_error.max() < ADDS_UP
    recorded = [
        next(t.risk_score for t in d.tiers if t.model_version == version) for d in decisions
    ]
    np.testing.assert_allclose(sigmoid(phi.output_log_odds), recorded, atol=1e-5)
    assert np.unique(phi.expected_log_odds).size == 1, "one base value for the whole model"


def _raw_output(native: object, framework: str, x: np.ndarray) -> np.ndarray:
    """The model's raw margin, computed apart from the code under test."""
    if framework == "xgboost":
        margin = native.predict(xgb.DMatrix(x, missing=np.nan), output_margin=True)  # type: ignore[attr-defined]
    else:
        margin = native.predict(x, raw_score=True)  # type: ignore[attr-defined]
    return np.asarray(margin, dtype=np.float64)


async def test_attributions_of_flagged_real_decisions_add_up_in_both_units(
    real_decisions: RealDecisions,
) -> None:
    decisions = _batch_decided(real_decisions.xgboost)
    attributor = Attributor(ModelCache(real_decisions.store), top_k=8)

    results = await attributor.explain(decisions)

    flagged = [r.attribution for d, r in zip(decisions, results, strict=True) if d.flagged]
    assert len(flagged) > 100, "the weakly labelled model flags a good share of real traffic"
    for a in (r.attribution for r in results):
        assert a is not None and a.method is AttributionMethod.TREESHAP
        assert a.model_version == XGB_VERSION and a.reproduced
        _assert_adds_up(a)
        assert len(a.contributions) == 8 and a.rest_count == len(FEATURE_NAMES) - 8
        sizes = [abs(c.log_odds) for c in a.contributions]
        assert sizes == sorted(sizes, reverse=True)


def _assert_adds_up(a: ModelAttribution) -> None:
    listed = sum(c.log_odds for c in a.contributions) + a.rest_log_odds
    assert a.expected_log_odds + listed == pytest.approx(a.output_log_odds, abs=ADDS_UP)
    listed_proba = sum(c.proba for c in a.contributions) + a.rest_proba
    assert a.expected_proba + listed_proba == pytest.approx(a.output_proba, abs=1e-9)
    assert a.output_proba == pytest.approx(a.recorded_score, abs=1e-5)
    for c in a.contributions:
        assert c.log_odds == 0 or math.copysign(1, c.log_odds) == math.copysign(1, c.proba)
        assert c.value_text and c.label and c.unit


async def test_online_decisions_are_explained_by_their_logistic_terms(
    real_decisions: RealDecisions,
) -> None:
    decisions = [d for d in real_decisions.online if d.deciding_tier is Tier.ONLINE]
    assert len(decisions) >= len(real_decisions.online) - 1
    results = await Attributor(ModelCache(real_decisions.store)).explain(decisions)

    for a in (r.attribution for r in results):
        assert a is not None and a.method is AttributionMethod.LINEAR
        assert a.model_name == MODEL_ONLINE and a.framework == "river" and a.reproduced
        _assert_adds_up(a)


async def test_standard_scaler_pipeline_terms_reproduce_its_probability(
    real_decisions: RealDecisions,
) -> None:
    loaded = await real_decisions.store.get_version(MODEL_ONLINE, SCALED_VERSION)
    model = load_online_model(MODEL_ONLINE, SCALED_VERSION, loaded)
    rows = feature_rows(real_decisions.rules[:500])

    terms = linear_contributions(model, rows)

    np.testing.assert_allclose(sigmoid(terms.output_log_odds), model.predict_proba(rows), atol=1e-9)
    assert terms.additivity_error.max() < 1e-9


async def test_rules_decisions_and_unexplainable_models_get_a_note(
    real_decisions: RealDecisions,
) -> None:
    sanctioned = next(d for d in real_decisions.xgboost if d.deciding_tier is Tier.HEURISTIC)
    unknown = _batch_decided(real_decisions.xgboost)[0].model_copy(
        update={"model_versions": {"batch": "xgb-never-stored"}}
    )
    results = await Attributor(ModelCache(real_decisions.store)).explain([sanctioned, unknown])

    assert results[0].attribution is None and "decided by the rules" in results[0].note
    assert results[1].attribution is None and "xgb-never-stored" in results[1].note


async def test_an_unsupported_river_model_is_refused(real_decisions: RealDecisions) -> None:
    from river import tree

    loaded = await real_decisions.store.get_version(MODEL_ONLINE, ONLINE_VERSION)
    model = load_online_model(MODEL_ONLINE, ONLINE_VERSION, loaded)
    hoeffding = type(model)(**{**model.__dict__, "native": tree.HoeffdingTreeClassifier()})

    with pytest.raises(AttributionUnavailableError, match="HoeffdingTreeClassifier"):
        linear_contributions(hoeffding, feature_rows(real_decisions.rules[:3]))


def test_probability_terms_keep_signs_and_sum_to_the_change_of_probability() -> None:
    rng = np.random.default_rng(11)
    log_odds = rng.normal(size=(200, 6)) * rng.uniform(0.01, 3.0, size=(200, 1))
    expected = rng.normal(size=200)
    expected[:5] = expected[:5] + 0.0  # some rows where output == expected:
    log_odds[:5] = 0.0
    phi = Contributions((0, 1, 2, 3, 4, 5), log_odds, expected, expected + log_odds.sum(axis=1))

    proba = proportional_proba(phi)

    change = sigmoid(phi.output_log_odds) - sigmoid(phi.expected_log_odds)
    np.testing.assert_allclose(proba.sum(axis=1), change, atol=1e-12)
    assert np.all(np.sign(proba) == np.sign(log_odds))
    assert np.all(np.argsort(-np.abs(proba), axis=1) == np.argsort(-np.abs(log_odds), axis=1))
