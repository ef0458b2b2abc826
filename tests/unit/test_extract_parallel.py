"""A source's tables loaded side by side (one task per source), and the bulk path of a first load."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime

import pytest

from meridian import db
from meridian.extract.drift import SourceTableError
from meridian.extract.run import SourceExtractFailed, extract_source, load_order
from meridian.extract.tables import extract_table
from meridian.sources.schema import table
from tests.unit.test_extract import clean_databases  # noqa: F401 - the fixture

AS_OF = date(2024, 1, 2)


def _source(sql: str, params: tuple = (), source: str = "app") -> None:
    with db.connection(f"source_{source}") as conn, conn.cursor() as cur:
        cur.execute(sql, params)


def _warehouse(sql: str, params: tuple = ()) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _app_rows() -> None:
    _source("insert into public.organizations (id, tenant_id, name, updated_at) "
            "values ('o1', 't1', 'Acme', '2024-01-01T09:00:00Z')")
    _source("insert into public.users (id, tenant_id, email, signup_at, platform, country, acquisition_channel, "
            "updated_at) values ('u1', 't1', 'u1@example.com', '2024-01-01T10:00:00Z', 'web', 'US', 'organic', "
            "'2024-01-01T10:00:00Z')")
    _source("insert into public.events (id, tenant_id, event_type, occurred_at, received_at) "
            "select 'e' || n, 't1', 'app_open', '2024-01-01T10:00:00Z', '2024-01-01T10:00:01Z' "
            "from generate_series(1, 500) as n")


def _watermarked() -> set[str]:
    return {row[0] for row in _warehouse("select source || '.' || table_name from audit.watermarks")}


def test_a_source_loads_every_table_event_streams_first(clean_databases):  # noqa: F811 - the fixture
    _app_rows()
    result = extract_source("app", AS_OF)
    assert [t.name for t in load_order("app")][0] == "events"  # the largest starts first
    assert result["landed"] == 502
    assert {name: batch["landed"] for name, batch in result["tables"].items()} == {
        "organizations": 1, "users": 1, "events": 500}
    assert _watermarked() == {"app.organizations", "app.users", "app.events"}
    # each table is its own batch, committed with its own watermark
    batches = _warehouse("select table_name, landed from audit.batches order by table_name")
    assert batches == [("events", 500), ("organizations", 1), ("users", 1)]
    again = extract_source("app", AS_OF)  # a rerun of the same instant loads nothing
    assert again["landed"] == 0 and all(batch["batch_id"] is None for batch in again["tables"].values())


def test_a_table_that_breaks_the_contract_fails_alone_and_is_named(clean_databases):  # noqa: F811
    _app_rows()
    _source("alter table public.users drop column signup_at")
    with pytest.raises(SourceExtractFailed) as raised:
        extract_source("app", AS_OF)
    error = raised.value
    assert error.permanent  # a retry would fail the same way: the task fails without retries
    assert set(error.failures) == {"users"} and isinstance(error.failures["users"], SourceTableError)
    assert "1 of 3 tables of source 'app' failed" in str(error)
    assert "- app.users: " in str(error) and "required column signup_at is missing" in str(error)
    assert "the other 2 (organizations, events) loaded" in str(error)
    # the others committed; the failed one has no batch, no rows and no watermark
    assert _watermarked() == {"app.organizations", "app.events"}
    assert _warehouse("select count(*) from raw.app__events") == [(500,)]
    assert _warehouse("select count(*) from raw.app__users") == [(0,)]
    assert _warehouse("select count(*) from audit.batches where table_name = 'users'") == [(0,)]


def test_a_warehouse_error_is_retried_and_names_its_table(clean_databases):  # noqa: F811 - the fixture
    _app_rows()
    _warehouse("alter table raw.app__events add constraint no_e7 check (id <> 'e7')")
    with pytest.raises(SourceExtractFailed) as raised:
        extract_source("app", AS_OF)
    assert not raised.value.permanent  # not the contract's fault: the task's retry loads it again
    assert set(raised.value.failures) == {"events"} and "- app.events: " in str(raised.value)
    assert "no_e7" in str(raised.value)
    assert _watermarked() == {"app.organizations", "app.users"}
    assert _warehouse("select count(*) from raw.app__events") == [(0,)]
    # the retry, once the cause is gone: only the failed table loads, the others are up to date
    _warehouse("alter table raw.app__events drop constraint no_e7")
    retried = extract_source("app", AS_OF)
    assert {name: batch["landed"] for name, batch in retried["tables"].items()} == {
        "organizations": 0, "users": 0, "events": 500}
    assert _watermarked() == {"app.organizations", "app.users", "app.events"}


def test_a_worker_reuses_its_connections_across_tables_and_failures(clean_databases, monkeypatch):  # noqa: F811
    """One worker: two connections for the source's five tables, the one after a failed table included."""
    from meridian.extract import run

    _source("insert into public.leads (id, tenant_id, status, created_at, updated_at) "
            "values ('l1', 't1', 'new', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00Z')", source="crm")
    _source("alter table public.proposals drop column lead_id", source="crm")  # a required column
    opened: list[str] = []
    connect = db.connect
    monkeypatch.setattr(run.db, "connect", lambda conn_id, **kw: opened.append(conn_id) or connect(conn_id, **kw))
    with pytest.raises(SourceExtractFailed) as raised:
        extract_source("crm", AS_OF, workers=1)
    assert set(raised.value.failures) == {"proposals"}
    assert opened == ["source_crm", "warehouse"]  # opened once, kept after the failure
    monkeypatch.undo()
    assert _watermarked() == {"crm.sales_reps", "crm.leads", "crm.customers", "crm.marketing_spend"}
    assert _warehouse("select id from raw.crm__leads") == [("l1",)]


