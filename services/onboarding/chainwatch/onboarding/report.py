"""A model card's figures as Markdown: what ``chainwatch-onboarding train`` prints.

Two tables (model against baseline; fairness by group) and the gaps between groups, read
from the card only, so the report of any stored version can be drawn again from its card.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def performance_table(card: Mapping[str, Any]) -> str:
    """Cross-validated ROC-AUC and cost per applicant of the model and of the baseline."""
    rows = [
        "| model | ROC-AUC (mean ± sd over folds) | ROC-AUC (pooled) | cost per applicant "
        "(mean ± sd) | cost (pooled) | refused | Brier |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in (
        (f"LightGBM, calibrated ({card['name']})", card["metrics"]),
        ("logistic regression (baseline)", card["baseline"]),
    ):
        rows.append(
            f"| {name} | {m['roc_auc_mean']:.3f} ± {m['roc_auc_std']:.3f} | "
            f"{m['roc_auc_pooled']:.3f} | {m['cost_per_applicant_mean']:.3f} ± "
            f"{m['cost_per_applicant_std']:.3f} | {m['cost_per_applicant_pooled']:.3f} | "
            f"{_pct(m['refused_share'])} | {m['brier_score']:.3f} |"
        )
    return "\n".join(rows)


def fairness_tables(card: Mapping[str, Any]) -> str:
    """Per grouping: each group's rates, then the differences between the compared groups."""
    parts = []
    for name, report in card["fairness"].items():
        rows = [
            f"**{name}** ({report['label']})",
            "",
            "| group | applicants | bad rate | accepted | good accepted | good refused "
            "| bad accepted | cost per applicant |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for group, g in report["groups"].items():
            small = " (too small to compare)" if group in report["too_small_to_compare"] else ""
            rows.append(
                f"| {group}{small} | {g['applicants']} | {_pct(g['bad_rate'])} | "
                f"{_pct(g['acceptance_rate'])} | {_pct(g['good_acceptance_rate'])} | "
                f"{_pct(g['false_refusal_rate'])} | {_pct(g['bad_acceptance_rate'])} | "
                f"{_num(g['cost_per_applicant'])} |"
            )
        rows += [
            "",
            f"demographic parity difference {_num(report['demographic_parity_difference'])}, "
            f"disparate impact ratio {_num(report['disparate_impact_ratio'])}, "
            f"equal opportunity difference {_num(report['equal_opportunity_difference'])}, "
            f"equalized odds difference {_num(report['equalized_odds_difference'])}",
        ]
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def markdown_report(card: Mapping[str, Any]) -> str:
    """The whole report of a card."""
    excluded = ", ".join(card["protected_excluded_from_features"]) or "none"
    return "\n\n".join(
        [
            f"## {card['name']} {card['version']}",
            f"{card['metrics']['folds']}-fold stratified cross-validation, seed-fixed; the "
            f"threshold ({card['threshold_method']}, {card['threshold']:.3f}) and the Platt "
            f"calibration are fitted inside each training fold. Costs: a bad applicant "
            f"accepted {card['cost_matrix']['bad_accepted']:g}, a good one refused "
            f"{card['cost_matrix']['good_refused']:g}. Protected attributes kept out of the "
            f"features: {excluded}.",
            performance_table(card),
            "Fairness, on the out-of-fold decisions:",
            fairness_tables(card),
        ]
    )
