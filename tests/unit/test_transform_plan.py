"""The transform plan: when a run is incremental, when it rebuilds in full, and its lookback."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meridian.transform.dbt_run import build_args
from meridian.transform.plan import PlanConfigError, RunPlan, decide, late_arrival_days

SATURDAY = date(2026, 10, 31)
SUNDAY = date(2026, 11, 1)


def test_first_build_is_a_full_refresh():
    plan = decide(SATURDAY, None)
    assert plan.full_refresh and "first build" in plan.reason


def test_next_day_is_incremental_with_the_configured_lookback():
    plan = decide(SATURDAY, date(2026, 10, 30), late_days=3)
    assert not plan.full_refresh and plan.late_arrival_days == 3


def test_a_rerun_of_the_same_day_is_incremental():
    assert not decide(SATURDAY, SATURDAY).full_refresh


def test_skipped_days_widen_the_lookback():
    plan = decide(SATURDAY, date(2026, 10, 27), late_days=3)
    # the build at 10-27 saw everything received by its end; 10-28..10-30 were skipped
    assert not plan.full_refresh and plan.late_arrival_days == 6
    assert "skipped" in plan.reason


def test_backfill_requested_and_weekly_runs_rebuild_in_full():
    assert "backfill" in decide(date(2026, 10, 20), SATURDAY).reason
    assert decide(SATURDAY, date(2026, 10, 30), requested_full_refresh=True).full_refresh
    weekly = decide(SUNDAY, SATURDAY, weekday=7)
    assert weekly.full_refresh and "weekly" in weekly.reason
    assert not decide(SUNDAY, SATURDAY, weekday=1).full_refresh


def test_plan_round_trips_through_xcom():
    plan = decide(SATURDAY, date(2026, 10, 27))
    assert RunPlan.from_dict(plan.as_dict()) == plan


def test_build_arguments_per_mode():
    full = build_args(decide(SATURDAY, None))
    assert "--full-refresh" in full and "--selector" not in full
    incremental = build_args(decide(SATURDAY, date(2026, 10, 30)))
    assert "--full-refresh" not in incremental
    assert incremental[incremental.index("--selector") + 1] == "incremental_run"
    assert '"late_arrival_days": 3' in incremental[incremental.index("--vars") + 1]
    for args in (full, incremental):
        assert args[args.index("--exclude-resource-type") + 1] == "unit_test"


def test_bad_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("MERIDIAN_LATE_ARRIVAL_DAYS", "three")
    with pytest.raises(PlanConfigError, match="MERIDIAN_LATE_ARRIVAL_DAYS"):
        late_arrival_days()


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("as_of_at", "last_built_at", "last_full", "full", "late_days", "reason"),
    [
        # every 15 minutes through a Monday: incremental, the lookback of whole days unchanged
        (at(2, 0, 15), at(2, 0, 0), date(2026, 11, 1), False, 3, "incremental"),
        (at(2, 14, 0, 5), at(2, 13, 45), date(2026, 11, 1), False, 3, "incremental"),
        # the same instant again: incremental (a rerun)
        (at(2, 14), at(2, 14), date(2026, 11, 1), False, 3, "incremental"),
        # the first run whose as-of date is the full-refresh day (Sunday 11-08) rebuilds in full...
        (at(8, 0, 15), at(8, 0, 0), date(2026, 11, 1), True, 3, "weekly full refresh"),
        # ...the later runs of that Sunday do not
        (at(8, 0, 30), at(8, 0, 15), date(2026, 11, 8), False, 3, "incremental"),
        (at(8, 23, 45), at(8, 23, 30), date(2026, 11, 8), False, 3, "incremental"),
        # an instant a second before the last build's is a backfill
        (at(2, 13, 59, 59), at(2, 14), date(2026, 11, 1), True, 3, "backfill"),
        # a day without runs widens the lookback by that day
        (at(4, 1), at(2, 23), date(2026, 11, 1), False, 4, "skipped"),
    ],
)
def test_instant_runs_plan(as_of_at, last_built_at, last_full, full, late_days, reason):
    plan = decide(as_of_at, last_built_at, last_full_refresh=last_full, late_days=3, weekday=7)
    assert (plan.full_refresh, plan.late_arrival_days) == (full, late_days)
    assert reason in plan.reason


@pytest.mark.parametrize(
    ("as_of_at", "as_of_date", "last_closed_day"),
    [
        (at(2, 0), date(2026, 11, 1), date(2026, 11, 1)),  # midnight: the whole previous day, closed
        (at(2, 0, 0, 1), date(2026, 11, 2), date(2026, 11, 1)),  # a second later: a partial day
        (at(2, 14, 30), date(2026, 11, 2), date(2026, 11, 1)),
    ],
)
def test_as_of_date_and_last_closed_day_of_an_instant(as_of_at, as_of_date, last_closed_day):
    plan = decide(as_of_at, None)
    assert (plan.as_of, plan.last_closed_day) == (as_of_date, last_closed_day)
    assert plan.dbt_vars()["as_of"] == as_of_at.isoformat()
    assert plan.dbt_vars()["as_of_date"] == as_of_date.isoformat()
    assert RunPlan.from_dict(plan.as_dict()) == plan


def test_a_full_refresh_asked_beside_the_pipeline_is_served_once():
    plan = decide(at(2, 14), at(2, 13, 45), last_full_refresh=date(2026, 11, 1),
                  pending_requests=(7, "user forgotten in acme (request 7)"))
    assert plan.full_refresh and "user forgotten" in plan.reason and plan.serves_requests_up_to == 7
    assert RunPlan.from_dict(plan.as_dict()) == plan
    assert decide(at(2, 14), at(2, 13, 45), requested_full_refresh=True).serves_requests_up_to is None


def test_plan_run_reads_the_pending_requests_and_a_served_build_clears_them(warehouse_server):
    from meridian import db
    from meridian.transform.plan import plan_run
    from meridian.warehouse.bootstrap import ensure_warehouse
    from meridian.warehouse.rebuild_requests import (
        clear_full_refresh_requests,
        pending_full_refresh,
        request_full_refresh,
    )

    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
        with conn.cursor() as cur:
            cur.execute("delete from audit.full_refresh_requests")
        request_full_refresh(conn, "user forgotten in acme")
        conn.commit()
        plan = plan_run(conn, at(2, 14))
        assert plan.full_refresh and "user forgotten in acme" in plan.reason
        assert plan.serves_requests_up_to is not None
        request_full_refresh(conn, "tenant globex purged")  # made while the build runs: stays pending
        clear_full_refresh_requests(conn, plan.serves_requests_up_to)
        conn.commit()
        assert pending_full_refresh(conn).startswith("tenant globex purged")


# --- a project change under the incremental tables turns the run into a full refresh -------------

def _manifest(**changes: str) -> dict:
    """A small project: raw source -> base (incremental) -> stg view -> mart (incremental) <- seed; a macro chain."""
    def node(uid: str, materialized: str, parents: list[str], macros: list[str], resource_type: str = "model") -> dict:
        return {"resource_type": resource_type, "checksum": {"checksum": changes.get(uid, "v1")},
                "config": {"materialized": materialized, "on_schema_change": "fail"},
                "depends_on": {"macros": macros, "nodes": parents}}

    nodes = {
        "model.p.base": node("model.p.base", "incremental", ["source.p.raw.t"], ["macro.p.outer"]),
        "model.p.stg": node("model.p.stg", "view", ["model.p.base"], []),
        "seed.p.plans": node("seed.p.plans", "seed", [], [], "seed"),
        "model.p.mart": node("model.p.mart", "incremental", ["model.p.stg", "seed.p.plans"], []),
        "model.p.other": node("model.p.other", "incremental", ["seed.p.plans"], []),
        "model.p.leaf": node("model.p.leaf", "table", ["model.p.mart"], []),
    }
    if "materialized" in changes:
        nodes["model.p.stg"]["config"]["materialized"] = changes["materialized"]
    # the mart's declared table (its contract): a column, a model constraint, a row invariant (an
    # expression_is_true test); the base table has an invariant too, but no contract
    nodes["model.p.mart"]["config"]["contract"] = {"enforced": True}
    nodes["model.p.mart"].update(
        description=changes.get("description", "the mart"),
        columns={"n": {"data_type": changes.get("column_type", "integer"), "description": "a count",
                       "constraints": [{"type": "not_null"}]}},
        constraints=[{"type": "check", "expression": changes.get("constraint", "n < 10")}])
    nodes["test.p.expression_is_true_mart"] = {
        "resource_type": "test", "attached_node": "model.p.mart", "config": {"where": changes.get("where")},
        "test_metadata": {"name": "expression_is_true", "kwargs": {"expression": changes.get("invariant", "n >= 0")}},
        "depends_on": {"macros": [], "nodes": ["model.p.mart"]}}
    nodes["test.p.expression_is_true_base"] = {
        "resource_type": "test", "attached_node": "model.p.base", "config": {},
        "test_metadata": {"name": "expression_is_true",
                          "kwargs": {"expression": changes.get("base_invariant", "n >= 0")}},
        "depends_on": {"macros": [], "nodes": ["model.p.base"]}}
    macros = {
        "macro.p.outer": {"macro_sql": "{{ inner() }}", "depends_on": {"macros": ["macro.p.inner"]}},
        "macro.p.inner": {"macro_sql": changes.get("macro.p.inner", "select 1"), "depends_on": {"macros": []}},
    }
    parent_map = {uid: item["depends_on"]["nodes"] for uid, item in nodes.items()}
    return {"nodes": nodes, "macros": macros, "parent_map": parent_map}


@pytest.mark.parametrize(("change", "rebuilt"), [
    ({}, []),
    ({"model.p.leaf": "v2"}, []),  # a table downstream of the incremental models: rebuilt anyway
    ({"model.p.mart": "v2"}, ["model.p.mart"]),  # e.g. a column added to the mart
    ({"model.p.stg": "v2"}, ["model.p.mart"]),  # a view it reads from
    ({"materialized": "table"}, ["model.p.mart"]),  # configuration counts, not only SQL
    ({"seed.p.plans": "v2"}, ["model.p.mart", "model.p.other"]),
    ({"macro.p.inner": "select 2"}, ["model.p.base", "model.p.mart"]),  # a macro called through another
    # the table's declared shape: a column type, a constraint, a row invariant (a check constraint of the table,
    # macros/invariants/row_invariant_constraints.sql) and whether a test is one; not its descriptions
    ({"column_type": "bigint"}, ["model.p.mart"]),
    ({"constraint": "n < 20"}, ["model.p.mart"]),
    ({"invariant": "n > 0"}, ["model.p.mart"]),
    ({"where": "n is not null"}, ["model.p.mart"]),
    ({"description": "the mart, described again"}, []),
    ({"base_invariant": "n > 0"}, []),  # a test of a table without a contract: no constraint of the table
], ids=["unchanged", "table downstream", "own SQL", "upstream view", "upstream config", "seed", "nested macro",
        "column type", "model constraint", "row invariant", "invariant with a where", "description",
        "invariant without a contract"])
def test_incremental_models_changed_since_the_last_build(change, rebuilt):
    from meridian.transform.project_state import incremental_models_changed, project_state

    previous = project_state(_manifest())
    assert incremental_models_changed(previous, _manifest(**change)) == rebuilt


def test_new_models_and_unrecorded_states_count_as_changed():
    from meridian.transform.project_state import describe_change, incremental_models_changed, project_state

    previous = project_state(_manifest())
    del previous["model.p.other"]  # the model is new since the last build
    assert incremental_models_changed(previous, _manifest()) == ["model.p.other"]
    # a build recorded before project states: every incremental model
    assert incremental_models_changed(None, _manifest()) == ["model.p.base", "model.p.mart", "model.p.other"]
    reason = describe_change([f"model.p.m{i}" for i in range(7)])
    assert reason.startswith("project changed since the last successful build") and "m4 and 2 more" in reason


def test_the_plan_runs_the_warehouse_bootstrap_once_per_code_version(warehouse_server):
    """plan_transform must cost milliseconds: the DDL (exclusive table locks) runs only when the code changed."""
    from meridian import db
    from meridian.transform.plan import prepare_and_plan
    from meridian.warehouse.bootstrap import bootstrap_is_current, ensure_warehouse, ensure_warehouse_current

    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
        assert bootstrap_is_current(conn)
        assert ensure_warehouse_current(conn) is False
        with conn.cursor() as cur:  # the warehouse was bootstrapped by an older version of the code
            cur.execute("update audit.warehouse_bootstrap set fingerprint = 'older code'")
        conn.commit()
        assert not bootstrap_is_current(conn)
        assert ensure_warehouse_current(conn) is True
        assert bootstrap_is_current(conn)
    assert prepare_and_plan(at(2, 14)).as_of_at == at(2, 14)
