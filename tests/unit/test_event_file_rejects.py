"""One bad event file never blocks the others (issue 16, point 3), on a real PostgreSQL.

A landing dir holds good files, a corrupt gzip, a truncated gzip, a UTF-16
file, a file with a bad UTF-8 line, one with a lone surrogate escape, one with
a number PostgreSQL's numeric cannot hold, in name order between good files.
One load must take every good file and good line, reject the unreadable files
to rejected/ (nothing of them in raw but their one row), raise one alert per
unreadable file, and name the file in every log line; one dbt build of the
staging and audit models must then quarantine exactly the bad lines and files
(file, line number, text or error) and keep landed = accepted + quarantined +
duplicates for every batch.
"""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from meridian import db
from meridian.extract.event_files import EventFileLoadError, load_landing_dir
from meridian.extract.tables import extract_table
from meridian.sources.schema import TABLES, table
from meridian.warehouse.bootstrap import ensure_warehouse

AS_OF = date(2024, 1, 1)
TENANT = "t1"


def event(event_id: str) -> str:
    return json.dumps({
        "id": event_id, "tenant_id": TENANT, "user_id": "u1", "session_id": "s1", "event_type": "app_open",
        "properties": {"screen": "home"}, "platform": "web", "app_version": "1.0", "country": "US",
        "occurred_at": "2024-01-01T10:00:00+00:00", "received_at": "2024-01-01T10:00:01+00:00",
    })


def lines(*texts: str | bytes) -> bytes:
    return b"".join((text.encode() if isinstance(text, str) else text) + b"\n" for text in texts)


GOOD_GZIP = gzip.compress(lines(event("c1"), event("c2"), event("c3")), mtime=0)
CORRUPT_GZIP = GOOD_GZIP[:20] + bytes(byte ^ 0x5A for byte in GOOD_GZIP[20:40]) + GOOD_GZIP[40:]
TRUNCATED_GZIP = GOOD_GZIP[: len(GOOD_GZIP) // 2]
LONE_SURROGATE = '{"id": "e2", "tenant_id": "t1", "event_type": "app_open", "note": "\\ud800"}'
NUMERIC_OVERFLOW = '{"id": "g1", "tenant_id": "t1", "event_type": "app_open", "score": 1e1000000}'

# name -> content; loaded in name order, so every bad file sits between good ones
LANDING = {
    "a_good.jsonl": lines(event("a1"), event("a2")),
    "b_corrupt.jsonl.gz": CORRUPT_GZIP,
    "c_bad_utf8.jsonl": lines(event("c4"), b'{"id": "bad-\xff\xfe", "tenant_id": "t1"}', event("c5")),
    "d_truncated.jsonl.gz": TRUNCATED_GZIP,
    "e_surrogate.jsonl": lines(event("e1"), LONE_SURROGATE, "", event("e3")),
    "f_good.jsonl.gz": gzip.compress(lines(event("f1")), mtime=0),
    "g_numeric.jsonl": lines(NUMERIC_OVERFLOW, event("g2")),
    "h_utf16.jsonl": (event("h1") + "\n").encode("utf-16"),
    "i_nul.jsonl": lines(event("i1"), '{"id": "i2", "tenant_id": "t1", "note": "\\u0000"}'),
}
GOOD_IDS = {"a1", "a2", "c4", "c5", "e1", "e3", "f1", "g2", "i1"}
REJECTED = {"b_corrupt.jsonl.gz": "cannot be decompressed", "d_truncated.jsonl.gz": "cannot be decompressed",
            "h_utf16.jsonl": "UTF-16 text"}
# (file, line number) -> the quarantined line's text
BAD_LINES = {
    ("c_bad_utf8.jsonl", 2): '{"id": "bad-\\xff\\xfe", "tenant_id": "t1"}',
    ("e_surrogate.jsonl", 2): LONE_SURROGATE,
    ("g_numeric.jsonl", 1): NUMERIC_OVERFLOW,
    ("i_nul.jsonl", 2): '{"id": "i2", "tenant_id": "t1", "note": "\\u0000"}',
}


def query(sql: str, params: tuple = ()) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.fixture()
def warehouse(warehouse_server):
    """An empty warehouse and app source, with tenant t1's organization extracted."""
    with db.connection("source_app") as conn, conn.cursor() as cur:
        for spec in TABLES:
            if spec.source == "app":
                cur.execute(f"drop table if exists public.{spec.name}")
                cur.execute(spec.create_sql())
        cur.execute(
            "insert into public.organizations (id, tenant_id, name, currency, created_at, updated_at) "
            "values (%s, %s, 'Tenant one', 'USD', %s, %s)",
            (TENANT, TENANT, datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)),
        )
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for schema in ("raw", "audit", "reporting", "staging", "marts", "intermediate"):
            cur.execute(f"drop schema if exists {schema} cascade")
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        extract_table(table("app", "organizations"), AS_OF, src, wh)
    return warehouse_server


def land(landing: Path, files: dict[str, bytes]) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (landing / name).write_bytes(content)


