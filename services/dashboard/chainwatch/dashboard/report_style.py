"""The stylesheet of the printable case report, inlined so a saved report stands alone.

The report's Content-Security-Policy allows exactly this stylesheet, by its SHA-256, and
no script or resource at all.
"""

from __future__ import annotations

import base64
import hashlib

REPORT_CSS = """
body { font: 13px/1.5 Georgia, "Times New Roman", serif; color: #111; margin: 24px auto;
       max-width: 860px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #999; }
p.meta { color: #444; margin: 0 0 16px; font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 12px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px 4px 0;
         border-bottom: 1px solid #ddd; }
th { font-weight: bold; color: #333; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px;
        word-break: break-all; }
.narrative { white-space: pre-wrap; border-left: 3px solid #999; padding: 4px 12px;
             margin: 8px 0; }
.summary td:first-child { width: 200px; color: #333; font-weight: bold; }
.note { white-space: pre-wrap; }
.muted { color: #555; }
svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr, svg { break-inside: avoid; } }
"""

_DIGEST = base64.b64encode(hashlib.sha256(REPORT_CSS.encode()).digest()).decode()

REPORT_CSP = "; ".join(
    (
        "default-src 'none'",
        f"style-src 'sha256-{_DIGEST}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