def _event_file(landing, name: str, ids: range, bad: str | None = None) -> None:
    lines = [f'{{"id": "f{n}", "tenant_id": "t1", "event_type": "app_open", "occurred_at": "2024-01-01T10:00:00Z"}}'
             for n in ids]
    if bad is not None:
        lines.insert(1, bad)
    (landing / name).write_text("\n".join(lines) + "\n")


def test_the_app_tables_and_the_event_files_load_at_once(clean_databases, tmp_path):  # noqa: F811 - the fixture
    """extract_app's work: the app tables and the event files side by side; every source row and every file
    line lands once, a bad line is kept for the quarantine with its reason, an unreadable file is rejected
    alone, and a rerun loads nothing."""
    _app_rows()
    landing = tmp_path / "landing"
    landing.mkdir()
    _event_file(landing, "events_t1_2024-01-01.jsonl", range(300), bad="{not json")
    _event_file(landing, "events_t1_2024-01-02.jsonl", range(300, 400))
    (landing / "events_t1_2024-01-03.jsonl.gz").write_bytes(b"not gzip at all")
    result = extract_source("app", AS_OF, event_files=True, landing_dir=landing)
    assert {name: batch["landed"] for name, batch in result["tables"].items()} == {
        "organizations": 1, "users": 1, "events": 500}
    files = result["event_files"]
    assert (files["files_loaded"], files["lines"], files["lines_not_json_objects"]) == (2, 401, 1)
    assert list(files["files_rejected"]) == ["events_t1_2024-01-03.jsonl.gz"]
    assert result["landed"] == 502 + 401
    # rows == source rows, and the file lines once each
    assert _warehouse("select count(*), count(distinct id) from raw.app__events") == [(500, 500)]
    assert _warehouse("select count(*), count(distinct record ->> 'id') from raw.app__event_files "
                      "where record is not null") == [(400, 400)]
    # the bad line keeps its text for the quarantine (invalid_json), the unreadable file its error
    assert _warehouse("select _file_name, _line_number, _line from raw.app__event_files where _line is not null"
                      ) == [("events_t1_2024-01-01.jsonl", 2, "{not json")]
    [(rejected,)] = _warehouse("select _error from raw.app__event_files where _line_number = 0")
    assert "decompress" in rejected, rejected
    assert sorted(path.name for path in (landing / "archive").iterdir()) == [
        "events_t1_2024-01-01.jsonl", "events_t1_2024-01-02.jsonl"]
    assert [path.name for path in (landing / "rejected").iterdir()] == ["events_t1_2024-01-03.jsonl.gz"]
    # a rerun: nothing new in the tables, no file left to load
    again = extract_source("app", AS_OF, event_files=True, landing_dir=landing)
    assert again["landed"] == 0 and again["event_files"]["files_loaded"] == 0
    assert _warehouse("select count(*) from raw.app__event_files") == [(402,)]


