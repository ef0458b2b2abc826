"""As-of instants end to end: a day built hour by hour equals the day built once.

A private warehouse and private source databases (nothing shared with the
session pipeline) hold a small generated dataset whose last day is 2023-03-31,
before the DAGs' old start date: the first build runs the real DAGs with
``airflow dags test`` and conf ``as_of`` for the end of 2023-03-30 and must
build marts (an as-of before a DAG's start date used to do nothing). Then the
last day is extracted and transformed incrementally at seven runs: four
consecutive one-hour runs (09:00 to 12:00), 12:00 again (no source has new
rows: the run leaves out every node whose output cannot change), one at any
second (15:30:07) and midnight; at 12:00, 15:30:07 and midnight every mart must
equal a full refresh at the same instant; the marts at 15:30:07 count exactly the activity before it,
checked against the independent Python computation of tests/e2e/expected.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from meridian.runtime import to_instant
from meridian.sources.schema import TABLES
from tests.conftest import private_stack
from tests.e2e import expected
from tests.e2e.conftest import (
    LATE_ARRIVAL_DAYS,
    file_day,
    query,
    read_event_file_lines,
    read_source_rows,
    run_dag,
    snapshot_schema,
)

pytestmark = pytest.mark.e2e

LAST_DAY = date(2023, 3, 31)  # before the DAGs' old start date (2024-01-01)
# hourly runs from 09:00 to 12:00 (each one new hour), then any second, then midnight
HOURLY = tuple(datetime(2023, 3, 31, hour, 0, 0, tzinfo=UTC) for hour in (9, 10, 11, 12))
MIDDLE = datetime(2023, 3, 31, 15, 30, 7, tzinfo=UTC)
MIDNIGHT = datetime(2023, 4, 1, 0, 0, 0, tzinfo=UTC)
# 12:00 twice: the second run finds no new batch in any source
INSTANTS = (*HOURLY, HOURLY[-1], MIDDLE, MIDNIGHT)
FILES_RELEASED_AT = MIDDLE  # the last day's event file lands between 12:00 and 15:30:07


def build_at(instant: datetime, *, full_refresh: bool = False) -> dict:
    """What the two DAGs do at ``instant``, in this process: extract every table and file, then transform."""
    from meridian import db
    from meridian.extract.run import extract_source_table, load_event_files, prepare_warehouse
    from meridian.quality.batches import reconcile_batches
    from meridian.transform.dbt_run import build_warehouse
    from meridian.transform.plan import plan_run

    prepare_warehouse()
    for spec in TABLES:
        extract_source_table(spec.source, spec.name, instant)
    load_event_files(instant)
    with db.connection("warehouse") as conn:
        plan = plan_run(conn, instant, requested_full_refresh=full_refresh)
    build_warehouse(plan, run_id=f"instants-{instant.isoformat()}-{'full' if full_refresh else 'inc'}")
    reconcile_batches(instant)
    return plan.as_dict()


def audit_rows() -> dict[str, list[tuple]]:
    """audit.quarantine and audit.batch_outcomes as text rows: their app events are added run by run
    (quarantine_events, event_batch_outcomes), so they are compared with a full refresh's like a mart. Of the
    batch outcomes, those of the batches loaded up to the instant (is_reconcilable): a backfill also lists the
    batches later runs loaded, which the run at the instant could not know."""
    return {
        f"audit.{table}": sorted((row["row"],) for row in query(f"select t::text as row from audit.{table} as t "
                                                               f"where {condition}"))
        for table, condition in (("quarantine", "true"), ("batch_outcomes", "t.is_reconcilable"))
    }


# the base models over mutable source tables, incremental over the ids their new batches touch
# (changed_landed_versions): every version, reason and status as a full refresh classifies them
INCREMENTAL_BASE_MODELS = tuple(
    f"base_{spec.source}__{spec.name}" for spec in TABLES
    if spec.name not in ("organizations", "events", "subscription_events")
)


def base_rows() -> dict[str, list[tuple]]:
    """The incremental base models as text rows, compared with a full refresh's like the marts."""
    return {
        f"staging.{model}": sorted((row["row"],) for row in query(f"select t::text as row from staging.{model} as t"))
        for model in INCREMENTAL_BASE_MODELS
    }


