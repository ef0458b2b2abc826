"""The report types, one module each: what a report queries and how its sections are laid out.

Each module defines one :class:`~meridian.reports.model.ReportType` as data (its
sections, the marts of :mod:`~meridian.reports.types.common` they read, its
parameters); nothing here runs a query or draws anything. A new report type
is a new module here, listed in :data:`meridian.reports.registry.REPORT_TYPES`
(plus a renderer branch only for a new section kind).

Report types (:data:`REPORT_TYPES`)
    ``revenue_summary``
        MRR, ARR, customers, revenue and payments with the change on the
        previous period, the MRR trend, MRR movements (bars), revenue by plan,
        revenue by country (bars), LTV/CAC by acquisition channel and the MRR
        forecast for the next six months.
    ``user_analytics``
        Active and new users, sessions, stickiness and retention tiles, the
        active users trend, the cohort retention heat-map, the cohorts against
        the cohort benchmark, the onboarding funnel (bars, with the average time
        from the previous step), events by type, activity by hour of day.
    ``payments``
        Success rate, revenue, attempts and latency tiles, the revenue trend,
        payments by method, failure reasons (bars), retries and recovery, the
        hourly peak (bars), top resources, webhook deliveries.
    ``sales``
        Pipeline, win rate, deals and leads tiles, the sales metrics table,
        the rep table, the sales funnel (bars).
    ``customer_success``
        Customer book tiles, health bands (bars), health bands over time, the
        at-risk trend.
    ``tournament_performance``
        Tournaments, completion, players, the most popular format and revenue,
        the tournaments trend.
    ``executive``
        One page: four headline tiles of each area and the MRR and active users
        trends side by side.
    ``comprehensive``
        Every section of the six area reports, grouped by area.
"""
