"""The charts of the service panels (fees, Lightning), drawn as SVG on the server.

Like ``charts``, whose colours and font they share: presentation in SVG attributes (the
Content-Security-Policy forbids inline styles), every text escaped, a ``<title>`` naming
what the chart shows, and axes that say their units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from chainwatch.dashboard.charts import FONT, GRID, INK, MUTED, TOWARDS_LEGITIMATE, _clip

IN_RANGE = "#15803d"
OVERPAID = "#c2410c"
UNDERPAID = "#2563eb"
BLOCK_RANGE = "#cbd5e1"
OUTCOME_COLOURS = {"in_range": IN_RANGE, "overpaid": OVERPAID, "underpaid": UNDERPAID}

LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 44


def _open(width: int, height: int, title: str, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' font-family="{escape(FONT)}" font-size="12"><title>{escape(title)}</title>'
    ]


def _y_axis(parts: list[str], *, width: int, height: int, y_max: float, fmt: str) -> None:
    """Four gridlines with their values, from 0 to ``y_max``."""
    plot_h = height - TOP - BOTTOM
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}"'
            f' font-size="11">{escape(fmt.format(value))}</text>'
        )


def _caption(parts: list[str], *, x: float, y: float, text: str, anchor: str = "start") -> None:
    parts.append(
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{MUTED}"'
        f' font-size="11">{escape(text)}</text>'
    )


def _nice_max(value: float) -> float:
    """A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    step = 10 ** int(f"{value:e}".split("e")[1])
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return float(factor * step)
    return float(10 * step)


def fee_chart(
    blocks: Sequence[Mapping[str, Any]], *, width: int = 960, height: int = 300
) -> Markup:
    """Per judged block (oldest left): the fee-rate range the block paid, from its 5th
    percentile to its median (grey bar), and the next-block rate recommended just before it
    (a dot: green within the range, orange above it, blue below it). sat/vB."""
    rows = [b for b in blocks if b.get("recommended_sat_vb") is not None]
    if not rows:
        return Markup("")
    values = [
        float(v)
        for b in rows
        for v in (b["recommended_sat_vb"], b.get("block_p5_sat_vb"), b.get("block_median_sat_vb"))
        if v is not None
    ]
    y_max = _nice_max(max(values) * 1.05)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / len(rows)

    def y_of(rate: float) -> float:
        return TOP + plot_h - plot_h * min(rate, y_max) / y_max

    parts = _open(
        width, height, "Recommended next-block fee rate against what each block paid", "fee-chart"
    )
    _y_axis(parts, width=width, height=height, y_max=y_max, fmt="{:.0f}")
    legend = (
        ("block's 5th percentile to median", BLOCK_RANGE),
        ("recommended: within", IN_RANGE),
        ("above (overpaid)", OVERPAID),
        ("below (underpaid)", UNDERPAID),
    )
    x = LEFT
    for label, colour in legend:
        parts.append(
            f'<rect x="{x}" y="10" width="10" height="10" rx="2" fill="{colour}"/>'
            f'<text x="{x + 14}" y="19" fill="{INK}" font-size="11">{escape(label)}</text>'
        )
        x += 24 + 6 * len(label)
    for i, b in enumerate(rows):
        cx = LEFT + step * (i + 0.5)
        low, high = b.get("block_p5_sat_vb"), b.get("block_median_sat_vb")
        rate = float(b["recommended_sat_vb"])
        if low is not None and high is not None:
            top_y, bottom_y = y_of(float(high)), y_of(float(low))
            parts.append(
                f'<rect x="{cx - max(step * 0.3, 1):.1f}" y="{top_y:.1f}"'
                f' width="{max(step * 0.6, 2):.1f}" height="{max(bottom_y - top_y, 1):.1f}"'
                f' fill="{BLOCK_RANGE}"/>'
            )
        colour = OUTCOME_COLOURS.get(str(b.get("outcome")), MUTED)
        tip = f"block {b['height']}: recommended {rate:.1f} sat/vB"
        if low is not None and high is not None:
            tip += f", block paid {float(low):.1f}–{float(high):.1f}"
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{y_of(rate):.1f}" r="{min(max(step * 0.3, 2), 4):.1f}"'
            f' fill="{colour}"><title>{escape(tip)}</title></circle>'
        )
    axis_y = height - BOTTOM + 16
    _caption(parts, x=LEFT, y=axis_y, text=f"block {rows[0]['height']}")
    _caption(parts, x=width - RIGHT, y=axis_y, text=f"block {rows[-1]['height']}", anchor="end")
    _caption(
        parts,
        x=LEFT + plot_w / 2,
        y=axis_y + 16,
        text="Judged blocks, oldest left · fee rate in sat/vB",
        anchor="middle",
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped above


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    axis_label: str,
    value_fmt: str = "{:.0%}",
    y_max: float | None = None,
    intervals: Sequence[tuple[float, float]] | None = None,
    width: int = 460,
    height: int = 260,
) -> Markup:
    """Vertical bars with their values written above; ``intervals`` draws a whisker per bar
    (e.g. a 95% interval) in the values' units."""
    if not values:
        return Markup("")
    top = y_max if y_max is not None else _nice_max(max(values) * 1.1)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / len(values)
    bar_w = min(step * 0.62, 56)

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * min(max(value, 0.0), top) / top

    axis_fmt = "{:.0%}" if value_fmt.endswith("%}") else "{:,.0f}"
    parts = _open(width, height, title, "bar-chart")
    _y_axis(parts, width=width, height=height, y_max=top, fmt=axis_fmt)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        cx = LEFT + step * (i + 0.5)
        y = y_of(value)
        text = value_fmt.format(value)
        parts.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}"'
            f' height="{max(TOP + plot_h - y, 1):.1f}" rx="2" fill="{TOWARDS_LEGITIMATE}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
        )
        label_y = y - 5
        if intervals is not None:
            low, high = intervals[i]
            parts.append(
                f'<line x1="{cx:.1f}" y1="{y_of(low):.1f}" x2="{cx:.1f}" y2="{y_of(high):.1f}"'
                f' stroke="{INK}" stroke-width="1.2"/>'
                f'<line x1="{cx - 5:.1f}" y1="{y_of(high):.1f}" x2="{cx + 5:.1f}"'
                f' y2="{y_of(high):.1f}" stroke="{INK}" stroke-width="1.2"/>'
            )
            label_y = y_of(high) - 5
        parts.append(
            f'<text x="{cx:.1f}" y="{max(label_y, TOP - 4):.1f}" text-anchor="middle"'
            f' fill="{INK}" font-size="11">{escape(text)}</text>'
            f'<text x="{cx:.1f}" y="{height - BOTTOM + 15}" text-anchor="middle" fill="{INK}"'
            f' font-size="11">{escape(_clip(label, 14))}</text>'
        )
    _caption(parts, x=LEFT + plot_w / 2, y=height - 10, text=axis_label, anchor="middle")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped above