@pytest.fixture(scope="module")
def hourly(warehouse_server):
    from meridian.airflow_env import airflow_env, run_airflow
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.demo.pipeline import ensure_manifest

    with private_stack("meridian-instants-") as base, pytest.MonkeyPatch.context() as patch:
        # the generator delivers a few events up to 5 days late: a lookback that covers them all, so the
        # incremental runs must equal a full refresh exactly (conftest.LATE_ARRIVAL_DAYS)
        patch.setenv("MERIDIAN_LATE_ARRIVAL_DAYS", str(LATE_ARRIVAL_DAYS))
        cfg = settings()
        generate(seed=20230331, tenants=1, users=150, days=14, end_date=LAST_DAY, progress=False)
        file_lines = read_event_file_lines(cfg.landing_dir)
        sources = read_source_rows()
        held_back = base / "held-back"
        held_back.mkdir()
        for path in cfg.landing_dir.glob("events_*.jsonl*"):
            if file_day(path.name) >= LAST_DAY:
                path.rename(held_back / path.name)
        env = airflow_env()
        log_dir = base / "logs"
        ensure_manifest(env)
        run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")
        # the first build through the real DAGs, at an as-of before their old start date
        first = LAST_DAY - timedelta(days=1)
        for dag_id in ("extract_sources", "transform_warehouse"):
            run_dag(dag_id, first, env, log_dir)
        first_build = {
            "runs": query("select as_of_at, full_refresh, status from audit.transform_runs"),
            "kpi_rows": query("select count(*) as n, max(kpi_date) as last from marts.fct_daily_kpis")[0],
        }
        plans, marts = [], {}
        for instant in INSTANTS:
            if instant == FILES_RELEASED_AT:
                for path in held_back.iterdir():
                    path.rename(cfg.landing_dir / path.name)
            plans.append(build_at(instant))
            marts[instant] = {**snapshot_schema("marts", as_text=True), **audit_rows(), **base_rows()}
        hourly_view = {
            "hours": query("select max(hour_start) as last, count(*) as n from marts.fct_hourly_activity"),
        }
        selections = query("select as_of_at, selection from audit.transform_runs where not full_refresh "
                           "and status = 'success' order by started_at")
        # the same instants rebuilt from scratch (midnight, then backfills of 15:30:07 and of 12:00, the end of
        # four consecutive one-hour runs)
        full = {}
        for instant in (MIDNIGHT, MIDDLE, HOURLY[-1]):
            build_at(instant, full_refresh=True)
            full[instant] = {**snapshot_schema("marts", as_text=True), **audit_rows(), **base_rows()}
            if instant == MIDDLE:
                hourly_view["hours_at_middle"] = query(
                    "select max(hour_start) as last from marts.fct_hourly_activity")[0]["last"]
                hourly_view["kpis_at_middle"] = query(
                    "select tenant_id, kpi_date, active_users, new_users from marts.fct_daily_kpis")
        yield {
            "first_build": first_build, "plans": plans, "marts": marts, "full": full, "view": hourly_view,
            "sources": sources, "file_lines": file_lines, "selections": selections,
        }


def test_an_as_of_before_the_dags_start_date_builds_the_marts(hourly):
    runs = hourly["first_build"]["runs"]
    assert [(run["as_of_at"], run["full_refresh"], run["status"]) for run in runs] == [
        (to_instant(LAST_DAY - timedelta(days=1)), True, "success")
    ]
    assert hourly["first_build"]["kpi_rows"]["n"] > 0
    assert hourly["first_build"]["kpi_rows"]["last"] == LAST_DAY - timedelta(days=1)


def test_runs_within_the_day_are_incremental(hourly):
    assert [plan["full_refresh"] for plan in hourly["plans"]] == [False] * len(INSTANTS)
    assert [plan["as_of_at"] for plan in hourly["plans"]] == [instant.isoformat() for instant in INSTANTS]


