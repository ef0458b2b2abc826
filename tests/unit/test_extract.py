"""Extraction: watermarked windows, one transaction per batch, event files loaded once."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime

import pytest

from meridian import db
from meridian.extract.event_files import load_landing_dir
from meridian.extract.event_lines import parse_line
from meridian.extract.tables import end_of_day, extract_table
from meridian.sources.schema import TABLES, table
from meridian.warehouse.bootstrap import ensure_warehouse

UTC = UTC


def test_end_of_day_is_next_midnight_utc():
    assert end_of_day(date(2024, 2, 29)) == datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "record_is_none", "keeps_line"),
    [
        (b'{"id": "e1", "event_type": "app_open"}\n', False, False),
        (b'{"id": "e1", "event_type": \n', True, True),  # truncated JSON
        (b'[1, 2, 3]\n', False, True),  # JSON, but not an object
        (b'"just a string"\n', False, True),
        (b'{"a": NaN}\n', True, True),  # not JSON for PostgreSQL
        # jsonb refuses a NUL escape: the line is quarantined, not loaded with the character replaced
        (b'{"a": "nul\\u0000"}\n', True, True),
        (b'{"a": "\\ud800"}\n', True, True),  # a lone surrogate escape
        (b'{"\\udc00": 1}\n', True, True),  # in a key too
        (b'{"a": "\\ud83d\\ude00"}\n', False, False),  # a surrogate pair is one character
        (b'{"a": "\\\\u0000"}\n', False, False),  # an escaped backslash, then the text u0000
        (b'{"a": "caf\xe9"}\n', True, True),  # Latin-1, not UTF-8
        (b'{"a": 1}\x00\n', True, True),  # a NUL byte
        (b'{"a": 1' + b"0" * 5000 + b'}\n', False, False),  # numbers are PostgreSQL's to read
    ],
)
def test_parse_line(line, record_is_none, keeps_line):
    parsed = parse_line(line)
    assert (parsed.record is None) == record_is_none
    assert (parsed.line is not None) == keeps_line
    assert (parsed.problem is None) == parsed.is_object
    if parsed.record is not None:
        json.loads(parsed.record, parse_int=str)
    if parsed.line is not None:  # text PostgreSQL can hold
        assert "\x00" not in parsed.line
        parsed.line.encode("utf-8")


def test_bad_bytes_show_as_escapes():
    assert parse_line(b'{"a": "caf\xe9"}').line == '{"a": "caf\\xe9"}'
    assert parse_line(b"a\x00b").line == "a\\x00b"
    assert "byte 0xe9 at byte 11" in parse_line(b'{"a": "caf\xe9"}').problem


@pytest.fixture()
def clean_databases(warehouse_server):
    """Empty source tables and an empty warehouse for each test."""
    for source in ("app", "billing", "crm", "games"):
        with db.connection(f"source_{source}") as conn, conn.cursor() as cur:
            for spec in TABLES:
                if spec.source == source:
                    cur.execute(f"drop table if exists public.{spec.name}")
                    cur.execute(spec.create_sql())
    empty_warehouse()
    return warehouse_server


def empty_warehouse() -> None:
    """The session warehouse as bootstrapped: every schema dropped and created again, nothing landed."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for schema in ("raw", "audit", "reporting", "staging", "marts", "intermediate"):
            cur.execute(f"drop schema if exists {schema} cascade")
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)


def _insert_users(rows):
    with db.connection("source_app") as conn, conn.cursor() as cur:
        for row in rows:
            cur.execute(
                "insert into public.users (id, tenant_id, email, signup_at, platform, country, "
                "acquisition_channel, updated_at) values (%s, 't1', %s, %s, 'web', 'US', 'organic', %s) "
                "on conflict (id) do update set email = excluded.email, updated_at = excluded.updated_at",
                (row[0], f"{row[0]}@example.com", row[1], row[1]),
            )


def _raw(sql, params=()):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_windows_advance_and_reruns_load_nothing(clean_databases):
    users = table("app", "users")
    _insert_users([("u1", datetime(2024, 1, 1, 10, tzinfo=UTC)), ("u2", datetime(2024, 1, 2, 23, 59, tzinfo=UTC)),
                   ("u3", datetime(2024, 1, 3, 0, 0, tzinfo=UTC))])
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        first = extract_table(users, date(2024, 1, 2), src, wh)
        again = extract_table(users, date(2024, 1, 2), src, wh)
        second = extract_table(users, date(2024, 1, 3), src, wh)
    assert first.landed == 2 and first.batch_id is not None
    assert again.batch_id is None and again.landed == 0  # the window was loaded already
    assert second.landed == 1 and second.window_start == end_of_day(date(2024, 1, 2))
    rows = _raw("select id, _batch_id, _loaded_at is not null from raw.app__users order by id")
    assert [(r[0], r[1]) for r in rows] == [("u1", first.batch_id), ("u2", first.batch_id), ("u3", second.batch_id)]
    assert all(r[2] for r in rows)
    batches = _raw("select batch_id, landed from audit.batches where table_name = 'users' order by batch_id")
    assert batches == [(first.batch_id, 2), (second.batch_id, 1)]
    (watermark,) = _raw("select watermark from audit.watermarks where table_name = 'users'")[0]
    assert watermark == end_of_day(date(2024, 1, 3))


