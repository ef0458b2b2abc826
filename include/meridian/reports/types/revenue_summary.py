"""The revenue summary: MRR, ARR, customers and revenue, the MRR trend and movements,
revenue by plan and country, LTV/CAC by channel and the MRR forecast.

A monthly report reads the monthly revenue mart; a daily or weekly one the daily KPIs and
the revenue by period (two variants of a section, told apart by ``frequencies``).
"""

from __future__ import annotations

from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    COUNT_DISTINCT,
    KPI_TILES,
    LAST,
    METRIC_TABLE,
    MONEY,
    NUMBER,
    RATE,
    RATIO,
    TREND_CHART,
    Aggregate,
    Metric,
    Parameter,
    ReportType,
    Section,
    largest,
    share_of,
    summed,
    sums,
)
from meridian.reports.types.common import (
    ACQUISITION,
    COMMON_PARAMETERS,
    DAILY_KPIS,
    DAILY_WEEKLY,
    FRESHNESS,
    MONTHLY_ONLY,
    MONTHLY_REVENUE,
    MRR_FORECAST,
    MRR_MOVEMENTS,
    PAYMENTS_AND_PAYERS,
    PLAN_REVENUE,
    REVENUE_BY_COUNTRY,
    REVENUE_BY_PERIOD,
    int_between,
)

MRR_END = Metric("mrr", "MRR", MONEY, agg=LAST)
PAYING_END = Metric("paying_users", "Paying users", COUNT, agg=LAST)
NET_REVENUE = Metric("net_revenue", "Net revenue")