@pytest.mark.parametrize("instant", [HOURLY[-1], MIDDLE, MIDNIGHT], ids=["12:00 after hourly runs", "15:30:07",
                                                                       "midnight"])
def test_hour_by_hour_equals_a_full_refresh_at_the_same_instant(hourly, instant):
    """Every mart and the quarantine, byte for byte (rows as PostgreSQL returns them, every column), after
    incremental runs."""
    incremental, full = hourly["marts"][instant], hourly["full"][instant]
    assert sorted(incremental) == sorted(full)
    from meridian.config import settings

    # every mart of the project is compared, none left out
    marts = {path.stem for path in (settings().dbt_project_dir / "models" / "marts").rglob("*.sql")}
    assert marts <= set(full), f"marts missing from the comparison: {sorted(marts - set(full))}"
    assert any("event" in row[0] for row in full["audit.quarantine"]), "no quarantined event to compare"
    assert any(",app,event" in row[0] for row in full["audit.batch_outcomes"]), "no event batch to compare"
    differing = {
        name: {
            "only incremental": sorted(set(incremental[name]) - set(full[name]), key=repr)[:3],
            "only full refresh": sorted(set(full[name]) - set(incremental[name]), key=repr)[:3],
        }
        for name in full
        if incremental[name] != full[name]
    }
    assert not differing, f"marts that differ from a full refresh at {instant.isoformat()}: {differing}"
    assert sum(len(rows) for rows in full.values()) > 1000


def test_incremental_runs_leave_out_what_cannot_change(hourly):
    """The selection each incremental run recorded; the equality above proves what it left out was current.

    The rerun at 12:00 found no new batch: every raw source unchanged, so the base models and the
    views over them (code unchanged, relations in place) were left out, and only what reads the
    instant or the audit tables ran. The hourly runs before it had sources with and without new rows.
    """
    from meridian.transform.selection import NO_NEW_INPUT, UNCHANGED_VIEW

    selections = [row["selection"] for row in hourly["selections"]]
    assert [row["as_of_at"] for row in hourly["selections"]] == list(INSTANTS)
    rerun = selections[len(HOURLY)]
    assert all(source.startswith("audit.") for source in rerun["changed_sources"]), rerun["changed_sources"]
    assert "base_app__users" in rerun["by_reason"][NO_NEW_INPUT]
    assert "stg_app__users" in rerun["by_reason"][UNCHANGED_VIEW]
    assert rerun["built"] > 0 and rerun["left_out"] >= 20
    # hourly runs with new rows in some sources and none in others: those others' chains were left out
    hours = selections[1:len(HOURLY)]
    assert any(any(source.startswith("raw.") for source in hour["changed_sources"])
               and hour["by_reason"].get(NO_NEW_INPUT) for hour in hours), hours


def test_the_incremental_runs_take_late_rows_within_the_lookback(hourly):
    """The compared increments hold events that occurred days before they arrived, inside the lookback.

    Such an event lands in a day an incremental run rewrites only because it lies in the window:
    without them the equality above would cover on-time data only. The last days' events come
    in the event files, earlier ones in app.events: both are looked at.
    """
    import json

    stamps = [(event["occurred_at"], event["received_at"]) for event in hourly["sources"]["events"]]
    for _file, _number, text in hourly["file_lines"]:
        try:
            value = json.loads(text)
            stamps.append(tuple(
                datetime.fromisoformat(str(value[key]).replace("Z", "+00:00")) for key in ("occurred_at", "received_at")
            ))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not a readable event: quarantined, not a late row
    # to_instant(day) is the end of the day
    day_start, day_end = to_instant(LAST_DAY - timedelta(days=1)), to_instant(LAST_DAY)
    lookback_start = day_start - timedelta(days=LATE_ARRIVAL_DAYS)
    late = [
        (occurred, received) for occurred, received in stamps
        if occurred is not None and received is not None
        and day_start <= received < day_end and lookback_start <= occurred < day_start - timedelta(days=1)
    ]
    assert late, "no event received on the last day occurred more than a day before it, within the lookback"


