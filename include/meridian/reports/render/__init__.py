"""Render a report's data into files, one per format.

:data:`RENDERERS` maps a format name to ``"module:function"``; each function
takes ``(data, folder)``, writes one file into ``folder`` and returns its
path (the ``csv`` format writes one tidy ``.csv``, or with the report
parameter ``csv_layout: "zip"`` a ``_csv.zip`` of one CSV per section).
Renderers are imported on first use, so rendering a CSV does not load
reportlab nor openpyxl. All the formats docs/metrics.md allows are implemented
(``pdf``, ``csv``, ``xlsx``, ``html``); a format allowed by
:data:`~meridian.reports.registry.FORMAT_NAMES` without a renderer here would
fail validation with a message naming ``formats`` ("not implemented yet").
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from meridian.reports.data import ReportData
from meridian.reports.model import FORMAT_NAMES, ReportConfigError

RENDERERS: dict[str, str] = {
    "pdf": "meridian.reports.render.pdf:render_pdf",
    "csv": "meridian.reports.render.csv:render_csv",
    "xlsx": "meridian.reports.render.xlsx:render_xlsx",
    "html": "meridian.reports.render.html:render_html",
}

Renderer = Callable[[ReportData, Path], Path]


def check_formats(formats: Sequence[str] | None) -> list[str]:
    """The formats in order without repeats; raises :class:`ReportConfigError` naming ``formats``."""
    if not formats:
        raise ReportConfigError("formats", "is empty; list at least one of " + ", ".join(sorted(RENDERERS)))
    for name in formats:
        if name not in RENDERERS:
            if name in FORMAT_NAMES:
                problem = f"format {name!r} is not implemented yet (implemented: {', '.join(sorted(RENDERERS))})"
            else:
                problem = f"unknown format {name!r} (known: {', '.join(FORMAT_NAMES)})"
            raise ReportConfigError("formats", problem)
    return list(dict.fromkeys(formats))


def renderer(name: str) -> Renderer:
    module_name, function_name = RENDERERS[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


def slug(text: str) -> str:
    """A file-name-safe version of a tenant id or report name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return cleaned or "report"


def file_stem(data: ReportData) -> str:
    return f"{data.report_type.name}_{slug(data.tenant_id)}_{data.period.slug}"


def write_atomically(path: Path, payload: bytes) -> Path:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
    return path


def render_report(data: ReportData, formats: Iterable[str], folder: Path) -> list[Path]:
    """Render ``data`` in each format into ``folder``; returns the paths in the order of ``formats``."""
    names = check_formats(list(formats))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [renderer(name)(data, folder) for name in names]
