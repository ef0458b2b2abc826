"""Tournament performance: tournaments, completion, players, the most popular format and
entry revenue, the tournaments trend.
"""

from __future__ import annotations

from meridian.reports.model import (
    COUNT,
    KPI_TILES,
    LAST,
    NUMBER,
    RATE,
    RATIO,
    TEXT,
    TREND_CHART,
    WEIGHTED,
    Metric,
    ReportType,
    Section,
)
from meridian.reports.types.common import (
    COMMON_PARAMETERS,
    FRESHNESS,
    TOURNAMENTS,
)

TOURNAMENT_COUNT = Metric("tournament_count", "Tournaments", COUNT)
COMPLETION = Metric(
    "completed_count", "Completion rate", RATE, agg=RATIO, over=("tournament_count",), name="completion_rate"
)
PLAYERS = Metric("total_players", "Players (entries)", COUNT)
TOURNAMENT_REVENUE = Metric("revenue", "Entry revenue")

TOURNAMENT_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=TOURNAMENTS,
        metrics=(
            TOURNAMENT_COUNT,
            Metric("completed_count", "Completed", COUNT),
            COMPLETION,
            PLAYERS,
            Metric(
                "total_players",
                "Players per tournament",
                NUMBER,
                agg=RATIO,
                over=("tournament_count",),
                name="avg_players",
            ),
            Metric("avg_duration_minutes", "Avg duration (min)", NUMBER, None, agg=WEIGHTED, over=("completed_count",)),
            Metric("most_popular_format", "Most popular format", TEXT, None, agg=LAST),
            TOURNAMENT_REVENUE,
        ),
        description=(
            "The most popular format is the mart's own for a day, a Monday-to-Sunday week or a calendar month."
        ),
    ),
    Section(
        key="tournaments_trend", title="Tournaments trend", kind=TREND_CHART, source=TOURNAMENTS,
        metrics=(TOURNAMENT_COUNT, Metric("completed_count", "Completed", COUNT)),
    ),
)


TOURNAMENT_PERFORMANCE = ReportType(
    name="tournament_performance", title="Tournament performance", grain="day",
    description="Tournaments, completion, players, the most popular format and entry revenue.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, sections=TOURNAMENT_SECTIONS,
)
