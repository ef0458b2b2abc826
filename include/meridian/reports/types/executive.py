"""The executive summary: one page, four headline figures of each area and the MRR and
active users trends side by side (the area reports' own headline metrics).
"""

from __future__ import annotations

from meridian.reports.model import AVG, COUNT, KPI_TILES, LAST, NUMBER, TREND_CHART, Metric, ReportType, Section, Source
from meridian.reports.types.common import (
    COMMON_PARAMETERS,
    CUSTOMER_HEALTH,
    DAILY_KPIS,
    FRESHNESS,
    PAYMENTS_DAILY,
    SALES_MONTHLY,
    TOURNAMENTS,
)
from meridian.reports.types.customer_success import AT_RISK, CRITICAL, CUSTOMERS, HEALTH
from meridian.reports.types.payments import ATTEMPTS, LATENCY, PAYMENT_REVENUE, SUCCESS_RATE
from meridian.reports.types.revenue_summary import MRR_END, NET_REVENUE, PAYING_END
from meridian.reports.types.sales import LEADS, PIPELINE, WIN_RATE, WON
from meridian.reports.types.tournament_performance import COMPLETION, PLAYERS, TOURNAMENT_COUNT, TOURNAMENT_REVENUE
from meridian.reports.types.user_analytics import DAU, MAU, NEW_USERS, STICKINESS


def _tiles(key: str, area: str, source: Source, metrics: tuple[Metric, ...]) -> Section:
    return Section(key=key, title=area, kind=KPI_TILES, source=source, metrics=metrics, area=area)


EXECUTIVE = ReportType(
    name="executive", title="Executive summary", grain="day",
    description="One page: four headline figures per area and the MRR and active users trends.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, compact=True,
    sections=(
        _tiles(
            "revenue",
            "Revenue",
            DAILY_KPIS,
            (MRR_END, NET_REVENUE, PAYING_END, Metric("new_subscriptions", "New subscriptions", COUNT)),
        ),
        _tiles("users", "Users", DAILY_KPIS, (DAU, NEW_USERS, MAU, STICKINESS)),
        _tiles("payments", "Payments", PAYMENTS_DAILY, (SUCCESS_RATE, PAYMENT_REVENUE, ATTEMPTS, LATENCY)),
        _tiles("sales", "Sales", SALES_MONTHLY, (PIPELINE, WIN_RATE, WON, LEADS)),
        _tiles("customers", "Customer success", CUSTOMER_HEALTH, (CUSTOMERS, AT_RISK, HEALTH, CRITICAL)),
        _tiles(
            "tournaments", "Tournaments", TOURNAMENTS, (TOURNAMENT_COUNT, COMPLETION, PLAYERS, TOURNAMENT_REVENUE)
        ),
        Section(
            key="mrr_trend",
            title="MRR",
            kind=TREND_CHART,
            source=DAILY_KPIS,
            metrics=(Metric("mrr", "MRR", agg=LAST),),
            width="half",
            area="Trends",
        ),
        Section(
            key="active_users_trend",
            title="Daily active users",
            kind=TREND_CHART,
            source=DAILY_KPIS,
            metrics=(Metric("active_users", "Daily active users (avg)", NUMBER, agg=AVG),),
            width="half",
            area="Trends",
        ),
    ),
)

