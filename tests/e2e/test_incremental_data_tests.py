"""An incremental run's data tests read the rows it touched, and still fail on a bad one.

A private warehouse with a small generated dataset is built in full at the end
of one day, then incrementally one hour later. ``base_app__events`` says which
of its rows a run touched (``meta.tested_rows``: ``_transformed_at`` after the
last successful build), so the incremental run adds its data tests and runs
them over those rows only (dbt_project/macros/testing/get_where_subquery.sql).
Two rows with no ``origin`` are put in the table between the builds: one stamped
as written by the full build (tested by it, outside the next run's scope), one
stamped after it ended (as a run since would write it). The incremental run's
``not_null`` test on ``origin`` must fail on exactly the second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from meridian.runtime import to_instant
from tests.conftest import private_stack
from tests.e2e.conftest import LATE_ARRIVAL_DAYS, query

pytestmark = pytest.mark.e2e

LAST_DAY = date(2023, 3, 31)
FIRST = to_instant(LAST_DAY - timedelta(days=1))  # the full build: the end of the day before
NEXT = datetime(2023, 3, 31, 1, 0, 0, tzinfo=UTC)  # the incremental one, an hour later
NOT_NULL_ORIGIN = "not_null_base_app__events_origin"


def extract_and_plan(instant: datetime):
    from meridian import db
    from meridian.extract.run import extract_source_table, load_event_files, prepare_warehouse
    from meridian.sources.schema import TABLES
    from meridian.transform.plan import plan_run

    prepare_warehouse()
    for spec in TABLES:
        extract_source_table(spec.source, spec.name, instant)
    load_event_files(instant)
    with db.connection("warehouse") as conn:
        return plan_run(conn, instant)


def put_row_without_origin(event_id: str, stamped: str) -> None:
    """A copy of a landed event with another id, no origin, and ``_transformed_at`` from ``stamped`` (SQL)."""
    from meridian import db

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select column_name from information_schema.columns where table_schema = 'staging' "
                    "and table_name = 'base_app__events' order by ordinal_position")
        columns = [row[0] for row in cur.fetchall()]
        values = {"id": "%s", "origin": "null", "_transformed_at": f"({stamped})"}
        cur.execute(
            f"insert into staging.base_app__events ({', '.join(columns)}) "
            f"select {', '.join(values.get(column, column) for column in columns)} "
            "from staging.base_app__events where row_status = 'accepted' limit 1",
            (event_id,),
        )
        assert cur.rowcount == 1


@pytest.fixture(scope="module")
def runs(warehouse_server):
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.transform.dbt_run import build_warehouse

    with private_stack("meridian-scoped-tests-"), pytest.MonkeyPatch.context() as patch:
        patch.setenv("MERIDIAN_LATE_ARRIVAL_DAYS", str(LATE_ARRIVAL_DAYS))
        settings()
        generate(seed=20230331, tenants=1, users=40, days=7, end_date=LAST_DAY, progress=False)
        first_plan = extract_and_plan(FIRST)
        first = build_warehouse(first_plan, run_id="scoped-tests-full")
        # one stamped inside the full build (it was tested then), one after it ended
        put_row_without_origin("scoped-tests-old", "select started_at from audit.transform_runs "
                               "where status = 'success' order by ended_at desc limit 1")
        put_row_without_origin("scoped-tests-new", "clock_timestamp()")
        plan = extract_and_plan(NEXT)
        artifacts: dict = {}
        summary = build_warehouse(plan, run_id="scoped-tests-inc", raise_on_failure=False, artifacts=artifacts)
        yield {"first_plan": first_plan, "first": first, "plan": plan, "summary": summary,
               "results": {result["unique_id"].split(".")[2]: result
                           for result in artifacts["run_results"]["results"]},
               "without_origin": query("select count(*) as n from staging.base_app__events where origin is null")}


def test_the_full_build_ran_every_test_and_the_next_run_is_incremental(runs):
    assert runs["first_plan"].full_refresh and not runs["first"]["failed"]
    assert not runs["plan"].full_refresh
    assert runs["summary"]["selection"]["tests_on_touched_rows"] == 7


def test_an_incremental_run_fails_on_the_bad_row_written_since_the_last_build_only(runs):
    result = runs["results"][NOT_NULL_ORIGIN]
    assert result["status"] == "fail"
    # two rows have no origin; the run's scope holds one of them
    assert runs["without_origin"][0]["n"] == 2
    assert result["failures"] == 1
    assert any(NOT_NULL_ORIGIN in failed for failed in runs["summary"]["failed"])
    # the base model's other tests ran over the same rows and pass
    others = {name: result["status"] for name, result in runs["results"].items()
              if name.endswith("base_app__events_origin__db__file") or name.startswith("not_null_base_app__events_")
              and name != NOT_NULL_ORIGIN}
    assert others and set(others.values()) == {"pass"}, others
