"""Product KPIs (/kpis/...): read from fct_daily_kpis, fct_hourly_activity, fct_active_users_by_period,
fct_retention_cohorts, fct_event_counts_daily, fct_funnel_steps, fct_kpi_trends and the revenue marts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from meridian.serve.api import batch
from meridian.serve.api.batch import CURRENCY, Query, first
from meridian.serve.api.endpoint import Context, clean, money, num, pct, ratio_pct
from meridian.serve.api.errors import bad_parameter
from meridian.serve.api.kpi_reads import (
    TRENDS,
    as_of_instant,
    day_kpi_queries,
    day_kpis_of,
    distinct_values,
    funnel_queries,
    funnel_steps_of,
    monday,
    trends_of,
)
from meridian.serve.api.one_pass import paid_rows

RATE_COLUMNS = ("stickiness_rate", "retention_d1_rate", "retention_d7_rate", "retention_d30_rate",
                "paid_conversion_30d_rate")


def overview(ctx: Context) -> dict:
    instant = as_of_instant(ctx)
    partial = instant != datetime.combine(ctx.as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    days = {"today": ctx.as_of, "as_of_day": ctx.as_of if not partial else ctx.as_of - timedelta(days=1),
            "previous_day": ctx.as_of - timedelta(days=1)}
    queries = {"currency": CURRENCY, "trends": TRENDS}
    for name, day in days.items():
        queries.update(day_kpi_queries(name, day))
    found = batch.run(ctx, queries)
    return {
        "currency": ctx.currency,
        "as_of_date": ctx.as_of.isoformat(),
        "today": {**(day_kpis_of(found, "today", days["today"]) or {}), "is_partial": partial,
                  "through": instant.isoformat()},
        "as_of_day": day_kpis_of(found, "as_of_day", days["as_of_day"]),
        "previous_day": day_kpis_of(found, "previous_day", days["previous_day"]),
        "changes": trends_of(found["trends"]),
    }


# --- active users --------------------------------------------------------------------------------

GRANULARITY_UNITS = {"hourly": "h", "daily": "d", "weekly": "w", "monthly": "m", "quarterly": "q"}
DEFAULT_RANGES = {"hourly": "72h", "daily": "30d", "weekly": "12w", "monthly": "6m", "quarterly": "4q"}
ACTIVE_RANGES = ("24h", "48h", "72h", "168h", "7d", "14d", "30d", "60d", "90d", "4w", "12w", "26w", "52w",
                 "3m", "6m", "12m", "24m", "4q", "8q")
PERIOD_TYPES = {"w": "week", "m": "month", "q": "quarter"}


def _period_start(day: date, unit: str, back: int) -> date:
    if unit == "w":
        return monday(day) - timedelta(days=7 * back)
    months = 1 if unit == "m" else 3
    index = day.year * 12 + day.month - 1
    index = index - index % months - back * months
    return date(index // 12, index % 12 + 1, 1)


def active_users(ctx: Context) -> dict:
    granularity = ctx.args["granularity"] or "daily"
    unit = GRANULARITY_UNITS[granularity]
    span = ctx.args["range"] or DEFAULT_RANGES[granularity]
    if span[-1] != unit:
        allowed = ", ".join(value for value in ACTIVE_RANGES if value.endswith(unit))
        raise bad_parameter("range", f"range={span!r} does not fit granularity={granularity}; use one of {allowed}")
    count = int(span[:-1])
    if unit == "h":
        end = as_of_instant(ctx)
        end_hour = end.replace(minute=0, second=0, microsecond=0)
        if end_hour == end:
            end_hour -= timedelta(hours=1)
        rows = ctx.rows(
            "select hour_start as period_start, active_users, new_users from marts.fct_hourly_activity "
            "where tenant_id = %(tenant)s and hour_start > %(first)s and hour_start <= %(last)s order by hour_start",
            {"first": end_hour - timedelta(hours=count), "last": end_hour})
        buckets = [{"period_start": row["period_start"].astimezone(UTC).isoformat(), "active_users": row["active_users"],
                    "new_users": row["new_users"], "is_partial": row["period_start"] == end_hour and end_hour + timedelta(hours=1) > end}
                   for row in rows]
    elif unit == "d":
        rows = ctx.rows(
            "select kpi_date as period_start, active_users, new_users from marts.fct_daily_kpis "
            "where tenant_id = %(tenant)s and kpi_date > %(first)s and kpi_date <= %(as_of)s order by kpi_date",
            {"first": ctx.as_of - timedelta(days=count)})
        partial = as_of_instant(ctx).date() == ctx.as_of
        buckets = [{"period_start": row["period_start"].isoformat(), "active_users": row["active_users"],
                    "new_users": row["new_users"], "is_partial": partial and row["period_start"] == ctx.as_of}
                   for row in rows]
    else:
        rows = ctx.rows(
            "select period_start, period_end, active_users, new_users from marts.fct_active_users_by_period "
            "where tenant_id = %(tenant)s and period_type = %(type)s and period_start >= %(first)s "
            "and period_start <= %(as_of)s order by period_start",
            {"type": PERIOD_TYPES[unit], "first": _period_start(ctx.as_of, unit, count - 1)})
        buckets = [{"period_start": row["period_start"].isoformat(), "active_users": row["active_users"],
                    "new_users": row["new_users"], "is_partial": row["period_end"] > ctx.as_of + timedelta(days=1)}
                   for row in rows]
    values = [bucket["active_users"] for bucket in buckets]
    peak = max(buckets, key=lambda bucket: bucket["active_users"]) if buckets else None
    growth = None
    if len(values) >= 2 and values[0]:
        growth = round(100 * (values[-1] - values[0]) / values[0], 2)
    return {
        "granularity": granularity,
        "range": span,
        "summary": {
            "average": round(sum(values) / len(values), 2) if values else None,
            "peak": peak["active_users"] if peak else None,
            "peak_period_start": peak["period_start"] if peak else None,
            "growth_percent": growth,
            "buckets": len(buckets),
        },
        "buckets": buckets,
    }


# --- retention ----------------------------------------------------------------------------------


def retention(ctx: Context) -> dict:
    grain = {"weekly": "week", "monthly": "month"}[ctx.args["period"] or "weekly"]
    rows = ctx.rows(
        # the latest cohorts' starts from the end of the primary key, then their rows (not a join with every cohort)
        "select * from marts.fct_retention_cohorts where tenant_id = %(tenant)s and cohort_grain = %(grain)s "
        "and cohort_start = any(array(select distinct cohort_start from marts.fct_retention_cohorts "
        "    where tenant_id = %(tenant)s and cohort_grain = %(grain)s order by cohort_start desc limit %(count)s)) "
        "order by cohort_start, period_number",
        {"grain": grain, "count": ctx.args["cohortCount"]})
    cohorts: dict[date, dict] = {}
    by_period: dict[int, list[dict]] = {}
    for row in rows:
        cohort = cohorts.setdefault(row["cohort_start"], {"cohort_start": row["cohort_start"].isoformat(),
                                                          "cohort_size": row["cohort_size"], "periods": []})
        cohort["periods"].append({"period": row["period_number"], "period_start": row["period_start"].isoformat(),
                                  "retained_users": row["retained_users"],
                                  "retention_rate": pct(row["retention_rate"])})
        by_period.setdefault(row["period_number"], []).append(row)
    averages = []
    for number in sorted(by_period):
        group = by_period[number]
        rates = [row["retention_rate"] for row in group if row["retention_rate"] is not None]
        size = sum(row["cohort_size"] for row in group)
        averages.append({
            "period": number,
            "cohorts": len(group),
            "avg_retention_rate": round(100 * float(sum(rates)) / len(rates), 2) if rates else None,
            "pooled_retention_rate": ratio_pct(sum(row["retained_users"] for row in group), size),
        })
    return {"period": ctx.args["period"] or "weekly", "cohorts": list(cohorts.values()), "period_averages": averages}


# --- revenue ------------------------------------------------------------------------------------


# a succeeded payment of a subscription after the subscription's first paid instant
RENEWAL = ("is_succeeded and subscription_id is not null "
           "and subscription_first_paid_at < coalesce(settled_at, created_at)")


def revenue(ctx: Context) -> dict:
    span = ctx.range()
    window = {"start": span.start, "end": span.end}
    queries = {"currency": CURRENCY}
    queries["totals"] = Query(
        "select coalesce(sum(gross_revenue), 0) as gross_revenue, coalesce(sum(refunds), 0) as refunds, "
        "coalesce(sum(net_revenue), 0) as net_revenue, coalesce(sum(new_subscriptions), 0) as new_subscriptions, "
        "coalesce(sum(payments_succeeded), 0) as payments_succeeded from marts.fct_daily_kpis "
        "where tenant_id = %(tenant)s and kpi_date between %(start)s and %(end)s", window)
    queries["end_row"] = Query("select mrr, paying_users from marts.fct_daily_kpis where tenant_id = %(tenant)s "
                               "and kpi_date = least(%(end)s, %(as_of)s)", window)
    # subscriptions paid in the range by a payment that was not their first: the range's payments (paid-at ranges)
    # after their subscription's first paid instant (a column of each row), no lookup into any subscription's history
    queries["renewed"] = Query(
        "select count(distinct paid.subscription_id) as renewed from "
        f"{paid_rows('subscription_id', RENEWAL)} as paid", window)
    queries["months"] = Query(
        "select plan_id, plan_name, sum(new_subscriptions) as new_subscriptions, "
        "sum(canceled_subscriptions) as canceled_subscriptions, sum(gross_revenue) as gross_revenue "
        "from marts.fct_plan_revenue_monthly where tenant_id = %(tenant)s "
        "and revenue_month between date_trunc('month', %(start)s::date)::date and %(end)s "
        "group by plan_id, plan_name order by plan_id", window)
    queries["latest_plans"] = Query(
        "select plan_id, active_subscriptions, mrr from marts.fct_plan_revenue_monthly where tenant_id = %(tenant)s "
        "and revenue_month = date_trunc('month', least(%(end)s, %(as_of)s)::date)::date", window)
    if span.days > 92:
        queries["timeline"] = Query(
            "select * from marts.fct_monthly_revenue where tenant_id = %(tenant)s and revenue_month "
            "between date_trunc('month', %(start)s::date)::date and %(end)s order by revenue_month", window)
    else:
        queries["timeline"] = Query(
            "select * from marts.fct_daily_kpis where tenant_id = %(tenant)s and kpi_date "
            "between %(start)s and %(end)s order by kpi_date", window)
    found = batch.run(ctx, queries)
    totals, end_row, renewed = first(found["totals"]), first(found["end_row"]), first(found["renewed"])
    months = found["months"]
    latest_plans = {row["plan_id"]: row for row in found["latest_plans"]}
    by_plan = [{"plan_id": row["plan_id"], "plan_name": row["plan_name"],
                "active_subscriptions": latest_plans.get(row["plan_id"], {}).get("active_subscriptions"),
                "mrr": num(latest_plans.get(row["plan_id"], {}).get("mrr")),
                "new_subscriptions": row["new_subscriptions"], "canceled_subscriptions": row["canceled_subscriptions"],
                "gross_revenue": money(row["gross_revenue"])} for row in months]
    if span.days > 92:
        timeline = [clean({"period_start": row["revenue_month"], "gross_revenue": row["gross_revenue"],
                           "refunds": row["refunds"], "net_revenue": row["net_revenue"], "mrr": row["ending_mrr"]})
                    for row in found["timeline"]]
        unit = "month"
    else:
        timeline = [clean({"period_start": row["kpi_date"], "gross_revenue": row["gross_revenue"],
                           "refunds": row["refunds"], "net_revenue": row["net_revenue"], "mrr": row["mrr"]})
                    for row in found["timeline"]]
        unit = "day"
    mrr = end_row.get("mrr") or 0
    paying = end_row.get("paying_users") or 0
    return {
        "range": span.as_dict(),
        "currency": ctx.currency,
        "gross_revenue": money(totals["gross_revenue"]),
        "refunds": money(totals["refunds"]),
        "net_revenue": money(totals["net_revenue"]),
        "payments_succeeded": totals["payments_succeeded"],
        "new_subscriptions": totals["new_subscriptions"],
        "renewed_subscriptions": renewed.get("renewed", 0),
        "churned_subscriptions": sum(row["canceled_subscriptions"] or 0 for row in months),
        "churned_subscriptions_months": "the calendar months overlapping the range (plan revenue is monthly)",
        "mrr": money(mrr),
        "arr": money(mrr * 12),
        "arpu": round(float(mrr) / paying, 2) if paying else None,
        "by_plan": by_plan,
        "timeline_unit": unit,
        "timeline": timeline,
    }


# --- user behaviour ------------------------------------------------------------------------------


def user_behavior(ctx: Context) -> dict:
    span = ctx.range()
    window = {"start": span.start, "end": span.end, "event_type": ctx.args["eventType"]}
    queries = {}
    if ctx.args["eventType"] is not None:
        queries["known"] = distinct_values("fct_event_counts_daily", "event_type")
    type_filter = "and (%(event_type)s::text is null or event_type = %(event_type)s)"
    queries["by_type"] = Query(
        "select event_type, sum(events) as events from marts.fct_event_counts_daily where tenant_id = %(tenant)s "
        f"and event_date between %(start)s and %(end)s {type_filter} group by event_type order by events desc, "
        "event_type", window)
    queries["platforms"] = Query(
        "select platform, sum(events) as events from marts.fct_event_counts_daily where tenant_id = %(tenant)s "
        f"and event_date between %(start)s and %(end)s {type_filter} group by platform order by events desc, platform",
        window)
    queries["hours"] = Query(
        "select extract(hour from hour_start at time zone 'UTC')::int as hour, sum(events) as events, "
        "sum(active_users) as active_users_hours from marts.fct_hourly_activity where tenant_id = %(tenant)s "
        "and hour_start >= %(start)s::date::timestamptz and hour_start < (%(end)s::date + 1)::timestamptz group by 1 order by 1", window)
    queries["sessions"] = Query(
        "select coalesce(sum(sessions), 0) as sessions, sum(avg_session_seconds * sessions) / nullif(sum(sessions) "
        "filter (where avg_session_seconds is not null), 0) as avg_session_seconds from marts.fct_daily_kpis "
        "where tenant_id = %(tenant)s and kpi_date between %(start)s and %(end)s", window)
    found = batch.run(ctx, queries)
    if ctx.args["eventType"] is not None:
        known = [row["value"] for row in found["known"]]
        if ctx.args["eventType"] not in known:
            raise bad_parameter("eventType", f"eventType={ctx.args['eventType']!r} is not an event type of this "
                                f"tenant; known: {', '.join(known)}")
    by_type, platforms, hours = found["by_type"], found["platforms"], found["hours"]
    sessions = first(found["sessions"])
    total = sum(row["events"] for row in platforms) or 0
    peak = max(hours, key=lambda row: row["events"]) if hours else None
    return {
        "range": span.as_dict(),
        "event_type": ctx.args["eventType"],
        "events": total,
        "events_by_type": [{"event_type": row["event_type"], "events": row["events"]} for row in by_type],
        "platforms": [{"platform": row["platform"], "events": row["events"], "share": ratio_pct(row["events"], total)}
                      for row in platforms],
        "events_by_hour_of_day": [{"hour": row["hour"], "events": row["events"]} for row in hours],
        "hours_note": "events by hour of day count every event type (the hourly mart is not split by type)",
        "peak_hour": peak["hour"] if peak else None,
        "sessions": sessions["sessions"],
        "avg_session_seconds": round(float(sessions["avg_session_seconds"]), 2)
        if sessions.get("avg_session_seconds") is not None else None,
    }


# --- funnel ---------------------------------------------------------------------------------------


def funnel(ctx: Context) -> dict:
    span = ctx.range()
    name = ctx.args["funnel"] or "onboarding"
    steps = funnel_steps_of(batch.run(ctx, funnel_queries(name, span.start, span.end)), name)
    biggest = max(steps[1:], key=lambda step: step["drop_off"], default=None)
    return {
        "range": span.as_dict(),
        "funnel": name,
        "cohorts": "users who entered the funnel in the weeks (Monday) from the range's first week to its end",
        "steps": steps,
        "step_conversions": [{"from": steps[i - 1]["name"], "to": steps[i]["name"],
                              "conversion_rate": steps[i]["conversion_rate"]} for i in range(1, len(steps))],
        "overall_conversion_rate": steps[-1]["conversion_from_start_rate"] if steps else None,
        "biggest_drop_off": {"step": biggest["name"], "drop_off": biggest["drop_off"]} if biggest else None,
        "avg_seconds_note": "avg_seconds_to_convert: mean seconds from the previous step over the users who reached "
                            "the step in the range's cohort weeks; median_seconds_to_convert: the users-weighted "
                            "mean of the weekly cohorts' medians",
    }