def lorenz_chart(
    points: Sequence[tuple[float, float]], *, gini: float | None = None, size: int = 300
) -> Markup:
    """The Lorenz curve of ``(node_share, capacity_share)`` points, smallest nodes first,
    against the diagonal of perfect equality."""
    if not points:
        return Markup("")
    width, height = size + LEFT, size
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def xy(node_share: float, capacity_share: float) -> str:
        return f"{LEFT + plot_w * node_share:.1f},{TOP + plot_h - plot_h * capacity_share:.1f}"

    curve = " ".join(xy(x, y) for x, y in [(0.0, 0.0), *points])
    parts = _open(width, height, "Lorenz curve of node capacity", "lorenz-chart")
    _y_axis(parts, width=width, height=height, y_max=1.0, fmt="{:.0%}")
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP}"'
        f' stroke="{MUTED}" stroke-dasharray="4 3"/>'
        f'<polyline points="{curve}" fill="none" stroke="{OVERPAID}" stroke-width="2"/>'
    )
    if gini is not None:
        parts.append(
            f'<text x="{LEFT + 8}" y="{TOP + 14}" fill="{INK}">Gini {gini:.3f}</text>'
            f'<text x="{LEFT + 8}" y="{TOP + 28}" fill="{MUTED}" font-size="11">'
            "dashed: equal capacity</text>"
        )
    _caption(
        parts,
        x=LEFT + plot_w / 2,
        y=height - 20,
        text="Share of nodes, smallest first",
        anchor="middle",
    )
    _caption(
        parts, x=LEFT + plot_w / 2, y=height - 6, text="(y: share of capacity)", anchor="middle"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped above