REVENUE_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=MONTHLY_REVENUE, frequencies=MONTHLY_ONLY,
        metrics=(
            Metric("ending_mrr", "MRR"),
            Metric("net_new_mrr", "Net new MRR"),
            Metric("arr", "ARR"),
            Metric("net_revenue", "Net revenue"),
            Metric("paying_customers", "Paying customers", COUNT),
            Metric("new_customers", "New customers", COUNT),
            Metric("churned_customers", "Churned customers", COUNT, higher_is_better=False),
            Metric("payments_succeeded", "Payments succeeded", COUNT),
        ),
    ),
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=DAILY_KPIS, frequencies=DAILY_WEEKLY,
        metrics=(
            MRR_END,
            PAYING_END,
            Metric("new_subscriptions", "New subscriptions", COUNT),
            NET_REVENUE,
            Metric("gross_revenue", "Gross revenue"),
            Metric("refunds", "Refunds", higher_is_better=False),
            Metric("payments_attempted", "Payments attempted", COUNT),
            Metric("payments_succeeded", "Payments succeeded", COUNT),
        ),
    ),
    Section(
        key="mrr_trend", title="MRR trend", kind=TREND_CHART, source=MONTHLY_REVENUE, frequencies=MONTHLY_ONLY,
        metrics=(Metric("ending_mrr", "Ending MRR"),),
    ),
    Section(
        key="mrr_trend", title="MRR trend", kind=TREND_CHART, source=DAILY_KPIS, frequencies=DAILY_WEEKLY,
        metrics=(Metric("mrr", "MRR at the end of the day", agg=LAST),),
    ),
    Section(
        key="mrr_movements", title="MRR movements", kind=BREAKDOWN_TABLE, source=MRR_MOVEMENTS,
        group_by="movement", group_label="Movement",
        groups=(
            ("new", "New"),
            ("expansion", "Expansion"),
            ("reactivation", "Reactivation"),
            ("contraction", "Contraction"),
            ("churn", "Churn"),
        ),
        aggregates=(
            Aggregate("customers", "Customers", COUNT_DISTINCT, "user_id", COUNT),
            summed("mrr_change", "MRR change", MONEY),
        ),
        total_label="Net", bars="mrr_change",
        description="Customers and MRR change by movement; contraction and churn are negative.",
    ),
    Section(
        key="revenue", title="Revenue and payments", kind=METRIC_TABLE, source=MONTHLY_REVENUE,
        frequencies=MONTHLY_ONLY,
        metrics=(
            Metric("starting_mrr", "Starting MRR"),
            Metric("new_mrr", "New MRR"),
            Metric("expansion_mrr", "Expansion MRR"),
            Metric("reactivation_mrr", "Reactivation MRR"),
            Metric("contraction_mrr", "Contraction MRR", higher_is_better=False),
            Metric("churned_mrr", "Churned MRR", higher_is_better=False),
            Metric("ending_mrr", "Ending MRR"),
            Metric("arpu", "ARPU"),
            Metric("logo_churn_rate", "Logo churn", RATE, higher_is_better=False),
            Metric("net_mrr_retention_rate", "Net MRR retention", RATE),
            Metric("gross_revenue", "Gross revenue"),
            Metric("refunds", "Refunds", higher_is_better=False),
            Metric("net_revenue", "Net revenue"),
            Metric("payments_attempted", "Payments attempted", COUNT),
            Metric("payments_succeeded", "Payments succeeded", COUNT),
        ),
    ),
    Section(
        key="revenue", title="Revenue and payments", kind=METRIC_TABLE, source=REVENUE_BY_PERIOD,
        frequencies=DAILY_WEEKLY,
        metrics=(
            Metric("total_revenue", "Gross revenue"),
            Metric("refund_amount", "Refunds", higher_is_better=False),
            Metric("refund_count", "Refund count", COUNT, higher_is_better=False),
            Metric("net_revenue", "Net revenue"),
            Metric("new_revenue", "New revenue"),
            Metric("payment_count", "Payments", COUNT),
            Metric("payment_success_count", "Payments succeeded", COUNT),
            Metric("mrr", "MRR at the end", agg=LAST),
            Metric("arr", "ARR at the end", agg=LAST),
        ),
        description="New revenue sums days when the period is not one of the mart's own periods.",
    ),
    Section(
        key="plan_revenue", title="Revenue by plan", kind=BREAKDOWN_TABLE, source=PLAN_REVENUE,
        group_by="plan_id", group_label="Plan", label_column="plan_name",
        aggregates=(
            *sums(COUNT, active_subscriptions="Active subscriptions", new_subscriptions="New",
                  canceled_subscriptions="Canceled"),
            *sums(MONEY, mrr="MRR", gross_revenue="Gross revenue"),
        ),
        order_by="mrr", total_label="Total", bars="mrr",
    ),
    Section(
        key="revenue_by_country", title="Revenue by country", kind=BREAKDOWN_TABLE, source=REVENUE_BY_COUNTRY,
        group_by="country", group_label="Country",
        aggregates=(
            *sums(MONEY, gross_revenue="Gross revenue", refunds="Refunds", net_revenue="Net revenue"),
            *PAYMENTS_AND_PAYERS,
            share_of("gross_revenue", "Share of gross"),
        ),
        order_by="gross_revenue", limit=15, total_label="Total", bars="gross_revenue",
        description="Country of the paying user (ZZ: unknown); refunds count under the refunded payer's country.",
    ),
    Section(
        key="ltv_cac", title="LTV and CAC by channel", kind=BREAKDOWN_TABLE, source=ACQUISITION,
        group_by="channel", group_label="Channel",
        aggregates=(
            summed("spend", "Spend", MONEY),
            *sums(COUNT, new_users="New users", new_paying_users="New paying users"),
            Aggregate("cac", "CAC", RATIO, "spend", MONEY, over=("new_paying_users",)),
            largest("ltv", "LTV", MONEY),
            largest("ltv_cac_ratio", "LTV/CAC", NUMBER),
            largest("payback_months", "Payback (months)", NUMBER),
        ),
        order_by="spend", bars="cac",
        description=(
            "Users who signed up in the month by channel and the spend on it; LTV is the tenant's predicted "
            "lifetime value (trailing 12-month net revenue per paying user-month × margin / 3-month churn)."
        ),
    ),
    Section(
        key="mrr_forecast", title="MRR forecast", kind=BREAKDOWN_TABLE, source=MRR_FORECAST,
        group_by="forecast_month", group_label="Month",
        aggregates=sums(
            MONEY, forecast_mrr="Forecast MRR", lower_bound_mrr="Lower bound", upper_bound_mrr="Upper bound",
            forecast_arr="Forecast ARR",
        ),
        bars="forecast_mrr",
        description=(
            "The next months' MRR from the latest run: the last complete month's MRR grown by the mean monthly "
            "net-new MRR growth rate of the six months before, bounded by that rate ± one standard deviation."
        ),
    ),
)


REVENUE_SUMMARY = ReportType(
    name="revenue_summary", title="Revenue summary", grain="month",
    description=(
        "MRR, ARR, customers and revenue of one tenant for the period the report covers, "
        "with the change on the previous period, the MRR trend, the MRR movements and revenue by plan."
    ),
    freshness=FRESHNESS,
    parameters=(
        Parameter("trend_months", 12, "months shown in the monthly MRR trend chart", int_between(3, 36)),
        *COMMON_PARAMETERS,
    ),
    sections=REVENUE_SECTIONS,
)
