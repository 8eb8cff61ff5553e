"""Charts drawn on the server as SVG: readable without JavaScript, printable, no resources.

Presentation is in SVG attributes rather than ``style``, so the charts obey a strict
Content-Security-Policy and look the same in a saved report. All text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from chainwatch.dashboard.cases.explanations import Contribution

TOWARDS_ILLICIT = "#c2410c"
TOWARDS_LEGITIMATE = "#2563eb"
INK = "#1d2430"
MUTED = "#637083"
GRID = "#e2e6eb"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


def shap_chart(
    contributions: Sequence[Contribution],
    *,
    base_value: float | None,
    top: int = 10,
    width: int = 720,
) -> Markup:
    """A horizontal bar per feature, from a zero line: right raises the risk, left lowers it.

    ``contributions`` are in log-odds, largest magnitude first; the ``top`` largest get a
    bar each and the rest one summed bar. Each bar is labelled with the feature's value in
    words and its contribution, signed.
    """
    shown = list(contributions[:top])
    rest = contributions[top:]
    rows: list[tuple[str, float]] = [(c.value_text, c.contribution) for c in shown]
    if rest:
        rows.append((f"{len(rest)} other features", sum(c.contribution for c in rest)))
    if not rows:
        return Markup("")

    label_w, value_w, row_h, top_pad = 300, 64, 24, 30
    plot_w = width - label_w - value_w - 16
    height = top_pad + row_h * len(rows) + 56
    span = max(abs(v) for _, v in rows) or 1.0
    has_negative = any(v < 0 for _, v in rows)
    zero_x = label_w + (plot_w / 2 if has_negative else 0)
    scale = (plot_w / 2 if has_negative else plot_w) / span

    total = sum(c.contribution for c in contributions)
    summary = f"Sum of contributions {total:+.3f}"
    if base_value is not None:
        output = base_value + total
        summary = f"Base value {base_value:+.3f} + contributions {total:+.3f} = {output:+.3f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart shap-chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="shap-title" font-family="{escape(FONT)}" font-size="12">',
        '<title id="shap-title">Feature contributions to the risk score (SHAP, log-odds)</title>',
        f'<text x="{label_w}" y="16" fill="{MUTED}" font-size="11">'
        "← lowers risk · raises risk →</text>"
        if has_negative
        else f'<text x="{label_w}" y="16" fill="{MUTED}" font-size="11">raises risk →</text>',
        f'<line x1="{zero_x:.1f}" y1="{top_pad - 6}" x2="{zero_x:.1f}"'
        f' y2="{top_pad + row_h * len(rows)}" stroke="{MUTED}" stroke-width="1"/>',
    ]
    for i, (label, value) in enumerate(rows):
        y = top_pad + i * row_h
        bar_w = abs(value) * scale
        x = zero_x if value >= 0 else zero_x - bar_w
        colour = TOWARDS_ILLICIT if value >= 0 else TOWARDS_LEGITIMATE
        text_x = x + bar_w + 6 if value >= 0 else x - 6
        anchor = "start" if value >= 0 else "end"
        parts += [
            f'<line x1="0" y1="{y + row_h - 1}" x2="{width}" y2="{y + row_h - 1}"'
            f' stroke="{GRID}" stroke-width="1"/>',
            f'<text x="{label_w - 10}" y="{y + 16}" text-anchor="end" fill="{INK}">'
            f"{escape(_clip(label, 44))}</text>",
            f'<rect x="{x:.1f}" y="{y + 5}" width="{max(bar_w, 1):.1f}" height="{row_h - 10}"'
            f' rx="2" fill="{colour}"><title>{escape(label)}: {value:+.4f}</title></rect>',
            f'<text x="{text_x:.1f}" y="{y + 16}" text-anchor="{anchor}" fill="{INK}"'
            f' font-variant-numeric="tabular-nums">{value:+.3f}</text>',
        ]
    axis_y = top_pad + row_h * len(rows) + 18
    parts += [
        f'<text x="{label_w}" y="{axis_y}" fill="{MUTED}" font-size="11">'
        "Contribution to the model's raw output, in log-odds (not probability)</text>",
        f'<text x="{label_w}" y="{axis_y + 15}" fill="{MUTED}" font-size="11">'
        f"{escape(summary)}</text>",
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped above


BAND_COLOURS = {"Low": "#8b95a5", "Medium": "#d99a0b", "High": "#e0661a", "Severe": "#c81e1e"}


def score_bar(score: float, *, width: int = 120, band: str | None = None) -> Markup:
    """A small bar for a score in [0, 1], with the default band edges (0.30, 0.60, 0.85)
    marked, coloured by ``band``."""
    colour = BAND_COLOURS.get(band or "", INK)
    filled = max(0.0, min(1.0, score)) * width
    ticks = "".join(
        f'<line x1="{edge * width:.1f}" y1="0" x2="{edge * width:.1f}" y2="10"'
        f' stroke="#ffffff" stroke-width="1"/>'
        for edge in (0.30, 0.60, 0.85)
    )
    return Markup(  # noqa: S704 - numbers and a colour from BAND_COLOURS only
        f'<svg xmlns="http://www.w3.org/2000/svg" class="score-svg" width="{width}" height="10"'
        f' viewBox="0 0 {width} 10" role="img" aria-label="score {score:.3f} of 1">'
        f'<rect x="0" y="0" width="{width}" height="10" rx="2" fill="{GRID}"/>'
        f'<rect x="0" y="0" width="{filled:.1f}" height="10" rx="2" fill="{colour}"/>'
        f"{ticks}</svg>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
