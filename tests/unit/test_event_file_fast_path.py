"""An event file lands the same raw rows through the one-statement fast path and the per-line path.

The fast path (meridian.extract.event_bulk) parses and validates a clean file
in PostgreSQL; the per-line path (meridian.extract.event_lines) parses in
Python and stays the path for any file with a bad line. Both must give the
same rows: line numbers (blank lines counted), record, _line, occurred_at.
"""

from __future__ import annotations

import gzip
import json
import logging
from datetime import date
from pathlib import Path

import pytest

from meridian import db
from meridian.extract import event_files
from meridian.extract.event_files import load_landing_dir
from meridian.warehouse.bootstrap import ensure_warehouse

AS_OF = date(2024, 1, 1)

# occurred_at values across the rule: offsets, no offset, date only, lower-case z, fractions past 6 digits,
# an impossible day, instants beyond the Python rule's range, not a string, absent
OCCURRED = [
    "2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00Z", "2024-01-31T23:30:00-02:00", "2024-03-01 00:00",
    "2024-02-29", "2024-05-05T10:00:00z", "2024-05-05T10:00:00.123456789+05:30", "2024-02-30T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-15:59", "2024-13-01T00:00:00Z", "yesterday", 5, None,
]


def record(index: int, occurred: object) -> dict:
    body = {"id": f"e{index}", "tenant_id": "t1", "event_type": "app_open",
            "properties": {"screen": "home", "note": "tab\there, back\\slash, quote\", é, \u2603, 😀",
                           "big": 10 ** 30, "ratio": 1.50, "nested": [1, {"a": None}]}}
    if occurred is not None:
        body["occurred_at"] = occurred
    return body


def clean_file() -> bytes:
    """Clean UTF-8 JSON objects with CRLF and LF endings, blank and whitespace-only lines, escapes, a BOM."""
    lines = [json.dumps(record(i, value), ensure_ascii=i % 2 == 0) for i, value in enumerate(OCCURRED)]
    lines.insert(3, "")
    lines.insert(5, " \t ")
    lines.append('{"id": "dup", "id": "last wins", "occurred_at": "2024-06-01T00:00:00Z"}')
    lines.append('{"id": "u", "text": "\\u00e9\\ud83d\\ude00\\\\u0000", "n": -0.0e-5}')
    lines.append('{\r"id": "cr",\t"tenant_id": "t1"}')  # a carriage return and a tab between tokens
    body = "\n".join(line + ("\r" if index % 2 else "") for index, line in enumerate(lines)) + "\n\n"
    return b"\xef\xbb\xbf" + body.encode("utf-8")


def rows(file_name: str) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            "select _line_number, _line, record::text, occurred_at, _error, tableoid::regclass::text "
            "from raw.app__event_files where _file_name = %s order by _line_number", (file_name,),
        )
        return cur.fetchall()


def reset_loaded_files() -> None:
    """Forget the loaded files, so the same bytes load again (the checksum would only move them)."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("delete from audit.loaded_files")
        cur.execute("delete from raw.app__event_files")


@pytest.fixture()
def warehouse(warehouse_server):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for schema in ("raw", "audit", "reporting", "staging", "marts", "intermediate"):
            cur.execute(f"drop schema if exists {schema} cascade")
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
    return warehouse_server


def load(landing: Path, name: str, content: bytes, *, fast: bool, caplog) -> list[tuple]:
    landing.mkdir(parents=True, exist_ok=True)
    (landing / name).write_bytes(content)
    caplog.clear()
    with db.connection("warehouse") as wh:
        [result] = load_landing_dir(landing, AS_OF, wh)
    assert result.batch_id is not None and not result.rejected
    messages = [r.getMessage() for r in caplog.records if r.name == "meridian.extract.event_files"]
    assert any(name in m and ("in one statement" in m) == fast for m in messages), messages
    landed = rows(name)
    assert result.landed == len(landed)
    return landed


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_the_fast_path_and_the_per_line_path_land_the_same_rows(warehouse, tmp_path, monkeypatch, caplog, name):
    caplog.set_level(logging.INFO, logger="meridian.extract")
    content = clean_file()
    if name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    fast = load(tmp_path / "fast", name, content, fast=True, caplog=caplog)
    reset_loaded_files()
    monkeypatch.setattr(event_files, "clean_text", lambda path: None)  # as if the file were not clean
    slow = load(tmp_path / "slow", name, content, fast=False, caplog=caplog)

    assert fast == slow
    # blank lines counted but not landed; every line a JSON object; occurred_at set where the rule reads one
    assert [row[0] for row in fast] == [1, 2, 3, 5, 7, *range(8, 20)]
    assert all(row[1] is None and row[2] is not None for row in fast)
    assert sum(row[3] is not None for row in fast) == 8


def test_a_file_with_a_bad_line_goes_line_by_line(warehouse, tmp_path, caplog):
    """A line that is not a JSON object (or that jsonb refuses) sends the whole file down the per-line path."""
    caplog.set_level(logging.INFO, logger="meridian.extract")
    good = json.dumps(record(1, "2024-01-01T00:00:00Z"))
    for index, bad in enumerate(['[1, 2]', '{"a": 1e1000000}', '{"a": "\\ud800"}', '{"a": NaN}', '{"a": 1']):
        name = f"f{index}.jsonl"
        landed = load(tmp_path / "landing", name, f"{good}\n{bad}\n{good}\n".encode(), fast=False, caplog=caplog)
        assert [(row[0], row[1]) for row in landed] == [(1, None), (2, bad), (3, None)], bad
