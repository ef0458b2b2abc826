"""Raw retention on a real PostgreSQL: month partitions, the one-time migration, the purge into history.

A private embedded warehouse; ``staging.base_app__events`` (dbt builds it in the
pipeline) is shaped by hand with the columns the purge reads. The end-to-end
proof that a purge followed by a full refresh leaves every mart unchanged is
tests/e2e/test_retention.py.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meridian import db
from meridian.extract.event_files import load_landing_dir
from meridian.warehouse import partitions
from meridian.warehouse.bootstrap import ensure_warehouse
from meridian.warehouse.event_time import OCCURRED_AT_SQL, parse_occurred_at
from meridian.warehouse.partitions import Month
from meridian.warehouse.retention import cutoff_instant, partition_raw_events, purge_raw_events, run_maintenance
from tests.conftest import private_warehouse

AS_OF = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
EVENT_COLUMNS = ("id, tenant_id, user_id, session_id, event_type, properties, platform, app_version, country, "
                 "occurred_at, received_at")


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-retention-test-") as base:
        yield base


@pytest.fixture
def fresh(warehouse: Path) -> None:
    """An empty warehouse (every pipeline schema dropped)."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for schema in ("raw", "staging", "audit", "history", "reporting"):
            cur.execute(f"drop schema if exists {schema} cascade")


def q(sql: str, params: tuple = ()) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def bootstrap() -> None:
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)


def month_names(table: str) -> list[str]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        return sorted(str(month) for month in partitions.month_partitions(cur, table))


