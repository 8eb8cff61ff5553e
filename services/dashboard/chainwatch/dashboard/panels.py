"""What the Fees, Lightning and Onboarding pages show, read from their services' JSON.

Each ``*_view`` returns the template's context. Answers are checked against the wire models
in ``chainwatch.shared`` (``FeeEstimate``, ``LightningHealthReport``, ``OnboardingDecision``),
so a service that answers something else is reported unavailable rather than half drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError

from chainwatch.dashboard import panel_charts
from chainwatch.dashboard.cases.explanations import Contribution
from chainwatch.dashboard.upstreams import Upstream, UpstreamUnavailable
from chainwatch.shared.explanations import Narrative
from chainwatch.shared.fee_events import FeeEstimate
from chainwatch.shared.lightning import LightningHealthReport
from chainwatch.shared.onboarding import OnboardingDecision, OnboardingError

FEES_PANEL = "/api/v1/fees/panel"
LIGHTNING_HEALTH = "/v1/lightning/health"
LIGHTNING_SNAPSHOTS = "/v1/lightning/snapshots"
ONBOARDING_SCORE = "/v1/onboarding/score"
ONBOARDING_DECISIONS = "/v1/onboarding/decisions"
ONBOARDING_ATTRIBUTES = "/v1/onboarding/attributes"
RECENT_DECISIONS = 25
COST_ACCEPT_BAD, COST_REFUSE_GOOD = 5.0, 1.0


def _shape_error(service: str, exc: ValidationError | KeyError | TypeError) -> UpstreamUnavailable:
    return UpstreamUnavailable(service, f"answered JSON of an unexpected shape ({exc})")


async def fees_view(fees: Upstream) -> dict[str, Any]:
    """The latest recommendations and, per recent block, the recommendation against what
    the block paid, with the shares overpaid / in range / underpaid."""
    answer = await fees.get(FEES_PANEL)
    if answer.status_code != 200 or not isinstance(answer.body, dict):
        raise UpstreamUnavailable(fees.name, f"answered HTTP {answer.status_code}")
    try:
        raw_latest = answer.body.get("latest")
        latest = FeeEstimate.model_validate(raw_latest) if raw_latest else None
        blocks: list[dict[str, Any]] = list(answer.body.get("blocks") or [])
        summary: dict[str, Any] = dict(answer.body.get("summary") or {})
    except (ValidationError, TypeError) as exc:
        raise _shape_error(fees.name, exc) from None
    return {"latest": latest, "blocks": blocks, "summary": summary}


async def lightning_view(lightning: Upstream) -> dict[str, Any]:
    """The latest health report (None while nothing is analysed) and every snapshot's score."""
    answer = await lightning.get(LIGHTNING_HEALTH)
    if answer.status_code == 404:
        return {"report": None, "history": []}
    if answer.status_code != 200:
        raise UpstreamUnavailable(lightning.name, f"answered HTTP {answer.status_code}")
    try:
        report = LightningHealthReport.model_validate(answer.body)
    except ValidationError as exc:
        raise _shape_error(lightning.name, exc) from None

    history_answer = await lightning.get(LIGHTNING_SNAPSHOTS)
    history = history_answer.body if isinstance(history_answer.body, list) else []
    return {"report": report, "history": history, **lightning_charts(report)}


def lightning_charts(report: LightningHealthReport) -> dict[str, Markup]:
    """The report's three charts: reachability by amount, the Lorenz curve, channel counts."""
    reach = report.reachability
    return {
        "reachability_chart": panel_charts.bar_chart(
            [f"{p.amount_sat:,} sat" for p in reach.by_amount],
            [p.probability for p in reach.by_amount],
            title="Probability that a random pair can route each amount",
            axis_label=f"Amount · {reach.pairs:,} random pairs, {reach.worlds} balance draws",
            y_max=1.0,
            intervals=[(p.ci_low, p.ci_high) for p in reach.by_amount],
        ),
        "lorenz_chart": panel_charts.lorenz_chart(
            [(p.node_share, p.capacity_share) for p in report.charts.lorenz_capacity],
            gini=report.concentration.capacity_gini,
        ),
        "degree_chart": panel_charts.bar_chart(
            [
                str(b.low) if b.high - b.low == 1 else f"{b.low}–{b.high - 1}"
                for b in report.charts.degree_histogram
            ],
            [float(b.node_count) for b in report.charts.degree_histogram],
            title="Nodes by number of channels",
            axis_label="Channels per node",
            value_fmt="{:,.0f}",
        ),
    }


