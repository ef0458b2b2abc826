"""The PDF's palette, paragraph styles and table grid (shared by the PDF's charts and sections)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, TableStyle

from meridian.reports.summary import Change

# attribute validation on every chart node costs about half of the drawing time; the charts here are fixed code
rl_config.shapeChecking = 0

INK = colors.HexColor("#1f2933")
MUTED_HEX = "#616e7c"
MUTED = colors.HexColor(MUTED_HEX)
ACCENT = colors.HexColor("#2563eb")
SECOND = colors.HexColor("#ea580c")
NEGATIVE = colors.HexColor("#dc2626")
GOOD = colors.HexColor("#15803d")
BAD = colors.HexColor("#b91c1c")
RULE = colors.HexColor("#d9e2ec")
TILE_BG = colors.HexColor("#f5f7fa")
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TILES_PER_ROW = 4
MIN_SPLIT_ROWS = 3  # a table split across pages keeps at least this many rows on each page
LINE_COLOURS = (ACCENT, SECOND, colors.HexColor("#9333ea"), colors.HexColor("#0d9488"))


def styles_for(compact: bool = False) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    gap = 0.45 if compact else 1.0
    return {
        "title": ParagraphStyle(
            "title",
            parent=base["Title"],
            alignment=TA_LEFT,
            textColor=INK,
            fontSize=17 if compact else 20,
            leading=20 if compact else 24,
            spaceAfter=(1 if compact else 2) * mm,
        ),
        "meta": ParagraphStyle(
            "meta", parent=base["Normal"], textColor=MUTED, fontSize=8.5 if compact else 9.5, leading=11 if compact else 13
        ),
        "subtitle": ParagraphStyle(
            "subtitle",
            parent=base["Normal"],
            textColor=INK,
            fontSize=9.5 if compact else 10.5,
            leading=12 if compact else 14,
            spaceAfter=(1 if compact else 2) * mm,
        ),
        "area": ParagraphStyle(
            "area",
            parent=base["Heading1"],
            textColor=ACCENT,
            fontSize=15,
            leading=18,
            spaceBefore=7 * mm * gap,
            spaceAfter=0 if not compact else -2 * mm,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            textColor=INK,
            fontSize=12.5 if compact else 13,
            leading=15,
            spaceBefore=5.5 * mm * gap,
            spaceAfter=2.2 * mm * gap,
        ),
        "body": ParagraphStyle("body", parent=base["Normal"], textColor=INK, fontSize=9.5, leading=12.5),
        "note": ParagraphStyle("note", parent=base["Italic"], textColor=MUTED, fontSize=8.5, leading=11),
        "tile_label": ParagraphStyle("tile_label", parent=base["Normal"], textColor=MUTED, fontSize=8, leading=10),
        "tile_value": ParagraphStyle(
            "tile_value", parent=base["Normal"], textColor=INK, fontName="Helvetica-Bold", fontSize=13, leading=16
        ),
        "tile_change": ParagraphStyle("tile_change", parent=base["Normal"], fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base["Normal"], textColor=INK, fontSize=9, leading=11),
    }


def change_color(change: Change) -> colors.Color:
    if change.good is None:
        return MUTED
    return GOOD if change.good else BAD


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def money_markup(text: str, currency: str | None) -> str:
    """``1,234.50 EUR`` with the code set smaller, so a tile's amount keeps its line."""
    if currency and text.endswith(f" {currency}"):
        amount = text[: -len(currency) - 1]
        return f'{escape(amount)} <font size="8" color="{MUTED_HEX}">{escape(currency)}</font>'
    return escape(text)


def grid_style(header_rows: int = 1, total_row: bool = False, font_size: float = 9) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", font_size - 0.5),
        ("FONT", (0, header_rows), (-1, -1), "Helvetica", font_size),
        ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), MUTED),
        ("TEXTCOLOR", (0, header_rows), (-1, -1), INK),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.75, INK),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, RULE),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if total_row:
        commands += [
            ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", font_size),
            ("LINEABOVE", (0, -1), (-1, -1), 0.75, INK),
        ]
    return TableStyle(commands)


def right_aligned(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}right_aligned", parent=style, alignment=2)
