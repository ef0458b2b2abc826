"""Loading newline-delimited JSON event files from the landing directory.

Each ``*.jsonl`` or ``*.jsonl.gz`` file becomes one batch: every line lands in
``raw.app__event_files`` with its file name and line number. A line that parses
as JSON keeps the parsed value in ``record``; a line that is not a JSON object
also keeps its text in ``_line`` (staging quarantines it as ``invalid_json``
with file, line number and text); ``occurred_at`` is the record's, parsed at
load time for the table's month partitions (meridian.warehouse.event_time). The batch, the lines and the file's
(name, checksum) commit together; the file then moves to ``archive/`` beside
it. A file whose checksum was loaded before is never loaded again: it is only
archived.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import psycopg2.extensions

from meridian.extract.tables import start_batch
from meridian.runtime import to_instant
from meridian.warehouse.bootstrap import EVENT_FILES_TABLE
from meridian.warehouse.event_time import record_occurred_at

log = logging.getLogger(__name__)

PATTERNS = ("*.jsonl", "*.jsonl.gz")


@dataclass(frozen=True)
class FileResult:
    file_name: str
    checksum: str
    batch_id: int | None  # None: loaded before, only archived
    landed: int
    malformed: int


def pending_files(landing_dir: Path) -> list[Path]:
    files: set[Path] = set()
    for pattern in PATTERNS:
        files.update(path for path in landing_dir.glob(pattern) if path.is_file())
    return sorted(files)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not valid JSON")


def parse_line(raw: bytes) -> tuple[str | None, str | None]:
    """Return (record JSON text or None, line text or None) for one raw line.

    ``record`` is the JSON value re-serialised (PostgreSQL jsonb accepts it);
    ``line`` is kept when the line is not a JSON object. NUL characters, which
    PostgreSQL text cannot hold, are replaced.
    """
    _, record, line = _parse(raw)
    return record, line


def _parse(raw: bytes) -> tuple[object, str | None, str | None]:
    """parse_line with the parsed JSON value first (None when the line is not JSON)."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\x00", "\ufffd")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        record = json.dumps(value, ensure_ascii=False).replace("\\u0000", "\\ufffd")
    except ValueError:
        return None, None, text
    if isinstance(value, dict):
        return value, record, None
    return value, record, text


def _open(path: Path) -> io.BufferedReader:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _csv_rows(path: Path) -> Iterator[tuple[int, bool, list[str | None]]]:
    with _open(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue  # blank lines carry nothing (a trailing newline, say)
            value, record, line = _parse(raw)
            # occurred_at from the record: the month partition the line lands in (null: the default one)
            yield number, record is None or line is not None, [path.name, str(number), line, record,
                                                               record_occurred_at(value)]


def load_file(
    path: Path,
    as_of: date | datetime,
    warehouse_conn: psycopg2.extensions.connection,
    archive_dir: Path,
) -> FileResult:
    checksum = file_checksum(path)
    with warehouse_conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"meridian.files.{checksum}",))
        cur.execute("select batch_id from audit.loaded_files where checksum = %s limit 1", (checksum,))
        seen = cur.fetchone()
        if seen:
            warehouse_conn.rollback()
            log.warning("%s was loaded before (batch %s, same checksum); archiving it without loading", path, seen[0])
            _archive(path, archive_dir)
            return FileResult(path.name, checksum, None, 0, 0)
        batch_id, _ = start_batch(
            cur, source="app", table_name="event_files", as_of=as_of, window_start=None,
            window_end=to_instant(as_of), file_name=path.name, file_checksum=checksum,
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        landed = malformed = 0
        for _, is_malformed, row in _csv_rows(path):
            writer.writerow(["\\N" if value is None else value for value in row])
            landed += 1
            malformed += is_malformed
        buffer.seek(0)
        cur.copy_expert(
            f"copy raw.{EVENT_FILES_TABLE} (_file_name, _line_number, _line, record, occurred_at) "
            "from stdin with (format csv, null '\\N')",
            buffer,
        )
        cur.execute("update audit.batches set landed = %s where batch_id = %s", (landed, batch_id))
        cur.execute(
            "insert into audit.loaded_files (file_name, checksum, batch_id, lines) values (%s, %s, %s, %s)",
            (path.name, checksum, batch_id, landed),
        )
    warehouse_conn.commit()
    _archive(path, archive_dir)
    log.info("%s: batch %s, %s lines (%s not JSON objects)", path.name, batch_id, landed, malformed)
    return FileResult(path.name, checksum, batch_id, landed, malformed)


def _archive(path: Path, archive_dir: Path) -> None:
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = archive_dir / path.name
    if target.exists():
        target = archive_dir / f"{path.stem}.{file_checksum(path)[:12]}{path.suffix}"
    shutil.move(str(path), target)


def load_landing_dir(
    landing_dir: Path,
    as_of: date | datetime,
    warehouse_conn: psycopg2.extensions.connection,
) -> list[FileResult]:
    """Load every pending file of ``landing_dir`` (each in its own transaction)."""
    if not landing_dir.exists():
        log.info("landing directory %s does not exist; no event files to load", landing_dir)
        return []
    archive_dir = landing_dir / "archive"
    return [load_file(path, as_of, warehouse_conn, archive_dir) for path in pending_files(landing_dir)]