def test_the_partial_hour_is_the_last_row(hourly):
    # at 15:30:07 the last hourly row is the 15:00 hour; at midnight the last day's 23:00 hour
    assert hourly["view"]["hours_at_middle"] == datetime(2023, 3, 31, 15, tzinfo=UTC)
    assert hourly["view"]["hours"][0]["last"] == datetime(2023, 3, 31, 23, tzinfo=UTC)


def test_the_middle_instant_counts_exactly_the_activity_before_it(hourly):
    """Daily active and new users at 15:30:07, computed again in Python from the rows visible then."""
    cutoff = MIDDLE
    key_of = {spec.name: spec.extract_key for spec in TABLES}
    visible = {
        name: [row for row in rows if row.get(key_of[name]) is not None and row[key_of[name]] < cutoff]
        for name, rows in hourly["sources"].items()
    }
    # the last day's file landed before the cutoff: its lines count when they occurred before it
    lines = [line for line in hourly["file_lines"] if _occurred_before(line[2], cutoff)]
    accepted = expected.accepted_rows(visible, lines, LAST_DAY, files_loaded_whole=True)
    accepted["events"] = [event for event in accepted["events"] if event["occurred_at"] < cutoff]
    rows = hourly["view"]["kpis_at_middle"]
    actual_dau = {(row["tenant_id"], row["kpi_date"]): row["active_users"] for row in rows}
    actual_new = {(row["tenant_id"], row["kpi_date"]): row["new_users"] for row in rows}
    wanted_dau = expected.daily_active_users(accepted, LAST_DAY)
    wanted_new = expected.new_users(accepted, LAST_DAY)
    assert actual_dau == wanted_dau
    assert actual_new == wanted_new
    # not trivially equal: the partial day has activity before the cutoff, and some after it that must not
    # count yet (it counts at midnight)
    assert any(day == LAST_DAY and count > 0 for (_tenant, day), count in wanted_dau.items())
    everything = expected.accepted_rows(hourly["sources"], hourly["file_lines"], LAST_DAY, files_loaded_whole=True)
    assert any(cutoff <= event["occurred_at"] < to_instant(LAST_DAY) for event in everything["events"])


def _occurred_before(text: str, cutoff: datetime) -> bool:
    import json

    try:
        value = json.loads(text)
        occurred = datetime.fromisoformat(str(value["occurred_at"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return True  # not a readable event: quarantined whatever the instant
    return occurred.astimezone(UTC) < cutoff


def test_a_changed_incremental_model_makes_the_next_run_a_full_refresh(hourly, tmp_path, monkeypatch):
    """A column added to an incremental model (on_schema_change='fail'): the next run rebuilds in full and succeeds.

    Runs last in this module: it builds after the fixture's runs, from a copy of the project with
    int_user_activity_daily changed; a second run of the same copy stays incremental.
    """
    import shutil

    from meridian.config import settings

    project = tmp_path / "dbt_project"
    shutil.copytree(settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "product" / "int_user_activity_daily.sql"
    source = model.read_text()
    assert source.rstrip().endswith("select * from final")
    model.write_text(source.rstrip()[: -len("select * from final")] + "select *, 1 as probe_column from final\n")
    monkeypatch.setenv("MERIDIAN_DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))

    one, two = HOURLY[-1] + timedelta(hours=1), HOURLY[-1] + timedelta(hours=2)
    assert build_at(one)["full_refresh"] is False  # the plan alone cannot see the change: the build can
    runs = query("select as_of_at, full_refresh, reason, status from audit.transform_runs "
                 "where as_of_at in (%s, %s) order by started_at", (one, two))
    assert [(run["full_refresh"], run["status"]) for run in runs] == [(True, "success")]
    assert "int_user_activity_daily" in runs[0]["reason"] and "planned: incremental" in runs[0]["reason"]
    assert query("select count(*) as n from intermediate.int_user_activity_daily where probe_column = 1")[0]["n"] > 0

    build_at(two)  # nothing changed since: incremental again
    runs = query("select full_refresh, status from audit.transform_runs where as_of_at = %s", (two,))
    assert [(run["full_refresh"], run["status"]) for run in runs] == [(False, "success")]
