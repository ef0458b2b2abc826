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
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from meridian import db
from meridian.extract import event_files
from meridian.extract.event_files import load_landing_dir
from tests.unit.test_extract import empty_warehouse

AS_OF = date(2024, 1, 1)

# occurred_at values across the rule: offsets, no offset, date only, lower-case z, fractions past 6 digits,
# an impossible day, instants beyond the Python rule's range, not a string, absent
OCCURRED = [
    "2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00Z", "2024-01-31T23:30:00-02:00", "2024-03-01 00:00",
    "2024-02-29", "2024-05-05T10:00:00z", "2024-05-05T10:00:00.123456789+05:30", "2024-02-30T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-15:59", "2024-13-01T00:00:00Z", "yesterday", 5, None,
]


# lines the quarantine takes (_line set): not JSON, JSON but no object, refused by jsonb
BAD = ['[1, 2]', '"text"', 'null', '{"a": 1e1000000}', '{"a": "\\ud800"}', '{"a": "\\u0000"}', '{"a": NaN}',
       '{"a": 1', '{id: 1}', '{"a": 1}{"b": 2}', '{"a": "tab\there"}', '\ufeff{"a": 1}', '{"a": 1}\x0c']


def record(index: int, occurred: object) -> dict:
    body = {"id": f"e{index}", "tenant_id": "t1", "event_type": "app_open",
            "properties": {"screen": "home", "note": "tab\there, back\\slash, quote\", é, \u2603, 😀",
                           "big": 10 ** 30, "ratio": 1.50, "nested": [1, {"a": None}]}}
    if occurred is not None:
        body["occurred_at"] = occurred
    return body


def clean_file(carriage_returns: bool = True) -> bytes:
    """Clean UTF-8 JSON objects with CRLF and LF endings (LF only without ``carriage_returns``: the load then
    takes its statement that trims none), blank and whitespace-only lines, escapes, a BOM."""
    lines = [json.dumps(record(i, value), ensure_ascii=i % 2 == 0) for i, value in enumerate(OCCURRED)]
    lines.insert(3, "")
    lines.insert(5, " \t ")
    lines.append('{"id": "dup", "id": "last wins", "occurred_at": "2024-06-01T00:00:00Z"}')
    lines.append('{"id": "u", "text": "\\u00e9\\ud83d\\ude00\\\\u0000", "n": -0.0e-5}')
    # a carriage return (a space without them) and a tab between tokens
    between = "\r" if carriage_returns else " "
    lines.append("{" + between + '"id": "cr",\t"tenant_id": "t1"}')
    lines.extend(BAD)
    body = "\n".join(line + ("\r" if index % 2 and carriage_returns else "") for index, line in enumerate(lines))
    body += "\n\n"
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
    empty_warehouse()
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


@pytest.mark.parametrize(("name", "carriage_returns"),
                         [("events.jsonl", True), ("events.jsonl.gz", True), ("events.jsonl", False)])
def test_the_fast_path_and_the_per_line_path_land_the_same_rows(warehouse, tmp_path, monkeypatch, caplog, name,
                                                                 carriage_returns):
    caplog.set_level(logging.INFO, logger="meridian.extract")
    content = clean_file(carriage_returns)
    assert (b"\r" in content) is carriage_returns
    if name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    fast = load(tmp_path / "fast", name, content, fast=True, caplog=caplog)
    reset_loaded_files()
    monkeypatch.setattr(event_files, "clean_text", lambda path: None)  # as if the file were not clean
    slow = load(tmp_path / "slow", name, content, fast=False, caplog=caplog)

    assert fast == slow
    # blank lines counted but not landed; occurred_at set where the rule reads one
    assert [row[0] for row in fast] == [1, 2, 3, 5, 7, *range(8, 20 + len(BAD))]
    assert [row[1] for row in fast if row[1] is not None] == BAD
    assert [row[0] for row in fast if row[2] is None] == list(range(23, 20 + len(BAD)))  # bad, and not JSON
    assert sum(row[3] is not None for row in fast) == 8


@pytest.mark.parametrize(("content", "why"), [
    (b'{"a": 1}\n{"b": "caf\xe9"}\n', "not UTF-8"),
    (b'{"a": 1}\n{"b": 1}\x00\n', "a NUL byte"),
    (b'{"a": 1}\n' + b"[" * 600 + b"]" * 600 + b"\n", "nested deeper than the fast path takes"),
])
def test_a_file_that_is_not_clean_goes_line_by_line(warehouse, tmp_path, caplog, content, why):
    """Bytes that are not UTF-8, a NUL, or a very deep line: the per-line path, which shows the bad bytes escaped."""
    caplog.set_level(logging.INFO, logger="meridian.extract")
    landed = load(tmp_path / "landing", "f.jsonl", content, fast=False, caplog=caplog)
    assert [(row[0], row[1] is None) for row in landed] == [(1, True), (2, False)], why