def test_bad_files_and_lines_are_quarantined_and_the_rest_loads(warehouse, tmp_path, caplog):
    landing = tmp_path / "landing"
    land(landing, LANDING)
    caplog.set_level(logging.INFO, logger="meridian.extract")
    with db.connection("warehouse") as wh:
        results = load_landing_dir(landing, AS_OF, wh)

    # every file processed in order; the unreadable ones rejected with their error
    assert [r.file_name for r in results] == sorted(LANDING)
    assert {r.file_name: r.error for r in results if r.rejected}.keys() == REJECTED.keys()
    for result in results:
        if result.rejected:
            assert REJECTED[result.file_name] in result.error
            assert (result.landed, result.batch_id is not None) == (1, True)
    assert not list(landing.glob("*.jsonl*"))
    assert sorted(p.name for p in (landing / "rejected").iterdir()) == sorted(REJECTED)
    assert sorted(p.name for p in (landing / "archive").iterdir()) == sorted(set(LANDING) - set(REJECTED))
    # nothing of a rejected file but its one row (line 0, the error)
    raw = query("select _file_name, _line_number, _line, record, _error from raw.app__event_files")
    for name in REJECTED:
        rows = [row for row in raw if row[0] == name]
        assert len(rows) == 1 and rows[0][1:4] == (0, None, None) and REJECTED[name] in rows[0][4]
    assert {row[3]["id"] for row in raw if row[3] is not None} == GOOD_IDS
    # every log line of the load names the file it is about
    records = [r for r in caplog.records if r.name.startswith("meridian.extract.event_files")]
    assert records and all(any(name in r.getMessage() for name in LANDING) for r in records)
    assert any(r.levelno == logging.ERROR and "b_corrupt.jsonl.gz" in r.getMessage() for r in records)

    # one high quarantine alert per unreadable file, naming it
    alerts = query("select message, severity, table_name, dedup_key from audit.data_quality_alerts "
                   "where alert_type = 'quarantine' order by alert_id")
    assert len(alerts) == len(REJECTED)
    for name, (message, severity, table_name, dedup_key) in zip(sorted(REJECTED), alerts, strict=True):
        assert name in message and REJECTED[name] in message
        assert (severity, table_name) == ("high", "raw.app__event_files")
        assert dedup_key.startswith("unreadable_file:")

    # one dbt build of staging and audit
    from meridian.transform.dbt_run import Dbt
    from meridian.transform.plan import decide

    plan = decide(AS_OF, None)
    built = Dbt().invoke(["build", "--select", "+quarantine", "+batch_outcomes", "--exclude-resource-type",
                          "unit_test", "--vars", json.dumps(plan.dbt_vars())])
    assert built.success, [(r.node.name, r.status, r.message) for r in built.result if r.status not in
                           ("success", "pass")]

    quarantined = query("select record, reasons, batch_id from audit.quarantine where table_name = 'event_files'")
    batch_of = dict(query("select file_name, batch_id from audit.batches where table_name = 'event_files'"))
    files = {tuple(record.get(key) for key in ("file", "line_number")): (record, reasons, batch_id)
             for record, reasons, batch_id in quarantined}
    assert len(files) == len(quarantined) == len(REJECTED) + len(BAD_LINES)
    for name, error in REJECTED.items():
        record, reasons, batch_id = files[(name, None)]
        assert set(record) == {"file", "error"} and error in record["error"]
        assert (reasons, batch_id) == (["unreadable_file"], batch_of[name])
    for (name, number), text in BAD_LINES.items():
        record, reasons, batch_id = files[(name, number)]
        assert record == {"file": name, "line_number": number, "line": text}
        assert (reasons, batch_id) == (["invalid_json"], batch_of[name])
    accepted = {row[0] for row in query("select id from staging.base_app__events where row_status = 'accepted'")}
    assert accepted == GOOD_IDS

    outcomes = query("select b.file_name, o.landed, o.accepted, o.quarantined, o.duplicates from "
                     "audit.batch_outcomes as o join audit.batches as b using (batch_id) "
                     "where b.table_name = 'event_files' order by b.file_name")
    expected = {name: (1, 0, 1, 0) for name in REJECTED}
    expected.update({"a_good.jsonl": (2, 2, 0, 0), "c_bad_utf8.jsonl": (3, 2, 1, 0), "e_surrogate.jsonl": (3, 2, 1, 0),
                     "f_good.jsonl.gz": (1, 1, 0, 0), "g_numeric.jsonl": (2, 1, 1, 0), "i_nul.jsonl": (2, 1, 1, 0)})
    assert {row[0]: row[1:] for row in outcomes} == expected
    assert all(landed == accepted + quarantined + duplicates for _, landed, accepted, quarantined, duplicates
               in outcomes)


