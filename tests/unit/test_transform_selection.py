"""What an incremental run builds (meridian.transform.selection): batches and project state on a real PostgreSQL.

The project in these tests is a small manifest of the shape dbt writes, over
three raw sources with their batches in audit.batches of a private warehouse:

    raw.app__users  -> base_users (table, visibility macro) -> stg_users (view) -> fct_users (table)
    raw.crm__leads  -> base_leads (table, visibility macro through a shared landing macro) -> stg_leads (view)
                                                                              -> fct_leads (table, reads as_of)
    raw.app__events -> base_events (incremental)            -> stg_events (view) -> fct_events (table)
    seed plans ------------------------------------------------------------------^ (fct_users reads it too)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from meridian import db
from meridian.transform.dbt_run import INCREMENTAL_SELECTOR, build_args, incremental_criteria
from meridian.transform.plan import RunPlan
from meridian.transform.project_state import project_state
from meridian.transform.selection import (
    NO_NEW_INPUT,
    UNCHANGED_VIEW,
    batches_seen,
    changed_sources,
    existing_nodes,
    select_nodes,
    selector_criteria,
    touched_row_tests,
)
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

LAST_INSTANT = datetime(2026, 10, 31, tzinfo=UTC)  # the last successful build's instant
LAST_STARTED = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)  # ... and when it started
VISIBLE = "macro.meridian.extraction_key_visible"
AS_OF_END = "macro.meridian.as_of_end"
LANDED = "macro.meridian.landed_source_rows"  # a shared macro of the base models that applies the visibility macro


def node(name: str, materialized: str, parents: list[str], *, code: str = "select 1", macros: list[str] = (),
         resource_type: str = "model") -> tuple[str, dict]:
    uid = f"{resource_type}.meridian.{name}"
    return uid, {
        "name": name, "resource_type": resource_type, "schema": "marts", "alias": name, "raw_code": code,
        "checksum": {"checksum": code}, "config": {"materialized": materialized},
        "depends_on": {"nodes": parents, "macros": list(macros)},
    }


def manifest() -> dict:
    nodes = dict([
        node("base_users", "table", ["source.meridian.raw.app__users"], macros=[VISIBLE]),
        node("stg_users", "view", ["model.meridian.base_users"]),
        node("plans", "seed", [], resource_type="seed"),
        node("fct_users", "table", ["model.meridian.stg_users", "seed.meridian.plans"]),
        node("base_leads", "table", ["source.meridian.raw.crm__leads"], macros=[LANDED]),
        node("stg_leads", "view", ["model.meridian.base_leads"]),
        node("fct_leads", "table", ["model.meridian.stg_leads"], code="select {{ var('as_of') }}"),
        node("base_events", "incremental", ["source.meridian.raw.app__events"], macros=[VISIBLE, AS_OF_END]),
        node("stg_events", "view", ["model.meridian.base_events"]),
        node("fct_events", "table", ["model.meridian.stg_events"]),
        node("not_null_fct_users_id", "test", ["model.meridian.fct_users"], resource_type="test"),
        node("not_null_stg_events_id", "test", ["model.meridian.stg_events"], resource_type="test"),
    ])
    nodes["test.meridian.not_null_fct_users_id.0a1b2c3d4e"] = nodes.pop("test.meridian.not_null_fct_users_id")
    nodes["test.meridian.not_null_stg_events_id.5f6a7b8c9d"] = nodes.pop("test.meridian.not_null_stg_events_id")
    sources = {f"source.meridian.raw.{table}": {"schema": "raw", "name": table, "identifier": table}
               for table in ("app__users", "crm__leads", "app__events")}
    sources["source.meridian.audit.batches"] = {"schema": "audit", "name": "batches", "identifier": "batches"}
    macros = {
        VISIBLE: {"macro_sql": "{% macro extraction_key_visible(k) %}{{ k }} < {{ as_of_end() }}{% endmacro %}",
                  "depends_on": {"macros": [AS_OF_END]}},
        LANDED: {"macro_sql": "{% macro landed_source_rows(t, k) %}select * from {{ t }} where "
                          "{{ extraction_key_visible(k) }}{% endmacro %}", "depends_on": {"macros": [VISIBLE]}},
        AS_OF_END: {"macro_sql": "{% macro as_of_end() %}cast('{{ var(\"as_of\") }}' as timestamptz){% endmacro %}",
                    "depends_on": {"macros": []}},
    }
    return {"nodes": nodes, "sources": sources, "macros": macros}


ALL_BUILT = [uid for uid, item in manifest()["nodes"].items() if item["resource_type"] in ("model", "seed")]


@pytest.fixture(scope="module")
def warehouse() -> Iterator[None]:
    with private_warehouse("meridian-selection-test-", ensure_warehouse):
        yield


@pytest.fixture()
def cur(warehouse: None) -> Iterator[object]:
    with db.connection("warehouse") as conn, conn.cursor() as cursor:
        cursor.execute("delete from audit.batches")
        yield cursor


def add_batch(cur, source: str, table: str, *, landed: int, window_end: datetime) -> None:
    cur.execute("insert into audit.batches (source, table_name, as_of_date, window_end, landed) "
                "values (%s, %s, %s, %s, %s)", (source, table, window_end.date(), window_end, landed))


def test_a_day_with_new_users_only_rebuilds_the_users_chain_and_what_reads_the_instant(cur):
    for source, table in (("app", "users"), ("crm", "leads"), ("app", "events")):
        add_batch(cur, source, table, landed=10, window_end=LAST_INSTANT)
    add_batch(cur, "app", "events", landed=0, window_end=LAST_INSTANT)
    seen_by_last_build = batches_seen(cur)
    assert seen_by_last_build.keys() == {"app__users", "crm__leads", "app__events"}
    # then the next extraction: users landed rows, leads nothing
    add_batch(cur, "app", "users", landed=5, window_end=LAST_INSTANT + timedelta(days=1))
    add_batch(cur, "crm", "leads", landed=0, window_end=LAST_INSTANT + timedelta(days=1))
    seen_now = batches_seen(cur)
    changed = changed_sources(cur, manifest(), seen_now, seen_by_last_build, LAST_INSTANT, LAST_STARTED)
    # users landed a new batch; leads' new batch landed nothing, events none; audit tables change every run
    assert changed == {"source.meridian.raw.app__users", "source.meridian.audit.batches"}
    # a batch the last build did not see (it committed after that build looked, whatever its id): new
    assert "source.meridian.raw.app__events" in changed_sources(
        cur, manifest(), seen_now, {**seen_by_last_build, "app__events": [0, 0]}, LAST_INSTANT, LAST_STARTED)

    selection = select_nodes(manifest(), project_state(manifest()), changed, ALL_BUILT)
    built = {uid.split(".")[2] for uid in selection.built}
    assert built == {"base_users", "stg_users", "fct_users", "fct_leads", "base_events", "fct_events"}
    assert selection.left_out == {
        "model.meridian.base_leads": NO_NEW_INPUT,  # no new batch, the visibility macro only
        "model.meridian.stg_leads": UNCHANGED_VIEW,
        "seed.meridian.plans": NO_NEW_INPUT,
        "model.meridian.stg_events": UNCHANGED_VIEW,  # on an incremental table: never dropped, rows live
    }
    # the view on the rebuilt base_users table is dropped with it: re-created; fct_leads reads var('as_of')
    assert selection.exclude() == ("base_leads", "not_null_stg_events_id", "plans", "stg_events", "stg_leads")
    record = selection.record()
    assert record["built"] == 6 and record["left_out"] == 4 and record["tests_left_out"] == 1
    assert record["by_reason"][UNCHANGED_VIEW] == ["stg_events", "stg_leads"]
    assert "4 left out" in selection.describe()


def test_a_batch_the_last_build_saw_with_rows_after_its_instant_counts_as_changed(cur):
    # extracted earlier for a later instant: rows with keys after the last build's instant become visible now
    add_batch(cur, "crm", "leads", landed=4, window_end=LAST_INSTANT + timedelta(hours=3))
    seen = batches_seen(cur)
    assert changed_sources(cur, manifest(), seen, seen, LAST_INSTANT, LAST_STARTED) == {
        "source.meridian.raw.crm__leads", "source.meridian.audit.batches"}


def test_a_raw_purge_since_the_last_build_changes_the_table(cur):
    add_batch(cur, "app", "events", landed=4, window_end=LAST_INSTANT)
    seen = batches_seen(cur)
    cur.execute("insert into audit.raw_purges (table_name, month, rows_purged, events_kept_in_history, batches, "
                "as_of_at, purged_at) values ('app__events', date '2025-09-01', 4, 4, 1, %s, %s)",
                (LAST_INSTANT, LAST_STARTED + timedelta(hours=1)))
    try:
        assert changed_sources(cur, manifest(), seen, seen, LAST_INSTANT, LAST_STARTED) == {
            "source.meridian.raw.app__events", "source.meridian.audit.batches"}
    finally:
        cur.execute("delete from audit.raw_purges")


def test_without_a_last_build_every_source_changed(cur):
    assert changed_sources(cur, manifest(), {}, None, None, None) == set(manifest()["sources"])


def test_changed_code_a_missing_relation_and_no_recorded_state_select_the_node(cur):
    state = project_state(manifest())
    nothing_new = {"source.meridian.audit.batches"}
    quiet = select_nodes(manifest(), state, nothing_new, ALL_BUILT)
    # fct_events reads stg_events, a view over the incremental base_events that this run writes
    assert {uid.split(".")[2] for uid in quiet.built} == {"fct_leads", "base_events", "fct_events"}

    changed = dict(state, **{"model.meridian.stg_users": "another digest"})
    selection = select_nodes(manifest(), changed, nothing_new, ALL_BUILT)
    assert {"model.meridian.stg_users", "model.meridian.fct_users"} <= set(selection.built)
    assert "model.meridian.base_users" in selection.left_out

    missing = [uid for uid in ALL_BUILT if uid != "model.meridian.stg_leads"]
    selection = select_nodes(manifest(), state, nothing_new, missing)
    assert "model.meridian.stg_leads" in selection.built and "model.meridian.base_leads" in selection.left_out

    assert select_nodes(manifest(), None, nothing_new, ALL_BUILT).left_out == {}


def test_existing_nodes_reads_the_catalog(cur):
    cur.execute("create schema if not exists marts")
    cur.execute("create table if not exists marts.base_users (id int)")
    cur.execute("create or replace view marts.stg_users as select id from marts.base_users")
    assert existing_nodes(cur, manifest()) == {"model.meridian.base_users", "model.meridian.stg_users"}


def test_the_incremental_selector_as_criteria_and_the_build_arguments():
    assert selector_criteria({"union": [
        {"method": "resource_type", "value": "model", "indirect_selection": "empty"},
        {"intersection": [{"method": "test_name", "value": "x"},
                          {"union": [{"method": "path", "value": "a"}, {"method": "path", "value": "b"}]}]},
    ]}) == ["resource_type:model", "test_name:x,path:a", "test_name:x,path:b"]
    with pytest.raises(ValueError, match="cannot express"):
        selector_criteria({"method": "state", "value": "modified", "parents": True})

    plan = RunPlan(LAST_INSTANT + timedelta(days=1), False, "incremental", 3, LAST_INSTANT)
    assert build_args(plan)[-2:] == ["--selector", INCREMENTAL_SELECTOR]
    args = build_args(RunPlan(plan.as_of_at, False, "incremental", 3, LAST_INSTANT, exclude=("stg_leads",)))
    assert "--selector" not in args and args[-2:] == ["--exclude", "stg_leads"]
    assert args[args.index("--select") + 1:args.index("--indirect-selection")] == incremental_criteria()
    assert "resource_type:model" in incremental_criteria()


def test_the_tests_of_a_model_with_tested_rows_run_incrementally_over_the_rows_written_since_the_last_build():
    project = manifest()
    nodes = project["nodes"]
    nodes["model.meridian.base_users"]["config"]["meta"] = {"tested_rows": {"added_after": "_transformed_at"}}
    uid, test = node("not_null_base_users_id", "test", ["model.meridian.base_users"], resource_type="test")
    nodes[f"{uid}.1a2b3c4d5e"] = {**test, "attached_node": "model.meridian.base_users"}
    # a test of a model without the meta is not added
    nodes["test.meridian.not_null_stg_events_id.5f6a7b8c9d"]["attached_node"] = "model.meridian.stg_events"
    assert touched_row_tests(project) == ("test.meridian.not_null_base_users_id.1a2b3c4d5e",)

    selection = select_nodes(project, project_state(project), {"source.meridian.raw.app__users"}, ALL_BUILT)
    assert selection.include() == ("not_null_base_users_id",)
    assert selection.record()["tests_on_touched_rows"] == 1
    # left out with its model when nothing new reached it
    quiet = select_nodes(project, project_state(project), set(), ALL_BUILT)
    assert quiet.include() == () and "not_null_base_users_id" in quiet.exclude()

    since = LAST_STARTED + timedelta(minutes=3)
    plan = RunPlan(LAST_INSTANT + timedelta(days=1), False, "incremental", 3, LAST_INSTANT,
                   include=selection.include(), tested_rows_since=since)
    args = build_args(plan)
    assert args[args.index("--select") + 1:args.index("--indirect-selection")] == [
        *incremental_criteria(), "not_null_base_users_id"]
    assert "--exclude" not in args
    assert json.loads(args[args.index("--vars") + 1])["tested_rows_since"] == since.isoformat()
    # a full refresh tests every row: no var, no added tests
    full = RunPlan(plan.as_of_at, True, "weekly full refresh", 3, LAST_INSTANT, tested_rows_since=since)
    assert "tested_rows_since" not in json.loads(build_args(full)[build_args(full).index("--vars") + 1])
    assert "tested_rows_since" not in plan.as_dict() and "include" not in plan.as_dict()