def test_two_connections_load_every_file_once_in_name_order(warehouse, tmp_path):
    """Files load two at a time; batches and results keep name order, a copy loads once, an error names its file."""
    from meridian.extract.event_files import EventFileLoadError

    landing = tmp_path / "landing"
    landing.mkdir()
    names = [f"f{index}.jsonl" for index in range(7)]
    for index, name in enumerate(names):
        (landing / name).write_text(json.dumps(record(index, "2024-01-01T00:00:00Z")) + "\n[1]\n")
    (landing / "g-copy.jsonl").write_bytes((landing / "f3.jsonl").read_bytes())
    with db.connection("warehouse") as wh, db.connection("warehouse") as second:
        results = load_landing_dir(landing, AS_OF, wh, [second])
    assert [r.file_name for r in results] == [*names, "g-copy.jsonl"]
    assert [(r.landed, r.malformed) for r in results[:-1]] == [(2, 1)] * len(names)
    assert results[-1].batch_id is None  # the same bytes as f3: moved, not loaded again
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct _batch_id) from raw.app__event_files")
        assert cur.fetchone() == (2 * len(names), len(names))
        # batches start in name order, as with one connection: staging's first landed version depends on it
        cur.execute("select file_name from audit.batches where table_name = 'event_files' order by batch_id")
        assert [row[0] for row in cur.fetchall()] == names
        cur.execute("select file_name from audit.batches where table_name = 'event_files' order by loaded_at")
        assert [row[0] for row in cur.fetchall()] == names
        cur.execute("alter table raw.app__event_files add constraint no_h5 check (record ->> 'id' <> 'h5')")
    for index, name in enumerate(names):
        (landing / f"h{name}").write_text(json.dumps({**record(index, None), "id": f"h{index}"}) + "\n")
    with db.connection("warehouse") as wh, db.connection("warehouse") as second:
        with pytest.raises(EventFileLoadError, match=r"hf5\.jsonl.*no_h5"):
            load_landing_dir(landing, AS_OF, wh, [second])
    assert (landing / "hf5.jsonl").exists()  # left for the next run


# UTC with milliseconds (the generated files' shape, checked by a round trip), and texts of that length the round
# trip must not take: each lands with the occurred_at the Python rule gives
UTC_MS = {
    "2024-01-01T10:00:00.123+00:00": datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC),
    "2024-02-29T23:59:59.999+00:00": datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
    "0001-01-01T00:00:00.000+00:00": datetime(1, 1, 1, tzinfo=UTC),
    "9999-12-31T23:59:59.999+00:00": datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    "2024-01-01t10:00:00.000+00:00": datetime(2024, 1, 1, 10, tzinfo=UTC),  # the rule takes a lower-case t
    "2024-01-01 10:00:00.000+00:00": datetime(2024, 1, 1, 10, tzinfo=UTC),  # and a space
    "2024-02-30T00:00:00.000+00:00": None,  # no such day
    "2024-01-01T24:00:00.000+00:00": None,  # PostgreSQL reads hour 24, the rule does not
    "2024-01-01T10:00:60.000+00:00": None,  # nor second 60
    "0000-01-01T00:00:00.000+00:00": None,
    "2024-1-01T10:00:00.0000+00:00": None,
    "+2024-01-01T10:00:00.00+00:00": None,
    "2024-01-01T10:00:00.123-00:00": datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC),
}


def test_the_round_trip_of_utc_milliseconds_gives_the_rule(warehouse, tmp_path, monkeypatch, caplog):
    from meridian.warehouse.event_time import parse_occurred_at

    caplog.set_level(logging.INFO, logger="meridian.extract")
    content = "\n".join(json.dumps(record(i, value)) for i, value in enumerate(UTC_MS)).encode() + b"\n"
    fast = load(tmp_path / "fast", "utc.jsonl", content, fast=True, caplog=caplog)
    reset_loaded_files()
    monkeypatch.setattr(event_files, "clean_text", lambda path: None)
    slow = load(tmp_path / "slow", "utc.jsonl", content, fast=False, caplog=caplog)
    assert fast == slow
    assert [row[3] for row in fast] == list(UTC_MS.values())
    assert [parse_occurred_at(value) for value in UTC_MS] == list(UTC_MS.values())
