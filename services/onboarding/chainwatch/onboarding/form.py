"""The applicant form and the decision view: plain HTML, no script, no external asset.

``form_fields`` describes every attribute for a form (label, kind, allowed values and their
words, integer bounds); the API serves it as JSON so another front end (the dashboard) can
draw its own form. ``render_form`` and ``render_decision`` draw this service's own pages.
Every value written into a page is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from chainwatch.onboarding.attributes import ATTRIBUTES, Attribute
from chainwatch.shared.onboarding import Applicant, FieldError, OnboardingDecision

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2733}
h1{font-size:1.4rem}fieldset{border:1px solid #ccd;border-radius:6px;margin:0 0 1rem}
label{display:grid;grid-template-columns:18rem 1fr;gap:.5rem;margin:.3rem 0}
.errors{background:#fdecec;border:1px solid #d66;padding:.5rem 1rem;border-radius:6px}
.accept{color:#17672e}.refuse{color:#a4161a}table{border-collapse:collapse;width:100%}
td,th{padding:.25rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left}
.bar{height:.7rem;display:inline-block}.up{background:#d9534f}.down{background:#3c8d5a}
code{font-size:.85em;word-break:break-all}
"""


_PROPERTIES: dict[str, Any] = Applicant.model_json_schema()["properties"]


def _bounds(name: str) -> tuple[int | None, int | None]:
    """The inclusive bounds of an integer attribute, as the wire model validates them."""
    return _PROPERTIES[name].get("minimum"), _PROPERTIES[name].get("maximum")


def form_fields() -> list[dict[str, Any]]:
    """Every attribute as a form field: name, label, kind and its values or bounds."""
    fields = []
    for attribute in ATTRIBUTES:
        entry: dict[str, Any] = {
            "name": attribute.name,
            "attribute_number": attribute.number,
            "label": attribute.label,
            "kind": attribute.kind,
        }
        if attribute.kind == "categorical":
            entry["values"] = [
                {"value": v, "label": attribute.value_labels[v]} for v in attribute.categories
            ]
        elif attribute.kind == "integer":
            entry["minimum"], entry["maximum"] = _bounds(attribute.name)
            entry["unit"] = attribute.unit
        fields.append(entry)
    return fields


def request_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """A request body from submitted form fields; what does not convert is left for the
    validator to name (a non-integer stays a string, and is refused as one)."""
    applicant: dict[str, Any] = {}
    for attribute in ATTRIBUTES:
        raw = form.get(attribute.name, "").strip()
        if not raw:
            continue
        if attribute.kind == "integer":
            applicant[attribute.name] = int(raw) if raw.isdigit() else raw
        elif attribute.kind == "binary":
            applicant[attribute.name] = {"yes": True, "no": False}.get(raw, raw)
        else:
            applicant[attribute.name] = raw
    body: dict[str, Any] = {"applicant": applicant}
    if form.get("application_id", "").strip():
        body["application_id"] = form["application_id"].strip()
    return body


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style><body>{body}</body></html>"
    )


def _input(attribute: Attribute, value: str) -> str:
    name = escape(attribute.name)
    if attribute.kind == "integer":
        low, high = _bounds(attribute.name)
        return (
            f"<input type=number name={name} min={low} max={high} required "
            f'value="{escape(value)}"> {escape(attribute.unit)}'
        )
    options = (
        [("yes", "yes"), ("no", "no")]
        if attribute.kind == "binary"
        else [(v, attribute.value_labels[v]) for v in attribute.categories]
    )
    rendered = "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(text)}</option>'
        for v, text in options
    )
    return f"<select name={name} required><option value=''>choose</option>{rendered}</select>"


def render_form(values: Mapping[str, str] | None = None, errors: Sequence[FieldError] = ()) -> str:
    """The applicant form, filled with ``values`` and headed by ``errors`` when resubmitted."""
    values = values or {}
    problems = ""
    if errors:
        items = "".join(f"<li><b>{escape(e.field)}</b>: {escape(e.message)}</li>" for e in errors)
        problems = f"<div class=errors><p>The applicant is not valid:</p><ul>{items}</ul></div>"
    rows = "".join(
        f"<label><span>{escape(a.label)}</span>{_input(a, values.get(a.name, ''))}</label>"
        for a in ATTRIBUTES
    )
    reference = escape(values.get("application_id", ""))
    body = (
        f"<h1>Onboarding risk: score an applicant</h1>{problems}"
        f"<form method=post action=/v1/onboarding/form><fieldset><legend>Applicant</legend>"
        f"<label><span>your reference (optional)</span><input name=application_id "
        f'value="{reference}"></label>{rows}</fieldset><button>Score</button></form>'
        f"<p><a href=/v1/onboarding/decisions>recent decisions (JSON)</a> · "
        f"<a href=/v1/onboarding/model>model card (JSON)</a></p>"
    )
    return _page("Onboarding risk", body)


def render_decision(decision: OnboardingDecision) -> str:
    """One decision: outcome, probability and threshold, reasons with their weight, narrative."""
    outcome = decision.outcome.value
    widest = max((abs(r.log_odds) for r in decision.reasons), default=1.0) or 1.0
    rows = "".join(
        f"<tr><td>{escape(r.label)}</td><td>{escape(r.value_text)}</td>"
        f"<td>{r.log_odds:+.3f}</td><td><span class='bar {'up' if r.log_odds > 0 else 'down'}' "
        f"style='width:{100 * abs(r.log_odds) / widest:.0f}px'></span></td></tr>"
        for r in decision.reasons
    )
    body = (
        f"<h1>Decision: <span class={outcome}>{outcome}</span></h1>"
        f"<p>Probability of a bad risk <b>{decision.risk_proba:.3f}</b>; refused at or above "
        f"<b>{decision.threshold:.3f}</b>. Expected cost of accepting "
        f"{decision.expected_cost_accept:.3f}, of refusing {decision.expected_cost_refuse:.3f}."
        f"</p><h2>Narrative ({escape(decision.narrative.path.value)})</h2>"
        f"<p>{escape(decision.narrative.text)}</p>"
        f"<h2>Reasons</h2><p>Contributions to the log-odds of a bad risk (exact TreeSHAP); "
        f"red raises the risk, green lowers it. Base log-odds {decision.base_log_odds:+.3f}, "
        f"applicant {decision.output_log_odds:+.3f}.</p>"
        f"<table><tr><th>attribute</th><th>value</th><th>log-odds</th><th></th></tr>{rows}"
        f"</table><p>Model {escape(decision.model_name)} {escape(decision.model_version)}. "
        f"Decision <a href=/v1/onboarding/decisions/{escape(decision.decision_id)}>"
        f"{escape(decision.decision_id)}</a>, audit row <code>{decision.audit_row_hash}</code>."
        f"</p><p><a href=/v1/onboarding/form>score another applicant</a></p>"
    )
    return _page(f"Onboarding decision {decision.decision_id}", body)
