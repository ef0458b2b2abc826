"""The small builders the report types are declared with (reports/model.py, reports/types/common.py)."""

from __future__ import annotations

from meridian.reports.model import BREAKDOWN_TABLE, COUNT, HOUR_OF_DAY, MONEY, SUM, Aggregate, summed, sums
from meridian.reports.types.common import PAYMENTS_HOURLY, by_hour_of_day


def test_sums_is_summed_per_column_in_the_order_given() -> None:
    assert sums(COUNT, failed="Failed", attempts="Attempts") == (
        Aggregate("failed", "Failed", SUM, "failed", COUNT),
        Aggregate("attempts", "Attempts", SUM, "attempts", COUNT),
    )
    assert sums(MONEY) == ()


def test_by_hour_of_day_is_a_chart_of_the_24_utc_hours_with_a_total() -> None:
    section = by_hour_of_day("peak", "Peak", PAYMENTS_HOURLY, (summed("revenue", "Revenue"),), bars="revenue")
    assert (section.kind, section.group_by, section.group_label) == (BREAKDOWN_TABLE, HOUR_OF_DAY, "Hour (UTC)")
    assert [label for _, label in section.groups] == [f"{hour:02d}:00" for hour in range(24)]
    assert [hour for hour, _ in section.groups] == list(range(24))
    assert (section.total_label, section.bars, section.show_table) == ("Total", "revenue", False)