def test_a_failed_event_file_load_is_named_and_retried_while_the_tables_commit(
    clean_databases, tmp_path,  # noqa: F811 - the fixture
):
    _app_rows()
    landing = tmp_path / "landing"
    landing.mkdir()
    _event_file(landing, "events_t1_2024-01-01.jsonl", range(10))
    _event_file(landing, "events_t1_2024-01-02.jsonl", range(10, 20))
    # the warehouse refuses the second file's rows
    _warehouse("alter table raw.app__event_files add constraint no_f15 check (record ->> 'id' <> 'f15')")
    with pytest.raises(SourceExtractFailed) as raised:
        extract_source("app", AS_OF, event_files=True, landing_dir=landing)
    error = raised.value
    assert not error.permanent and error.failures == {}  # the warehouse's fault: the task's retry loads it
    assert "the event files stopped loading; the 3 tables of source 'app' loaded" in str(error)
    assert "events_t1_2024-01-02.jsonl" in str(error) and "no_f15" in str(error)
    assert _watermarked() == {"app.organizations", "app.users", "app.events"}
    assert _warehouse("select _file_name, count(*) from raw.app__event_files group by 1") == [
        ("events_t1_2024-01-01.jsonl", 10)]
    assert [path.name for path in landing.glob("*.jsonl")] == ["events_t1_2024-01-02.jsonl"]
    _warehouse("alter table raw.app__event_files drop constraint no_f15")
    retried = extract_source("app", AS_OF, event_files=True, landing_dir=landing)
    assert retried["landed"] == 10 and retried["event_files"]["files_loaded"] == 1
    assert _warehouse("select count(*), count(distinct record ->> 'id') from raw.app__event_files") == [(20, 20)]


def _indexes(relation: str) -> list[tuple]:
    """Every index of the raw table and of its partitions, with its definition and whether it is valid."""
    return _warehouse(
        """
        select index_class.relname, pg_get_indexdef(index_.indexrelid), index_.indisvalid
        from pg_index as index_
        join pg_class as index_class on index_class.oid = index_.indexrelid
        where index_.indrelid = %s::regclass
           or index_.indrelid in (select inhrelid from pg_inherits where inhparent = %s::regclass)
        order by 1
        """,
        (relation, relation),
    )


@pytest.mark.parametrize(("name", "relation"), [("events", "raw.app__events"), ("users", "raw.app__users")])
def test_a_first_load_builds_the_indexes_after_the_rows(clean_databases, caplog, name, relation):  # noqa: F811
    _app_rows()
    before = _indexes(relation)
    assert before and all(valid for *_, valid in before)
    spec = table("app", name)
    with caplog.at_level(logging.INFO, logger="meridian.extract.tables"):
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            first = extract_table(spec, AS_OF, src, wh)
        assert f"raw.{spec.raw_table} was empty: loaded without maintaining its indexes" in caplog.text
        caplog.clear()
        # the same indexes, valid on every partition, and used: the batch's rows are found through them
        assert _indexes(relation) == before
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("set enable_seqscan = off")
            cur.execute(f"explain select count(*) from {relation} where _batch_id = %s", (first.batch_id,))
            plan = "\n".join(row[0] for row in cur.fetchall())
            cur.execute(f"select count(*) from {relation} where _batch_id = %s", (first.batch_id,))
            assert cur.fetchone()[0] == first.landed
        assert "Index" in plan, plan
        # a table that holds rows is loaded as it is: nothing dropped, nothing truncated
        _source(f"update public.{name} set {spec.extract_key} = '2024-01-02T12:00:00Z' where id in ('u1', 'e1')")
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            second = extract_table(spec, date(2024, 1, 3), src, wh)
        assert "was empty" not in caplog.text
    assert second.landed == 1
    assert _warehouse(f"select count(*) from {relation}") == [(first.landed + 1,)]
    assert _indexes(relation) == before


