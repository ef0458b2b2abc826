"""Spreadsheet cells that cannot become formulas (CSV/formula injection).

A text value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula by spreadsheet programs when a CSV file is opened,
and openpyxl writes a string starting with ``=`` as a formula. Report values
come from tenant data (a sales rep's name, a resource, a plan name), so every
text cell is neutralised:

- CSV: such a text gets a leading apostrophe (OWASP's advice); plain numbers
  such as ``-12.50`` are numbers, not formulas, and stay as they are;
- XLSX: such a cell is stored as a string with Excel's quote prefix, so it
  shows and reads back unchanged and stays text when edited.
"""

from __future__ import annotations

import re

from openpyxl import Workbook

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text)


def csv_safe(text: str) -> str:
    """``text`` as a CSV field a spreadsheet shows as text, never evaluates."""
    return "'" + text if is_formula_like(text) else text


def protect_workbook(book: Workbook) -> Workbook:
    """Mark every formula-like text cell of ``book`` as a quoted string (no cell of a report is a formula)."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and is_formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    return book
