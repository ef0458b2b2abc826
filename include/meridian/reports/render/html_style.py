"""The HTML page's palette and stylesheet, and escaping (shared by the page and the e-mail body)."""

from __future__ import annotations

from html import escape
from typing import Any

from meridian.reports.summary import Change

INK = "#1f2933"
MUTED = "#616e7c"
ACCENT = "#2563eb"
GOOD = "#15803d"
BAD = "#b91c1c"
RULE = "#d9e2ec"
TILE_BG = "#f5f7fa"
NEGATIVE = "#dc2626"
LINE_COLOURS = (ACCENT, "#ea580c", "#9333ea", "#0d9488")

CSS = f"""
*{{box-sizing:border-box}}
html{{-webkit-text-size-adjust:100%}}
body{{margin:0;background:#fff;color:{INK};font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}}
main{{max-width:960px;margin:0 auto;padding:32px 28px 24px}}
h1{{font-size:26px;line-height:1.2;margin:0 0 8px}}
h2{{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid {RULE}}}
.subtitle{{margin:0 0 10px;font-size:15px}}
.meta{{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;color:{MUTED}}}
.meta dt{{font-weight:600;color:{INK}}}
.meta dd{{margin:0}}
.note{{color:{MUTED};font-style:italic;margin:8px 0 0}}
.tiles{{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px}}
.tile{{background:{TILE_BG};border:1px solid {RULE};border-radius:6px;padding:10px 12px}}
.tile .label{{color:{MUTED};font-size:12px}}
.tile .value{{font-size:20px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}}
.tile .change{{font-size:12px}}
.good{{color:{GOOD}}} .bad{{color:{BAD}}} .flat{{color:{MUTED}}}
table{{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}}
th,td{{padding:5px 8px;border-bottom:1px solid {RULE};text-align:right}}
th:first-child,td:first-child{{text-align:left}}
thead th{{color:{MUTED};font-size:12px;font-weight:600;border-bottom:1.5px solid {INK}}}
tr.total td{{font-weight:700;border-top:1.5px solid {INK};border-bottom:none}}
.chart svg{{width:100%;height:auto;display:block}}
h2.area{{font-size:21px;color:{ACCENT};border-bottom:2px solid {ACCENT};margin-top:36px}}
.pair{{display:grid;grid-template-columns:1fr 1fr;gap:16px}}
.legend span{{margin-right:14px;font-size:12px;color:{MUTED}}}
.legend i{{display:inline-block;width:14px;height:4px;margin-right:5px;vertical-align:middle}}
table.bars{{margin-bottom:10px}}
table.bars th{{font-weight:400;width:30%;border:none;padding:2px 8px 2px 0;text-align:right}}
table.bars td{{border:none;padding:2px 4px;width:12%}}
table.bars td.bar{{width:58%;text-align:left}}
table.bars td.bar span{{display:inline-block;height:12px;border-radius:2px;vertical-align:middle}}
table.heatmap td,table.heatmap th{{text-align:center;font-size:12px;padding:4px}}
table.heatmap td:first-child,table.heatmap th:first-child{{text-align:left}}
td.heat{{border:1px solid #fff}}
footer{{margin-top:32px;padding-top:8px;border-top:1px solid {RULE};color:{MUTED};font-size:12px}}
@media (max-width:640px){{.tiles{{grid-template-columns:repeat(2,minmax(0,1fr))}}}}
@page{{size:A4;margin:16mm 14mm 18mm}}
@media print{{
  body{{font-size:10.5pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
  main{{max-width:none;padding:0}}
  h2{{break-after:avoid;page-break-after:avoid}}
  section,.tile,.chart,tr{{break-inside:avoid;page-break-inside:avoid}}
  thead{{display:table-header-group}}
  .tiles{{grid-template-columns:repeat(4,minmax(0,1fr))}}
  .pair,table.bars,table.heatmap{{break-inside:avoid;page-break-inside:avoid}}
  a{{color:inherit;text-decoration:none}}
}}
""".strip()


def escaped(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def change_class(change: Change) -> str:
    if change.good is None:
        return "flat"
    return "good" if change.good else "bad"


def change_color(change: Change) -> str:
    return {"good": GOOD, "bad": BAD}.get(change_class(change), MUTED)