@dataclass(frozen=True)
class FormField:
    """One applicant attribute as the onboarding service describes it for a form."""

    name: str
    label: str
    kind: str
    """``categorical``, ``integer`` or ``binary``."""
    values: tuple[tuple[str, str], ...] = ()
    """(wire value, words) of a categorical attribute."""
    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""


async def form_fields(onboarding: Upstream) -> list[FormField]:
    answer = await onboarding.get(ONBOARDING_ATTRIBUTES)
    if answer.status_code != 200 or not isinstance(answer.body, list):
        raise UpstreamUnavailable(onboarding.name, f"answered HTTP {answer.status_code}")
    try:
        return [
            FormField(
                name=str(f["name"]),
                label=str(f["label"]),
                kind=str(f["kind"]),
                values=tuple((str(v["value"]), str(v["label"])) for v in f.get("values", [])),
                minimum=f.get("minimum"),
                maximum=f.get("maximum"),
                unit=str(f.get("unit") or ""),
            )
            for f in answer.body
        ]
    except (KeyError, TypeError) as exc:
        raise _shape_error(onboarding.name, exc) from None


async def recent_decisions(onboarding: Upstream) -> list[dict[str, Any]]:
    answer = await onboarding.get(ONBOARDING_DECISIONS, {"limit": str(RECENT_DECISIONS)})
    if answer.status_code != 200 or not isinstance(answer.body, list):
        raise UpstreamUnavailable(onboarding.name, f"answered HTTP {answer.status_code}")
    return list(answer.body)


def applicant_request(fields: list[FormField], form: dict[str, str]) -> dict[str, Any]:
    """The score request for a submitted form. A value that does not convert is sent as
    typed, for the service to name in its error (it knows the rules; the page does not)."""
    applicant: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f.name, "").strip()
        if not raw:
            continue
        if f.kind == "integer":
            applicant[f.name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif f.kind == "binary":
            applicant[f.name] = {"yes": True, "no": False}.get(raw, raw)
        else:
            applicant[f.name] = raw
    body: dict[str, Any] = {"applicant": applicant}
    if form.get("application_id", "").strip():
        body["application_id"] = form["application_id"].strip()
    return body


async def score_applicant(
    onboarding: Upstream, body: dict[str, Any]
) -> OnboardingDecision | OnboardingError:
    """The service's decision, or its error naming every field it refused."""
    answer = await onboarding.post_json(ONBOARDING_SCORE, body)
    try:
        if answer.status_code == 200:
            return OnboardingDecision.model_validate(answer.body)
        return OnboardingError.model_validate(answer.body)
    except ValidationError as exc:
        raise _shape_error(onboarding.name, exc) from None


async def recorded_decision(onboarding: Upstream, decision_id: str) -> OnboardingDecision | None:
    """A decision as the audit trail holds it, or None when there is no such decision."""
    answer = await onboarding.get(f"{ONBOARDING_DECISIONS}/{decision_id}")
    if answer.status_code in (404, 422):
        return None
    if answer.status_code != 200:
        raise UpstreamUnavailable(onboarding.name, f"answered HTTP {answer.status_code}")
    row = answer.body
    try:
        risk = float(row["risk_proba"])
        narrative = Narrative(
            text=row["narrative"], path=row["narrative_path"], **(row.get("narrative_meta") or {})
        )
        return OnboardingDecision(
            decision_id=row["decision_id"],
            application_id=row.get("application_id"),
            decided_at=row["decided_at"],
            outcome=row["outcome"],
            risk_proba=risk,
            threshold=row["threshold"],
            expected_cost_accept=COST_ACCEPT_BAD * risk,
            expected_cost_refuse=COST_REFUSE_GOOD * (1.0 - risk),
            model_name=row["model_name"],
            model_version=row["model_version"],
            base_log_odds=row["base_log_odds"],
            output_log_odds=row["output_log_odds"],
            reasons=row["reasons"],
            narrative=narrative,
            audit_row_hash=row["row_hash"],
        )
    except (ValidationError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamUnavailable(
            onboarding.name, f"a recorded decision is unreadable: {exc}"
        ) from None


def reason_contributions(decision: OnboardingDecision) -> list[Contribution]:
    """The decision's reasons as the SHAP chart draws them, largest magnitude first."""
    reasons = sorted(decision.reasons, key=lambda r: abs(r.log_odds), reverse=True)
    return [
        Contribution(r.attribute, r.label, f"{r.label}: {r.value_text}", r.log_odds)
        for r in reasons
    ]


def field_errors_by_name(error: OnboardingError) -> dict[str, str]:
    """Each refused field's message, keyed by the attribute (``applicant.`` dropped)."""
    return {e.field.removeprefix("applicant."): e.message for e in error.field_errors}
