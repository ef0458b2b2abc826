"""Every report type, frequency and format renders to the same bytes as the recorded snapshot.

The marts are the generated ones of :mod:`tests.unit.test_report_types` (every
section of every report type has rows, for two tenants). Each report type is
rendered for tenant ``acme`` as a daily, weekly and monthly report in every
format, the comprehensive report also as a CSV zip and for tenant ``globex``,
and every report's e-mail is built with its files attached. What is compared,
as a SHA-256 per output in ``report_snapshot.json``:

- CSV and HTML: the file's bytes;
- XLSX: every member of the zip (the zip's own timestamps left out), with
  the ``dcterms:modified`` time openpyxl stamps at save blanked (the
  creation time is the report's ``generated_at`` and is compared);
- PDF: the file's bytes with the ``/CreationDate``, ``/ModDate`` and ``/ID``
  reportlab stamps at render time blanked (the pages' drawing operators,
  fonts and text are compared whole);
- CSV zip: every member's bytes;
- e-mail: the message's bytes with the ``Date`` header and the MIME
  boundaries (random per message) replaced by fixed text, each attachment
  normalised as its file above.

A refactor of the report code must leave every digest unchanged. After an
intended change of the output, regenerate the file with
``MERIDIAN_REPORT_SNAPSHOT=write pytest tests/unit/test_report_snapshot.py``
and say why in the commit. ``MERIDIAN_REPORT_SNAPSHOT_DIR=<folder>`` also
writes the normalised outputs there, to diff two runs file by file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from meridian import db
from meridian.delivery.message import build_message
from meridian.reports.registry import REPORT_TYPES
from meridian.reports.render import render_report
from tests.conftest import private_warehouse
from tests.unit.test_report_types import create_marts, load

SNAPSHOT = Path(__file__).with_name("report_snapshot.json")
FORMATS = ["pdf", "csv", "xlsx", "html"]
CASES = [
    (name, frequency, "acme", {}) for name in sorted(REPORT_TYPES) for frequency in ("daily", "weekly", "monthly")
] + [
    ("comprehensive", "monthly", "acme", {"csv_layout": "zip"}),
    ("comprehensive", "weekly-monday", "globex", {}),
]
_PDF_STAMPS = re.compile(rb"/(CreationDate|ModDate) \(D:[^)]*\)|/ID\s*\[<[0-9a-fA-F]*><[0-9a-fA-F]*>\]")
_BOUNDARY = re.compile(rb'boundary="([^"]+)"')
_XLSX_MODIFIED = re.compile(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>")


def normalise_pdf(payload: bytes) -> bytes:
    return _PDF_STAMPS.sub(b"/Stamp", payload)


def normalise_zip(payload: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        members = [(name, archive.read(name)) for name in sorted(archive.namelist())]
    return b"".join(name.encode() + b"\0" + _XLSX_MODIFIED.sub(b"<modified/>", data) + b"\0" for name, data in members)


def normalise(name: str, payload: bytes) -> bytes:
    if name.endswith(".pdf"):
        return normalise_pdf(payload)
    if name.endswith((".xlsx", ".zip")):
        return normalise_zip(payload)
    return payload


def normalise_message(payload: bytes) -> bytes:
    for number, boundary in enumerate(dict.fromkeys(_BOUNDARY.findall(payload))):
        payload = payload.replace(boundary, b"BOUNDARY-%d" % number)
    return re.sub(rb"(?m)^Date: .*$", b"Date: <date>", payload)


def render_outputs(folder: Path) -> dict[str, bytes]:
    """Each case rendered into ``folder``: output name -> normalised bytes."""
    outputs: dict[str, bytes] = {}
    for name, case, tenant, parameters in CASES:
        data = load(name, case, tenant, parameters)
        label = "_".join([name, case, tenant, *(f"{key}-{value}" for key, value in parameters.items())])
        files = render_report(data, FORMATS, folder / label)
        for path in files:
            outputs[f"{label}/{path.name}"] = normalise(path.name, path.read_bytes())
        message = build_message(data, files, ["team@acme.example.com"], sender="reports@meridian.local", report_id=7)
        for part in message.iter_attachments():
            name, (maintype, subtype) = part.get_filename(), part.get_content_type().split("/")
            if maintype == "application":  # pdf, xlsx, zip: bytes with render-time stamps (CSV and HTML are text)
                part.set_content(normalise(name, part.get_content()), maintype=maintype, subtype=subtype, filename=name)
        outputs[f"{label}/message.eml"] = normalise_message(message.as_bytes())
    return outputs


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-report-snapshot-test-") as base:
        with db.connection("warehouse") as conn:
            create_marts(conn)
        yield base


def test_every_report_renders_as_recorded(warehouse):
    outputs = render_outputs(warehouse / "out")
    digests = {name: hashlib.sha256(payload).hexdigest() for name, payload in sorted(outputs.items())}
    if os.environ.get("MERIDIAN_REPORT_SNAPSHOT_DIR"):
        target = Path(os.environ["MERIDIAN_REPORT_SNAPSHOT_DIR"])
        for name, payload in outputs.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(payload)
    if os.environ.get("MERIDIAN_REPORT_SNAPSHOT") == "write":
        SNAPSHOT.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(recorded) == len(CASES) * (len(FORMATS) + 1)
    changed = sorted(name for name in recorded.keys() | digests.keys() if recorded.get(name) != digests.get(name))
    assert not changed, f"{len(changed)} outputs differ from {SNAPSHOT.name}: {changed[:12]}"
