"""An HTML panel of a health report with its charts, drawn as inline SVG on the server.

No script and no external asset, so the dashboard can embed it in an iframe (or copy the
markup) and it renders the same anywhere. Every value shown comes from the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from chainwatch.shared.lightning import LightningHealthReport

WIDTH, HEIGHT, PAD = 320, 180, 28
BAND_COLOURS = {"healthy": "#2e7d32", "watch": "#f9a825", "poor": "#c62828"}

_STYLE = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:12px}
h1{font-size:18px}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.score{font-size:40px;font-weight:600}
svg text{font-size:10px;fill:#444}
"""


def render_panel(
    report: LightningHealthReport | None, history: Sequence[LightningHealthReport]
) -> str:
    """The panel's full HTML page; a short notice when nothing is analysed yet."""
    if report is None:
        return _page("<p>No Lightning snapshot analysed yet.</p>")

    colour = BAND_COLOURS[report.health.band]
    parts = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{value:.3f}</td>"
        f"<td class=n>× {report.health.weights[name]:.1f}</td></tr>"
        for name, value in report.health.parts.items()
    )
    score = (
        f"<div class=score style='color:{colour}'>{report.health.score:.1f}</div>"
        f"<div>{escape(report.health.band)}</div><table>{parts}</table>"
    )
    reach = _bars(
        [f"{p.amount_sat:,} sat" for p in report.reachability.by_amount],
        [p.probability for p in report.reachability.by_amount],
    )
    lorenz = _lorenz([(p.node_share, p.capacity_share) for p in report.charts.lorenz_capacity])
    degrees = _bars(
        [f"{b.low}-{b.high - 1}" for b in report.charts.degree_histogram],
        [float(b.node_count) for b in report.charts.degree_histogram],
        as_share=False,
    )
    c = report.concentration
    t = report.totals
    figures = _table(
        [
            ("nodes / channels", f"{t.active_node_count:,} / {t.channel_count:,}"),
            ("capacity", f"{t.total_capacity_sat / 1e8:,.2f} BTC"),
            ("capacity Gini", f"{c.capacity_gini:.3f}"),
            ("top 1% / 10% hold", f"{c.capacity_top1_share:.1%} / {c.capacity_top10_share:.1%}"),
            ("Nakamoto (capacity)", str(c.capacity_nakamoto)),
            ("Nakamoto (fragmentation)", str(report.topology.fragmentation_nakamoto)),
            ("components", str(report.topology.component_count)),
            ("cut vertices / bridges", f"{report.topology.cut_vertex_count} / "
             f"{report.topology.bridge_count}"),
        ]
    )  # fmt: skip
    hubs = _table(
        [
            (r.alias or r.pub_key[:16], f"{r.capacity_sat / 1e8:,.1f} BTC · b={r.betweenness:.3f}")
            for r in report.top_by_capacity
        ]
    )
    anomalies = (
        "".join(
            f"<li><b>{escape(a.kind)}</b> ({escape(a.severity)}): {escape(a.detail)}</li>"
            for a in report.change.anomalies
        )
        if report.change
        else ""
    ) or "<li>none against the baseline</li>"
    trend = _table([(h.snapshot, f"{h.health.score:.1f} ({h.health.band})") for h in history])

    cards = [
        ("Health score", score),
        ("Reachability by amount", reach),
        ("Capacity Lorenz curve", lorenz),
        ("Nodes by channel count", degrees),
        ("Figures", figures),
        ("Largest nodes by capacity", hubs),
        ("Anomalies", f"<ul>{anomalies}</ul>"),
        ("Snapshots", trend),
    ]
    body = "".join(f"<div class=card><h2>{title}</h2>{html}</div>" for title, html in cards)
    when = report.snapshot_at.date().isoformat() if report.snapshot_at else "undated"
    return _page(f"<h1>Lightning health · {escape(report.snapshot)} · {when}</h1>"
                 f"<div class=grid>{body}</div>")  # fmt: skip


def _page(body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Lightning health</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td>{escape(k)}</td><td class=n>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _bars(labels: Sequence[str], values: Sequence[float], as_share: bool = True) -> str:
    top = 1.0 if as_share else max(values, default=1.0) or 1.0
    slot = (WIDTH - 2 * PAD) / max(len(values), 1)
    shapes = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = (HEIGHT - 2 * PAD) * value / top
        x = PAD + i * slot + slot * 0.15
        y = HEIGHT - PAD - height
        shown = f"{value:.0%}" if as_share else f"{value:,.0f}"
        shapes.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{slot * 0.7:.1f}' height='{height:.1f}' "
            f"fill='#1565c0'/><text x='{x:.1f}' y='{y - 3:.1f}'>{shown}</text>"
            f"<text x='{x:.1f}' y='{HEIGHT - PAD + 12}'>{escape(label)}</text>"
        )
    return _svg("".join(shapes))


def _lorenz(points: Sequence[tuple[float, float]]) -> str:
    size = HEIGHT - 2 * PAD

    def xy(x: float, y: float) -> str:
        return f"{PAD + x * size:.1f},{HEIGHT - PAD - y * size:.1f}"

    curve = " ".join(xy(x, y) for x, y in points)
    return _svg(
        f"<polyline points='{xy(0, 0)} {xy(1, 1)}' fill='none' stroke='#999' "
        f"stroke-dasharray='3'/><polyline points='{curve}' fill='none' stroke='#1565c0' "
        f"stroke-width='2'/><text x='{PAD}' y='{HEIGHT - 6}'>share of nodes, smallest first"
        f"</text><text x='{PAD + size + 6}' y='{PAD + 8}'>share of capacity</text>"
    )


def _svg(inner: str) -> str:
    return (
        f"<svg viewBox='0 0 {WIDTH} {HEIGHT}' width='100%' role='img' "
        f"xmlns='http://www.w3.org/2000/svg'>{inner}</svg>"
    )