def test_cutoff_is_whole_calendar_months_before_the_as_of():
    assert cutoff_instant(AS_OF, 13) == datetime(2025, 11, 5, 14, 30, tzinfo=UTC)
    # the day is clamped to the shorter month
    assert cutoff_instant(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert cutoff_instant(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)
    assert Month(2025, 12).next == Month(2026, 1)
    assert Month(2026, 1).plus(-13) == Month(2024, 12)


SAMPLES = [
    "2026-10-31T12:00:00Z", "2026-10-31 12:00", "2026-10-31", "2026-10-31T23:59:59.9999995Z",
    "2026-11-01T00:30:00+01:00", "2026-10-31T23:30:00-0230", "2026-10-31T12:00:00.5+05", "2026-02-30T10:00:00Z",
    "2026-13-01", "0000-01-01", "yesterday", "now", "10/31/2026", "2026-10-31T24:00:00Z", "", "2026-10-31T12:00z",
    "2026-10-31T12:00:00.1", "2026-10-31t12:00", "2026-10-31 12:00:00+0530", "2026-10-31T12:00:00 +05:00",
    "2026-10-31T12:00:00.1234567-01", "2024-02-29 06:00",
    "2026-10-31T12:00:00.000001Z", " 2026-10-31", "2026-10-31\n", "2026-10-31T12:00:00Z ",
]


def test_loader_occurred_at_matches_the_sql_rule(warehouse):
    """The Python parse (event-file COPY) and the SQL one (the migration) give the same instant or null."""
    rows = q(
        f"select value, ({OCCURRED_AT_SQL}) from (select v as value, jsonb_build_object('occurred_at', v) as record "
        "from unnest(%s::text[]) as v) as samples",
        (SAMPLES,),
    )
    for value, expected in rows:
        assert parse_occurred_at(value) == expected, value
    assert parse_occurred_at(123) is None
    # beyond years 1-9999 in UTC: null here; PostgreSQL has a value (BC, or year 10000), which no month
    # partition takes either, so the line lands in the default partition both ways
    assert parse_occurred_at("0001-01-01T00:00:00+01:00") is None
    assert parse_occurred_at("9999-12-31T23:59:59-15:59") is None
    assert q(f"select ({OCCURRED_AT_SQL}) >= '0001-01-01 00:00+00', ({OCCURRED_AT_SQL}) < '10000-01-01 00:00+00' "
             "from (select jsonb_build_object('occurred_at', '0001-01-01T00:00:00+01:00') as record union all "
             "select jsonb_build_object('occurred_at', '9999-12-31T23:59:59-15:59')) as r") == [(False, True),
                                                                                          (True, False)]
    assert q(f"select ({OCCURRED_AT_SQL}) from (select '{{\"occurred_at\": 5}}'::jsonb as record) as r") == [(None,)]


def _old_shape_tables() -> None:
    """The raw event tables as a warehouse from before partitioning had them, with rows."""
    q(
        """
        create schema raw;
        create table raw.app__events (
            id text, tenant_id text, user_id text, session_id text, event_type text, properties jsonb,
            platform text, app_version text, country char(2), occurred_at timestamptz, received_at timestamptz,
            _batch_id bigint not null, _loaded_at timestamptz not null);
        create index app__events__batch on raw.app__events (_batch_id);
        create table raw.app__event_files (
            _file_name text not null, _line_number integer not null, _line text, record jsonb,
            _batch_id bigint not null, _loaded_at timestamptz not null);
        create index app__event_files__batch on raw.app__event_files (_batch_id);
        insert into raw.app__events (id, tenant_id, event_type, occurred_at, received_at, _batch_id, _loaded_at) values
            ('e1', 't1', 'app_open', '2024-03-10 10:00+00', '2024-03-10 10:00+00', 1, '2024-03-11'),
            ('e2', 't1', 'app_open', '2024-04-30 23:59:59.999999+00', '2024-05-01 00:00+00', 1, '2024-03-11'),
            ('e3', 't1', 'app_open', null, '2024-05-01 00:00+00', 1, '2024-03-11'),
            ('e4', 't1', 'app_open', 'infinity', '2024-05-01 00:00+00', 1, '2024-03-11'),
            ('e5', 't1', 'app_open', '0044-03-15 12:00+00 BC', '2024-05-01 00:00+00', 1, '2024-03-11');
        insert into raw.app__event_files (_file_name, _line_number, _line, record, _batch_id, _loaded_at) values
            ('f.jsonl', 1, null, '{"id": "f1", "occurred_at": "2024-04-01T00:30:00+01:00"}', 2, '2024-05-02'),
            ('f.jsonl', 2, 'not json', null, 2, '2024-05-02'),
            ('f.jsonl', 3, null, '{"id": "f3", "occurred_at": "2024-02-30"}', 2, '2024-05-02'),
            ('f.jsonl', 4, null, '{"id": "f4", "occurred_at": "2024-06-15T08:00:00Z"}', 2, '2024-05-02');
        """
    )


def test_migration_partitions_an_existing_table_once(fresh):
    _old_shape_tables()
    # occurred_at as text: a BC timestamp has no Python datetime
    every_column = f"{EVENT_COLUMNS.replace('occurred_at', 'occurred_at::text')}, _batch_id, _loaded_at"
    events_before = q(f"select {every_column} from raw.app__events order by id")
    bootstrap()
    ahead: set[str] = set()  # the bootstrap creates no month ahead: warehouse_maintenance does, from its as-of
    assert set(month_names("app__events")) == {"2024-03", "2024-04"} | ahead
    # event-file lines got their occurred_at from the record at migration ("2024-04-01T00:30+01" is March UTC)
    assert set(month_names("app__event_files")) == {"2024-03", "2024-06"} | ahead
    assert q(f"select {every_column} from raw.app__events order by id") == events_before
    assert q("select id, tableoid::regclass::text from raw.app__events order by id") == [
        ("e1", "raw.app__events_p2024_03"), ("e2", "raw.app__events_p2024_04"), ("e3", "raw.app__events_default"),
        ("e4", "raw.app__events_default"), ("e5", "raw.app__events_default")]
    assert q("select _line_number, occurred_at, tableoid::regclass::text from raw.app__event_files "
             "order by _line_number") == [
        (1, datetime(2024, 3, 31, 23, 30, tzinfo=UTC), "raw.app__event_files_p2024_03"),
        (2, None, "raw.app__event_files_default"),
        (3, None, "raw.app__event_files_default"),
        (4, datetime(2024, 6, 15, 8, tzinfo=UTC), "raw.app__event_files_p2024_06"),
    ]
    assert q("select relkind from pg_class where oid = 'raw.app__events'::regclass") == [("p",)]
    snapshot = q("select * from raw.app__event_files order by _line_number")
    # a second bootstrap changes nothing
    bootstrap()
    assert set(month_names("app__events")) == {"2024-03", "2024-04"} | ahead
    assert q("select * from raw.app__event_files order by _line_number") == snapshot
    # the maintenance split leaves an infinite or BC occurred_at in the default partition
    partition_raw_events(AS_OF)
    assert q("select id from raw.app__events_default order by id") == [("e3",), ("e4",), ("e5",)]
    assert q("select count(*) from pg_class where relname like 'app__event%%unpartitioned'") == [(0,)]
    # the batch index reaches every partition
    assert q("select count(*) from pg_indexes where schemaname = 'raw' and tablename = 'app__events_p2024_03'") == [(1,)]


def test_copy_never_fails_for_a_missing_month(fresh, tmp_path):
    """Lines of months without a partition (and without a parseable occurred_at) land in the default one."""
    bootstrap()
    landing = tmp_path / "landing"
    landing.mkdir()
    lines = [
        {"id": "a", "occurred_at": "1990-01-01T00:00:00Z"},
        {"id": "b", "occurred_at": "2090-07-01T00:00:00Z"},
        {"id": "c", "occurred_at": "not a time"},
        {"id": "d"},
    ]
    with gzip.open(landing / "events_t1_2026-12-01.jsonl.gz", "wt") as handle:
        handle.write("\n".join(json.dumps(line) for line in lines) + "\n[1]\n")
    with db.connection("warehouse") as conn:
        [result] = load_landing_dir(landing, AS_OF, conn)
    assert result.landed == 5
    assert q("select _line_number, occurred_at from raw.app__event_files_default order by 1") == [
        (1, datetime(1990, 1, 1, tzinfo=UTC)), (2, datetime(2090, 7, 1, tzinfo=UTC)), (3, None), (4, None), (5, None)]
    # the maintenance split gives the dated lines their months; the undated ones, and one dated after the
    # months ahead of the as-of, stay in the default partition
    summary = partition_raw_events(AS_OF)
    assert {"1990-01", "2026-12", "2027-01", "2027-02"} <= set(month_names("app__event_files"))
    assert "2090-07" not in month_names("app__event_files")
    assert summary["months_left_in_default"]["app__event_files"] == ["2090-07"]
    assert q("select _line_number from raw.app__event_files_default order by 1") == [(2,), (3,), (4,), (5,)]
    assert q("select count(*) from raw.app__event_files") == [(5,)]


def _staging_events() -> None:
    """staging.base_app__events shaped by hand (the columns the purge reads), with audit.batches rows."""
    q(
        f"""
        create table staging.base_app__events as
        select {EVENT_COLUMNS}, origin, _file_name, _line_number, _batch_id, _loaded_at,
               row_status, is_current
        from (select null::text as id, null::text as tenant_id, null::text as user_id, null::text as session_id,
                     null::text as event_type, null::jsonb as properties, null::text as platform,
                     null::text as app_version, null::char(2) as country, null::timestamptz as occurred_at,
                     null::timestamptz as received_at, null::text as origin, null::text as _file_name,
                     null::integer as _line_number, null::bigint as _batch_id, null::timestamptz as _loaded_at,
                     null::text as row_status, null::boolean as is_current) as shape
        where false
        """
    )


def _land(batch: int, rows: list[tuple], reconciled: bool = True, table: str = "events") -> None:
    """A batch in audit.batches and its raw rows: (id, occurred_at) for events, (line, id, occurred_at) for files."""
    q("insert into audit.batches (batch_id, source, table_name, as_of_date, window_end, landed, accepted, "
      "quarantined, duplicates, reconciled_at) values (%s, 'app', %s, '2024-05-01', '2024-05-02', %s, %s, 0, 0, "
      "case when %s then now() end)", (batch, table, len(rows), len(rows), reconciled))
    for row in rows:
        if table == "events":
            q("insert into raw.app__events (id, tenant_id, event_type, occurred_at, received_at, _batch_id, _loaded_at) "
              "values (%s, 't1', 'app_open', %s, %s, %s, '2024-05-02')", (row[0], row[1], row[1], batch))
        else:
            record = json.dumps({"id": row[1], "occurred_at": row[2] and row[2].isoformat()})
            q("insert into raw.app__event_files (_file_name, _line_number, record, occurred_at, _batch_id, _loaded_at) "
              "values ('f.jsonl', %s, %s, %s, %s, '2024-05-02')", (row[0], record, row[2], batch))


def _classify(batch: int, rows: list[tuple], origin: str = "db", status: str = "accepted",
              current: bool = True) -> None:
    for row in rows:
        line = row[0] if origin == "file" else None
        event_id, occurred = (row[1], row[2]) if origin == "file" else row
        q("insert into staging.base_app__events (id, tenant_id, event_type, occurred_at, received_at, origin, "
          "_file_name, _line_number, _batch_id, _loaded_at, row_status, is_current) values "
          "(%s, 't1', 'app_open', %s, %s, %s, %s, %s, %s, '2024-05-02', %s, %s)",
          (event_id, occurred, occurred, origin, "f.jsonl" if origin == "file" else None, line, batch, status,
           current))


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_purge_keeps_the_current_events_in_history_and_drops_whole_months(fresh):
    bootstrap()
    _staging_events()
    old_db = [("e1", at(2024, 3)), ("e2", at(2024, 3)), ("e3", at(2024, 4))]
    dup = [("e1", at(2024, 3))]  # an identical re-landing: a duplicate, not kept
    recent = [("e9", at(2026, 11))]
    undated = [("e0", None)]  # null occurred_at: quarantined, never purged
    _land(1, old_db + recent + undated)
    _land(2, dup)
    files = [(1, "f1", at(2024, 3)), (2, "f2", None)]
    _land(3, files, table="event_files")
    _classify(1, old_db + recent)
    _classify(1, undated, status="quarantined", current=False)
    _classify(2, dup, status="duplicate", current=False)
    _classify(3, files[:1], origin="file")
    _classify(3, files[1:], origin="file", status="quarantined", current=False)
    partition_raw_events(AS_OF)
    # 2024-03 and 2024-04 are wholly before the cutoff (2025-11-05 14:30); 2026-11 is kept
    summary = purge_raw_events(AS_OF, 13)
    assert [m.month for m in summary.purged] == ["2024-03", "2024-04"] and not summary.deferred
    assert summary.purged[0].rows_purged == {"app__events": 3, "app__event_files": 1}
    assert summary.purged[0].batches == [1, 2, 3]
    assert q("select id, origin, _file_name, _line_number, _batch_id from history.app__events order by id") == [
        ("e1", "db", None, None, 1), ("e2", "db", None, None, 1), ("e3", "db", None, None, 1),
        ("f1", "file", "f.jsonl", 1, 3)]
    assert q("select id from raw.app__events order by id") == [("e0",), ("e9",)]
    assert q("select _line_number from raw.app__event_files") == [(2,)]
    assert month_names("app__events") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert q("select batch_id from audit.batches where purged_at is not null order by 1") == [(1,), (2,), (3,)]
    assert q("select table_name, month::text, rows_purged, events_kept_in_history from audit.raw_purges "
             "order by 1, 2") == [
        ("raw.app__event_files", "2024-03-01", 1, 1),
        ("raw.app__events", "2024-03-01", 3, 2), ("raw.app__events", "2024-04-01", 1, 1)]
    purged_at = q("select batch_id, purged_at from audit.batches order by 1")
    history = q("select * from history.app__events order by id")
    # a second run is harmless: nothing to split or purge, nothing changes
    second = run_maintenance(AS_OF, 13)
    assert second["purge"]["purged"] == [] and second["purge"]["deferred"] == {}
    assert q("select * from history.app__events order by id") == history
    assert q("select batch_id, purged_at from audit.batches order by 1") == purged_at
    assert q("select count(*) from raw.app__events") == [(2,)]


def test_a_month_staging_has_not_classified_waits(fresh):
    bootstrap()
    _staging_events()
    _land(1, [("e1", at(2024, 3))])
    _land(2, [("e2", at(2024, 3))], reconciled=False)
    _land(3, [("e3", at(2024, 4))])
    _classify(1, [("e1", at(2024, 3))])
    _classify(2, [("e2", at(2024, 3))])
    partition_raw_events(AS_OF)
    summary = purge_raw_events(AS_OF, 13)
    # 2024-03: batch 2 is classified but not reconciled; 2024-04: batch 3 is not in staging at all
    assert summary.purged == []
    assert "batches [2] have not been reconciled" in summary.deferred["2024-03"]
    assert "1 raw rows of batches [3] are not in staging.base_app__events" in summary.deferred["2024-04"]
    assert q("select count(*) from raw.app__events") == [(3,)]
    assert q("select count(*) from history.app__events") == [(0,)]
    assert q("select count(*) from audit.batches where purged_at is not null") == [(0,)]


def test_no_staging_yet_defers_everything(fresh):
    bootstrap()
    _land(1, [("e1", at(2024, 3))])
    partition_raw_events(AS_OF)
    summary = purge_raw_events(AS_OF, 13)
    assert summary.purged == [] and "run transform_warehouse first" in summary.deferred["2024-03"]


def test_retention_months_from_settings(fresh, monkeypatch):
    bootstrap()
    monkeypatch.setenv("MERIDIAN_RAW_RETENTION_MONTHS", "40")
    assert purge_raw_events(AS_OF).retention_months == 40
    monkeypatch.setenv("MERIDIAN_RAW_RETENTION_MONTHS", "0")
    with pytest.raises(ValueError, match="MERIDIAN_RAW_RETENTION_MONTHS='0'"):
        purge_raw_events(AS_OF)


def test_empty_months_past_retention_are_dropped(fresh):
    """Months created ahead that never got a row go like the others, with nothing to keep."""
    bootstrap()
    _staging_events()
    partition_raw_events(datetime(2024, 1, 15, tzinfo=UTC))
    assert month_names("app__events") == ["2024-01", "2024-02", "2024-03"]
    summary = purge_raw_events(AS_OF, 13)
    assert [(m.month, m.rows_purged, m.events_kept_in_history, m.batches) for m in summary.purged] == [
        (month, {"app__events": 0, "app__event_files": 0}, 0, []) for month in ("2024-01", "2024-02", "2024-03")]
    assert month_names("app__events") == [] and month_names("app__event_files") == []
