""":func:`email_html`: the e-mail's HTML alternative with the headline KPIs inline (table layout and
inline styles only, as mail clients drop ``<style>`` blocks). Every value is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from meridian.reports.data import ReportData
from meridian.reports.render.html import heading, intro
from meridian.reports.render.html_style import INK, MUTED, RULE, TILE_BG, change_color, escaped
from meridian.reports.summary import (
    Tile,
    coverage_note,
    tile_groups,
)


def email_tile_groups(data: ReportData, per_group: int = 4) -> list[tuple[str, list[Tile]]]:
    """The headline KPIs for the e-mail: all tiles of a one-area report, the first few of each area otherwise."""
    groups = tile_groups(data)
    if len(groups) == 1:
        return [("", groups[0][1])]
    return [(section.section.area or section.section.title, tiles[:per_group]) for section, tiles in groups]


def email_html(data: ReportData, files: Sequence[Path] = ()) -> str:
    """The e-mail's HTML alternative: intro, the headline KPIs inline, what is missing, the attachments."""
    groups = email_tile_groups(data)
    font = "font-family:Helvetica,Arial,sans-serif"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escaped(heading(data))}</title></head>",
        f"<body style='margin:0;padding:16px;{font};color:{INK};background:#ffffff'>",
        f"<h2 style='margin:0 0 8px;font-size:18px'>{escaped(heading(data))}</h2>",
        f"<p style='margin:0 0 12px'>{escaped(intro(data))}</p>",
    ]
    note = coverage_note(data)
    if note:
        parts.append(f"<p style='margin:0 0 12px;color:{MUTED}'><i>{escaped(note)}</i></p>")
    for title, tiles in groups:
        if title:
            parts.append(f"<h3 style='margin:14px 0 4px;font-size:15px'>{escaped(title)}</h3>")
        rows = []
        for index in range(0, len(tiles), 2):
            cells = []
            for tile in tiles[index : index + 2]:
                cells.append(
                    f"<td style='width:50%;padding:8px 10px;background:{TILE_BG};border:1px solid {RULE};"
                    f"vertical-align:top'>"
                    f"<div style='color:{MUTED};font-size:12px'>{escaped(tile.label)}</div>"
                    f"<div style='font-size:18px;font-weight:bold;margin:2px 0'>{escaped(tile.value)}</div>"
                    f"<div style='font-size:12px;color:{change_color(tile.change)}'>{escaped(tile.change.text)}</div>"
                    "</td>"
                )
            if len(cells) < 2:
                cells.append("<td style='width:50%'></td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        parts.append(
            "<table role='presentation' cellpadding='0' cellspacing='4' "
            f"style='border-collapse:separate;max-width:560px;width:100%;{font}'>{''.join(rows)}</table>"
        )
    if not groups:
        parts.append("<p>Headline figures are not available for this period.</p>")
    missing = [f"{section.section.title}: {section.note}" for section in data.sections if not section.available]
    if missing:
        parts.append("<p>Not available:</p><ul>" + "".join(f"<li>{escaped(m)}</li>" for m in missing) + "</ul>")
    if files:
        parts.append(f"<p style='color:{MUTED}'>Attached: " + escaped(", ".join(Path(path).name for path in files)) + "</p>")
    parts.append(f"<p style='color:{MUTED}'>— Meridian</p></body></html>")
    return "".join(parts)
