"""The transform plan: when a run is incremental, when it rebuilds in full, and its lookback."""

from __future__ import annotations

from datetime import date

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