def test_a_first_load_goes_straight_into_the_only_partition_and_is_routed_once_there_are_months(
        clean_databases, caplog):  # noqa: F811 - the fixture
    """A first build's events go into the default partition directly (no routing of each row): the same rows
    where routing would put them. Once warehouse_maintenance has made month partitions, a first load is routed."""
    from meridian.warehouse import partitions

    _app_rows()
    _source("insert into public.events (id, tenant_id, event_type, occurred_at, received_at) "
            "values ('e-late', 't1', 'app_open', '2023-12-31T23:00:00Z', '2024-01-01T10:00:02Z')")
    events = table("app", "events")
    with caplog.at_level(logging.INFO, logger="meridian.extract.tables"):
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            first = extract_table(events, AS_OF, src, wh)
    assert "the rows went straight into its only partition, raw.app__events_default" in caplog.text
    assert first.landed == 501
    assert _warehouse("select tableoid::regclass::text, count(*) from raw.app__events group by 1") == [
        ("raw.app__events_default", 501)]
    # the loaded rows are the same through the partitioned table, and its index covers them
    assert _warehouse("select count(*) from raw.app__events where _batch_id = %s", (first.batch_id,)) == [(501,)]

    # the raw layer rebuilt with month partitions in place: a first load is routed to them
    _warehouse("truncate raw.app__events")
    _warehouse("delete from audit.watermarks")
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        partitions.ensure_month_partition(cur, "app__events", partitions.Month(2024, 1))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="meridian.extract.tables"):
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            again = extract_table(events, AS_OF, src, wh)
    assert "raw.app__events was empty: loaded without maintaining its indexes" in caplog.text
    assert "straight into" not in caplog.text
    assert again.landed == 501
    assert _warehouse("select tableoid::regclass::text, count(*) from raw.app__events group by 1 order by 1") == [
        ("raw.app__events_default", 1), ("raw.app__events_p2024_01", 500)]


def test_a_failed_first_load_keeps_the_indexes(clean_databases):  # noqa: F811 - the fixture
    _app_rows()
    before = _indexes("raw.app__events")
    _warehouse("alter table raw.app__events add constraint no_e7 check (id <> 'e7')")
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        with pytest.raises(Exception, match="no_e7"):
            extract_table(table("app", "events"), AS_OF, src, wh)
        wh.rollback()
    assert _indexes("raw.app__events") == before
    assert _warehouse("select count(*) from audit.watermarks") == [(0,)]


def test_an_unknown_source_is_named():
    with pytest.raises(ValueError, match="unknown source 'ap'"):
        load_order("ap")


def test_the_result_names_the_instant(clean_databases):  # noqa: F811 - the fixture
    result = extract_source("games", datetime(2024, 1, 2, 15, tzinfo=UTC))
    assert result["source"] == "games" and result["landed"] == 0
    assert {batch["window_end"] for batch in result["tables"].values()} == {"2024-01-02T15:00:00+00:00"}


def test_rows_committed_while_a_first_load_waits_for_its_lock_are_kept(clean_databases, caplog):  # noqa: F811
    """The table looks empty, but another transaction is writing to it: the load waits, sees the rows, keeps them."""
    _app_rows()
    writer = db.connect("warehouse")
    with writer.cursor() as cur:  # uncommitted: invisible to the load's first look, but holding its lock
        cur.execute("insert into raw.app__users (id, tenant_id, _batch_id, _loaded_at) values ('kept', 't1', 0, now())")
    results: list = []

    def load() -> None:
        with db.connection("source_app") as src, db.connection("warehouse") as wh:
            results.append(extract_table(table("app", "users"), AS_OF, src, wh))

    with caplog.at_level(logging.INFO, logger="meridian.extract.tables"):
        loader = threading.Thread(target=load)
        loader.start()
        deadline = time.monotonic() + 30
        waiting = False
        while not waiting and time.monotonic() < deadline:  # the load waits for the writer's lock
            waiting = bool(_warehouse(
                "select 1 from pg_locks where relation = 'raw.app__users'::regclass and not granted"))
        assert waiting, "the load did not wait for the writer"
        writer.commit()
        writer.close()
        loader.join(timeout=60)
    assert results and results[0].landed == 1
    assert "was empty" not in caplog.text
    assert sorted(row[0] for row in _warehouse("select id from raw.app__users")) == ["kept", "u1"]
