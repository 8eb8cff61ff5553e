"""The server-drawn SVG charts: labelled, escaped, and true to the numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from chainwatch.dashboard.cases.explanations import Contribution, explanation_from
from chainwatch.dashboard.charts import score_bar, shap_chart
from chainwatch.shared.schemas import RiskBand

from .factories import make_decision, make_explanation

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - markup this test just made


def _contributions() -> list[Contribution]:
    return [
        Contribution(
            "exposure_sanctions_share", "sanctions exposure", "sanctions exposure 62%", 1.8
        ),
        Contribution("output_count", "outputs", "outputs 2", -0.4),
        Contribution("fee_rate_sat_vb", "fee rate", "fee rate <b>12</b> sat/vB", 0.2),
    ]


def test_every_bar_is_labelled_with_the_value_and_its_signed_contribution() -> None:
    svg = _parse(str(shap_chart(_contributions(), base_value=-3.0)))
    texts = [t.text for t in svg.iter(f"{SVG}text")]

    assert svg.find(f"{SVG}title") is not None
    assert "sanctions exposure 62%" in texts and "+1.800" in texts and "-0.400" in texts
    assert any("log-odds" in (t or "") for t in texts)
    assert any(t and "= -1.400" in t for t in texts), "base value + contributions = output"
    rects = svg.findall(f"{SVG}rect")
    widths = [float(r.get("width", 0)) for r in rects]
    assert widths[0] > widths[1] > widths[2], "bar length follows the magnitude"
    assert rects[0].get("fill") != rects[1].get("fill"), "raising and lowering differ in colour"


def test_text_is_escaped_and_no_style_attribute_is_used() -> None:
    markup = str(shap_chart(_contributions(), base_value=None))

    assert "<b>" not in markup and "&lt;b&gt;" in markup
    assert "style=" not in markup


def test_beyond_the_top_the_rest_is_one_bar() -> None:
    many = [Contribution(f"f{i}", f"f{i}", f"feature {i}", 0.1) for i in range(14)]

    svg = _parse(str(shap_chart(many, base_value=0.0, top=10)))

    assert len(svg.findall(f"{SVG}rect")) == 11
    assert "4 other features" in [t.text for t in svg.iter(f"{SVG}text")]


def test_no_contribution_draws_nothing() -> None:
    assert str(shap_chart([], base_value=None)) == ""


def test_score_bar_fills_in_proportion() -> None:
    svg = _parse(str(score_bar(0.25, width=100, band="High")))
    fill = svg.findall(f"{SVG}rect")[1]

    assert fill.get("width") == "25.0"
    assert re.fullmatch(r"#[0-9a-f]{6}", fill.get("fill", ""))


def test_the_explainers_message_reads_as_an_explanation() -> None:
    decision = make_decision(RiskBand.SEVERE)
    message = make_explanation(decision, "ab" * 32).model_dump(mode="json")

    explanation = explanation_from(message, "cd" * 32)

    texts = [c.value_text for c in explanation.contributions]
    assert texts[:2] == ["exposure to sanctions 62%", "fee rate 59.6 sat/vB"], "largest first"
    assert texts[-1] == "49 other features"
    assert explanation.base_value == -3.1
    total = sum(c.contribution for c in explanation.contributions)
    assert explanation.output_value == pytest.approx(explanation.base_value + total)
    assert explanation.path == "template" and "sanctions list" in explanation.narrative
    assert explanation.fallback_reason == "no API key configured"
    assert explanation.model == "screening-xgb xgb-test-1"
    assert explanation.reproduced is True