def test_an_updated_row_lands_again_as_a_new_version(clean_databases):
    users = table("app", "users")
    _insert_users([("u1", datetime(2024, 1, 1, 10, tzinfo=UTC))])
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        extract_table(users, date(2024, 1, 1), src, wh)
        _insert_users([("u1", datetime(2024, 1, 2, 10, tzinfo=UTC))])
        extract_table(users, date(2024, 1, 2), src, wh)
    assert _raw("select count(*) from raw.app__users where id = 'u1'")[0][0] == 2


def test_a_failed_load_advances_nothing(clean_databases):
    users = table("app", "users")
    _insert_users([("u1", datetime(2024, 1, 1, 10, tzinfo=UTC))])
    with db.connection("warehouse") as conn, conn.cursor() as cur:  # make the raw insert fail
        cur.execute("alter table raw.app__users add constraint no_u1 check (id <> 'u1')")
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        with pytest.raises(Exception, match="no_u1"):
            extract_table(users, date(2024, 1, 1), src, wh)
        wh.rollback()
    assert _raw("select count(*) from audit.batches")[0][0] == 0
    assert _raw("select count(*) from audit.watermarks")[0][0] == 0
    assert _raw("select count(*) from raw.app__users")[0][0] == 0


def test_event_files_load_once_and_keep_bad_lines(clean_databases, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    good = {"id": "e1", "tenant_id": "t1", "event_type": "app_open", "occurred_at": "2024-01-01T10:00:00+00:00",
            "received_at": "2024-01-01T10:00:01+00:00"}
    (landing / "a.jsonl").write_text(json.dumps(good) + "\n" + '{"id": "e2", "tenant\n' + "\n" + "[1,2]\n")
    with gzip.open(landing / "b.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({**good, "id": "e3"}) + "\n")
    with db.connection("warehouse") as wh:
        results = load_landing_dir(landing, date(2024, 1, 1), wh)
    assert [(r.file_name, r.landed, r.malformed) for r in results] == [("a.jsonl", 3, 2), ("b.jsonl.gz", 1, 0)]
    assert not list(landing.glob("*.jsonl*"))
    assert sorted(p.name for p in (landing / "archive").iterdir()) == ["a.jsonl", "b.jsonl.gz"]
    rows = _raw("select _file_name, _line_number, _line, record from raw.app__event_files order by 1, 2")
    assert rows[0][:3] == ("a.jsonl", 1, None) and rows[0][3]["id"] == "e1"
    assert rows[1][1] == 2 and rows[1][2] == '{"id": "e2", "tenant' and rows[1][3] is None
    assert rows[2][1] == 4 and rows[2][2] == "[1,2]" and rows[2][3] == [1, 2]
    # the same file dropped again is archived without loading a second time
    (landing / "a-copy.jsonl").write_bytes((landing / "archive" / "a.jsonl").read_bytes())
    with db.connection("warehouse") as wh:
        again = load_landing_dir(landing, date(2024, 1, 2), wh)
    assert again[0].batch_id is None
    assert _raw("select count(*) from raw.app__event_files")[0][0] == 4
    assert _raw("select sum(landed) from audit.batches where table_name = 'event_files'")[0][0] == 4


def test_binary_and_text_copy_land_the_same_rows(clean_databases, monkeypatch):
    """The binary COPY (the columns match the contract) and the text COPY (after drift) land the same values,
    with the batch's id and loaded_at."""
    from meridian.extract import tables

    events = table("app", "events")
    columns = ", ".join(events.column_names)
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute(
            f"insert into public.events ({columns}) values "
            "('e1', 't1', 'u1', 's1', 'app_open', '{\"a\": [1, 2.50, null], \"b\": \"tab\\there\\nline é\"}', "
            " 'ios', '5.0', 'US', '2024-01-01 10:00:00.123456+00', '2024-01-01 10:00:01+00'), "
            "('e2', 't1', null, null, 'app_close', null, null, null, null, '2024-01-01 11:00+05:30', "
            " '2024-01-01 11:00+00'), "
            "('e3', 't1', 'u\\\\1', 's1', 'x', '{}', 'web', '', 'M', '0001-01-01 00:00+00', null)"
        )
    every = f"{columns}, _batch_id, _loaded_at = b.loaded_at"
    landed = {}
    for binary in (True, False):
        monkeypatch.setattr(tables, "binary_copy", lambda changes, binary=binary: binary)
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("delete from audit.watermarks")
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            result = extract_table(events, date(2024, 1, 2), src, wh)
        assert result.landed == 3
        landed[binary] = _raw(
            f"select {every} from raw.app__events as e join audit.batches as b on b.batch_id = e._batch_id "
            "where e._batch_id = %s order by id", (result.batch_id,))
        assert all(row[-1] for row in landed[binary])  # _loaded_at is the batch's
        assert {row[-2] for row in landed[binary]} == {result.batch_id}
    assert [row[:-2] for row in landed[True]] == [row[:-2] for row in landed[False]]
    assert landed[True][1][:6] == ("e2", "t1", None, None, "app_close", None)
