"""User analytics: active and new users, engagement, retention cohorts against the
benchmark, the onboarding funnel, events by type and activity by hour of day.
"""

from __future__ import annotations

from meridian.reports.model import (
    AVG,
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    LAST,
    METRIC_TABLE,
    NUMBER,
    RATE,
    RATIO,
    TREND_CHART,
    WEIGHTED,
    Metric,
    ReportType,
    Section,
    share_of,
    summed,
    sums,
)
from meridian.reports.types.common import (
    COHORT_BENCHMARKS,
    COMMON_PARAMETERS,
    DAILY_KPIS,
    EVENT_COUNTS,
    FRESHNESS,
    HOURLY_ACTIVITY,
    ONBOARDING_FUNNEL,
    RETENTION_COHORTS,
    by_hour_of_day,
)

DAU = Metric("active_users", "Active users (daily avg)", NUMBER, agg=AVG)
NEW_USERS = Metric("new_users", "New users", COUNT)
MAU = Metric("mau", "MAU (30 days)", COUNT, agg=LAST)
STICKINESS = Metric("active_users", "Stickiness (DAU/MAU)", RATE, agg=RATIO, over=("mau",), name="stickiness_rate")

USER_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=DAILY_KPIS,
        metrics=(
            DAU,
            Metric("wau", "WAU (7 days)", COUNT, agg=LAST),
            MAU,
            NEW_USERS,
            Metric("sessions", "Sessions", COUNT),
            Metric("avg_session_seconds", "Avg session (s)", NUMBER, agg=WEIGHTED, over=("sessions",)),
            STICKINESS,
            Metric("retention_d7_rate", "D7 retention (daily avg)", RATE, agg=AVG),
        ),
    ),
    Section(
        key="engagement", title="Engagement", kind=METRIC_TABLE, source=DAILY_KPIS,
        metrics=(
            Metric("matches", "Matches", COUNT),
            Metric("messages", "Messages", COUNT),
            Metric("new_subscriptions", "New subscriptions", COUNT),
            Metric("retention_d1_rate", "D1 retention (daily avg)", RATE, agg=AVG),
            Metric("retention_d30_rate", "D30 retention (daily avg)", RATE, agg=AVG),
            Metric("paid_conversion_30d_rate", "Paid conversion, 30 days (at the end)", RATE, agg=LAST),
        ),
        description="Retention rates are the mean of the daily rates; conversion is the value on the last day.",
    ),
    Section(
        key="active_users_trend", title="Active users trend", kind=TREND_CHART, source=DAILY_KPIS,
        metrics=(Metric("active_users", "Daily active users (avg)", NUMBER, agg=AVG),),
    ),
    Section(
        key="retention", title="Cohort retention", kind=HEATMAP, source=RETENTION_COHORTS,
        metrics=(Metric("retention_rate", "Retention", RATE), Metric("cohort_size", "Cohort size", COUNT)),
        description="Share of each signup cohort active in period n (months for monthly reports, weeks otherwise).",
    ),
    Section(
        key="cohort_benchmarks", title="Cohorts vs benchmark", kind=HEATMAP, source=RETENTION_COHORTS,
        benchmark=COHORT_BENCHMARKS,
        metrics=(
            Metric("retention_rate", "Retention vs benchmark", RATE, name="retention_vs_benchmark"),
            Metric("cohort_size", "Cohort size", COUNT),
        ),
        description=(
            "First row (Benchmark): the mean retention of every cohort with signups in period n "
            "(fct_cohort_benchmarks, to the latest run). Other rows: each cohort's retention minus the "
            "benchmark, in percentage points; above zero is better than the typical cohort."
        ),
    ),
    Section(
        key="onboarding_funnel", title="Onboarding funnel", kind=FUNNEL, source=ONBOARDING_FUNNEL,
        label_column="step_name",
        metrics=(
            Metric("entities_reached", "Users reached", COUNT),
            Metric(
                "avg_seconds_from_previous",
                "Avg time (s)",
                NUMBER,
                higher_is_better=False,
                agg=WEIGHTED,
                over=("entities_reached",),
            ),
        ),
        description=(
            "Users who entered in the cohort weeks that overlap the period; recent weeks are still converting. "
            "The average time is over the users who reached the step."
        ),
    ),
    Section(
        key="event_counts", title="Events by type", kind=BREAKDOWN_TABLE, source=EVENT_COUNTS,
        group_by="event_type", group_label="Event type",
        aggregates=(
            summed("events", "Events", COUNT),
            share_of("events", "Share"),
        ),
        order_by="events", limit=12, total_label="Total", bars="events",
    ),
    by_hour_of_day(
        "hourly_activity", "Activity by hour of day (UTC)", HOURLY_ACTIVITY,
        sums(COUNT, events="Events", sessions_started="Sessions", new_users="New users", messages="Messages"),
        bars="events",
    ),
)


USER_ANALYTICS = ReportType(
    name="user_analytics", title="User analytics", grain="day",
    description="Active and new users, engagement, retention cohorts, the onboarding funnel and activity.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, sections=USER_SECTIONS,
)