def test_a_rejected_file_dropped_again_is_not_recorded_twice(warehouse, tmp_path):
    landing = tmp_path / "landing"
    land(landing, {"b_corrupt.jsonl.gz": CORRUPT_GZIP})
    with db.connection("warehouse") as wh:
        first = load_landing_dir(landing, AS_OF, wh)
        land(landing, {"b_corrupt-again.jsonl.gz": CORRUPT_GZIP, "z_truncated.jsonl.gz": TRUNCATED_GZIP})
        again = load_landing_dir(landing, AS_OF, wh)
    assert first[0].rejected and first[0].batch_id is not None
    # the same bytes again: moved to rejected/ with no new batch and no new alert; other bad bytes: their own
    assert [(r.file_name, r.batch_id is None, r.rejected) for r in again] == [
        ("b_corrupt-again.jsonl.gz", True, True), ("z_truncated.jsonl.gz", False, True)]
    assert sorted(p.name for p in (landing / "rejected").iterdir()) == [
        "b_corrupt-again.jsonl.gz", "b_corrupt.jsonl.gz", "z_truncated.jsonl.gz"]
    assert query("select count(*) from audit.batches where table_name = 'event_files'") == [(2,)]
    assert query("select count(*) from audit.data_quality_alerts") == [(2,)]


def test_a_file_that_is_no_text_is_rejected_and_an_empty_one_loads(warehouse, tmp_path):
    landing = tmp_path / "landing"
    land(landing, {
        "a_latin1.jsonl": lines(b'{"a": "caf\xe9"}', b'{"b": "na\xefve"}'),  # not one line is UTF-8
        "b_gzip_named_plain.jsonl": GOOD_GZIP,
        "c_empty.jsonl": b"",
        "d_bom.jsonl": b"\xef\xbb\xbf" + lines(event("d1")),  # a UTF-8 byte-order mark is no part of line 1
    })
    with db.connection("warehouse") as wh:
        results = load_landing_dir(landing, AS_OF, wh)
    assert [(r.file_name, r.landed, r.malformed, r.rejected) for r in results] == [
        ("a_latin1.jsonl", 1, 0, True), ("b_gzip_named_plain.jsonl", 1, 0, True),
        ("c_empty.jsonl", 0, 0, False), ("d_bom.jsonl", 1, 0, False)]
    assert "not UTF-8 text" in results[0].error and "gzip data" in results[1].error


def test_a_file_the_loader_cannot_read_is_rejected(warehouse, tmp_path, monkeypatch):
    from meridian.extract import event_files

    landing = tmp_path / "landing"
    land(landing, {"a_locked.jsonl": lines(event("a1")), "b_good.jsonl": lines(event("b1"))})
    real_checksum = event_files.file_checksum

    def checksum(path: Path) -> str:
        if path.name == "a_locked.jsonl":
            raise PermissionError(13, "Permission denied", str(path))
        return real_checksum(path)

    monkeypatch.setattr(event_files, "file_checksum", checksum)
    with db.connection("warehouse") as wh:
        results = load_landing_dir(landing, AS_OF, wh)
    assert [(r.file_name, r.checksum, r.landed, r.error) for r in results] == [
        ("a_locked.jsonl", None, 1, "cannot be read: Permission denied"), ("b_good.jsonl", results[1].checksum, 1, None)]
    assert (landing / "rejected" / "a_locked.jsonl").exists() and (landing / "archive" / "b_good.jsonl").exists()
    assert query("select _line_number, _error from raw.app__event_files where _file_name = 'a_locked.jsonl'") == [
        (0, "cannot be read: Permission denied")]
    assert query("select dedup_key from audit.data_quality_alerts") == [
        ("unreadable_file:a_locked.jsonl:cannot be read: Permission denied",)]


def test_a_warehouse_error_fails_the_load_naming_the_file(warehouse, tmp_path):
    landing = tmp_path / "landing"
    land(landing, {"a_good.jsonl": lines(event("a1"))})
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("alter table raw.app__event_files add constraint no_a1 check (record ->> 'id' <> 'a1')")
    with db.connection("warehouse") as wh, pytest.raises(EventFileLoadError, match=r"a_good\.jsonl.*no_a1"):
        load_landing_dir(landing, AS_OF, wh)
    assert (landing / "a_good.jsonl").exists()  # left for the next run
    assert query("select count(*) from audit.batches") == [(1,)]  # the organizations batch only


def test_the_task_summary_names_rejected_files(warehouse, tmp_path):
    from meridian.extract.run import load_event_files

    landing = tmp_path / "landing"
    land(landing, {"a_good.jsonl": lines(event("a1"), "[1]"), "b_truncated.jsonl.gz": TRUNCATED_GZIP})
    summary = load_event_files(AS_OF, landing)
    assert {key: value for key, value in summary.items() if key != "files_rejected"} == {
        "landing_dir": str(landing), "files_loaded": 1, "files_skipped_as_seen_before": 0, "lines": 2,
        "lines_not_json_objects": 1}
    assert list(summary["files_rejected"]) == ["b_truncated.jsonl.gz"]
    assert summary["files_rejected"]["b_truncated.jsonl.gz"].startswith("cannot be decompressed")
