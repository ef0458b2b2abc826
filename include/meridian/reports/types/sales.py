"""Sales: pipeline, win rate, deals and leads, the sales metrics, the reps and the sales funnel."""

from __future__ import annotations

from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    KPI_TILES,
    LAST,
    METRIC_TABLE,
    MONEY,
    NUMBER,
    RATE,
    Metric,
    ReportType,
    Section,
    largest,
    summed,
)
from meridian.reports.types.common import (
    COMMON_PARAMETERS,
    FRESHNESS,
    SALES_FUNNEL,
    SALES_MONTHLY,
    SALES_REPS,
)

PIPELINE = Metric("pipeline_value", "Open pipeline", agg=LAST)
WIN_RATE = Metric("win_rate", "Win rate", RATE)
WON = Metric("proposals_won", "Deals won", COUNT)
LEADS = Metric("leads_created", "New leads", COUNT)

SALES_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=SALES_MONTHLY,
        metrics=(
            PIPELINE,
            Metric("weighted_pipeline", "Weighted pipeline", agg=LAST),
            WIN_RATE,
            WON,
            LEADS,
            Metric("avg_deal_size", "Avg deal size"),
        ),
    ),
    Section(
        key="metrics", title="Sales metrics", kind=METRIC_TABLE, source=SALES_MONTHLY,
        metrics=(
            LEADS,
            Metric("leads_qualified", "Leads qualified", COUNT),
            Metric("lead_qualification_rate", "Lead qualification", RATE),
            Metric("avg_lead_score", "Avg lead score", NUMBER),
            Metric("proposals_created", "Proposals created", COUNT),
            WON,
            Metric("proposals_lost", "Deals lost", COUNT, higher_is_better=False),
            WIN_RATE,
            PIPELINE,
            Metric("weighted_pipeline", "Weighted pipeline", agg=LAST),
            Metric("avg_deal_size", "Avg deal size"),
            Metric("avg_sales_cycle_days", "Avg sales cycle (days)", NUMBER, False),
            Metric("avg_hours_to_first_contact", "Hours to first contact", NUMBER, False),
        ),
    ),
    Section(
        key="reps", title="Sales reps", kind=BREAKDOWN_TABLE, source=SALES_REPS,
        group_by="rep_id", group_label="Sales rep", label_column="rep_name",
        aggregates=(
            summed("deals_closed", "Deals closed", COUNT),
            summed("revenue", "Revenue", MONEY),
            largest("win_rate", "Win rate", RATE),
        ),
        order_by="revenue", limit=15, bars="revenue",
    ),
    Section(
        key="funnel", title="Sales funnel", kind=FUNNEL, source=SALES_FUNNEL,
        label_column="step_name",
        metrics=(Metric("entities_reached", "Leads reached", COUNT),),
        description="Leads that entered in the cohort weeks that overlap the period (180-day window).",
    ),
)


SALES = ReportType(
    name="sales", title="Sales", grain="month",
    description="Pipeline, win rate, deals and leads, the reps and the sales funnel.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, sections=SALES_SECTIONS,
)
