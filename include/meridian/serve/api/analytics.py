"""Analytics (/analytics/...): the dashboard summary, revenue by period, cohorts, tournaments, dashboards."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, timedelta

from meridian.serve.api import batch
from meridian.serve.api.batch import CURRENCY, Query
from meridian.serve.api.endpoint import Context, clean, money, num, pct, ratio_pct
from meridian.serve.api.errors import bad_parameter
from meridian.serve.api.kpi_reads import as_of_instant, day_kpi_queries, day_kpis_of, funnel_queries, funnel_steps_of


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, parameter: str = "cursor") -> list | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_parameter(parameter, f"cursor={cursor!r} is not a cursor this API returned") from None
    if not isinstance(values, list):
        raise bad_parameter(parameter, f"cursor={cursor!r} is not a cursor this API returned")
    return values


def dashboard(ctx: Context) -> dict:
    found = batch.run(ctx, {
        "currency": CURRENCY, **day_kpi_queries("today", ctx.as_of),
        "month": Query("select * from marts.fct_monthly_revenue where tenant_id = %(tenant)s "
                       "and revenue_month <= %(as_of)s order by revenue_month desc limit 12"),
        # the busiest months: the (tenant, period type, count desc, start desc) index read from its start
        "tournaments": Query(
            "select * from marts.fct_tournaments_by_period where tenant_id = %(tenant)s and period_type = 'month' "
            "and period_start <= %(as_of)s order by tournament_count desc, period_start desc limit 3"),
    })
    today = day_kpis_of(found, "today", ctx.as_of) or {}
    month, tournaments = found["month"], found["tournaments"]
    latest = month[0] if month else {}
    return {
        "currency": ctx.currency,
        "as_of_date": ctx.as_of.isoformat(),
        "mrr": today.get("mrr"),
        "arr": today.get("arr"),
        "active_users": {"daily": today.get("active_users"), "weekly": today.get("wau"), "monthly": today.get("mau")},
        "churn": {
            "month": latest["revenue_month"].isoformat() if latest else None,
            "logo_churn_rate": pct(latest.get("logo_churn_rate")),
            "gross_mrr_churn_rate": pct(latest.get("gross_mrr_churn_rate")),
            "net_mrr_retention_rate": pct(latest.get("net_mrr_retention_rate")),
            "churned_customers": latest.get("churned_customers"),
        },
        "retention": {key: today.get(f"retention_{key}_rate") for key in ("d1", "d7", "d30")},
        "top_tournament_months": [clean(row) for row in tournaments],
        "revenue_trend": [{"month": row["revenue_month"].isoformat(), "gross_revenue": money(row["gross_revenue"]),
                           "net_revenue": money(row["net_revenue"]), "mrr": money(row["ending_mrr"])}
                          for row in reversed(month)],
    }


MOVEMENTS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def _period_rows(ctx: Context, mart: str, period_type: str, span) -> list[dict]:
    """The rows of a (tenant_id, period_type, period_start) mart of one period type whose periods start in ``span``
    (the tenant's currency read by the same statement)."""
    return batch.run(ctx, {"currency": CURRENCY, "rows": Query(
        f"select * from marts.{mart} where tenant_id = %(tenant)s and period_type = %(type)s "
        "and period_start between %(start)s and %(end)s order by period_start",
        {"type": period_type, "start": span.start, "end": span.end})})["rows"]


def revenue_by_period(ctx: Context) -> dict:
    span = ctx.range(default_days=365)
    period_type = ctx.args["periodType"] or "month"
    rows = _period_rows(ctx, "fct_revenue_by_period", period_type, span)
    periods = []
    for row in rows:
        item = {
            "period_start": row["period_start"].isoformat(),
            "period_end": row["period_end"].isoformat(),
            "gross_revenue": money(row["total_revenue"]),
            "refunds": money(row["refund_amount"]),
            "refund_count": row["refund_count"],
            "net_revenue": money(row["net_revenue"]),
            "payments": row["payment_count"],
            "payments_succeeded": row["payment_success_count"],
            "new_revenue": money(row["new_revenue"]),
            "mrr": num(row["mrr"]),
            "arr": num(row["arr"]),
            "is_complete": row.get("is_complete"),
        }
        for column in MOVEMENTS:
            item[column] = num(row[column])
        periods.append(item)
    return {
        "range": span.as_dict(),
        "period_type": period_type,
        "currency": ctx.currency,
        "movements_note": "MRR movements over each period: customer MRR at the period's end (the as-of date for "
                          "the current period) vs its start, classified as fct_mrr_movements does",
        "periods": periods,
    }


def cohorts(ctx: Context) -> dict:
    span = ctx.range(default_days=365)
    grain = ctx.args["grain"] or "month"
    limit = ctx.args["limit"]
    after = decode_cursor(ctx.args["cursor"])
    after_start = None
    if after is not None:
        try:
            after_start = date.fromisoformat(str(after[0]))
        except (ValueError, IndexError):
            raise bad_parameter("cursor", "cursor is not a cursor this API returned") from None
    window = {"grain": grain, "start": span.start, "end": span.end, "after": after_start, "limit": limit + 1}
    page_starts = ("select distinct cohort_start from marts.fct_retention_cohorts where tenant_id = %(tenant)s "
                   "and cohort_grain = %(grain)s and cohort_start between %(start)s and %(end)s "
                   "and (%(after)s::date is null or cohort_start > %(after)s::date) order by cohort_start "
                   "limit %(limit)s")
    fetched = batch.run(ctx, {
        "currency": CURRENCY,
        "starts": Query(page_starts, window),
        # the cohorts of the page (the first ``limit`` starts), their periods
        "rows": Query("select * from marts.fct_retention_cohorts where tenant_id = %(tenant)s "
                      "and cohort_grain = %(grain)s and cohort_start = any(array(" + page_starts + ")) "
                      "order by cohort_start, period_number", {**window, "limit": limit}),
        "benchmarks": Query("select * from marts.fct_cohort_benchmarks where tenant_id = %(tenant)s "
                            "and cohort_grain = %(grain)s order by period_number", window),
    })
    starts = [row["cohort_start"] for row in fetched["starts"]]
    more = len(starts) > limit
    starts = starts[:limit]
    rows = fetched["rows"]
    found: dict[date, dict] = {}
    for row in rows:
        cohort = found.setdefault(row["cohort_start"], {"cohort_start": row["cohort_start"].isoformat(),
                                                        "cohort_size": row["cohort_size"], "periods": []})
        cohort["periods"].append({
            "period": row["period_number"],
            "period_start": row["period_start"].isoformat(),
            "retained_users": row["retained_users"],
            "retention_rate": pct(row["retention_rate"]),
            "revenue": money(row["revenue"]),
            "ltv_to_date": num(row["cumulative_revenue_per_user"]),
            "paid_conversion_rate": pct(row["paid_conversion_rate"]),
        })
    benchmarks = {row["period_number"]: row for row in fetched["benchmarks"]}
    for cohort in found.values():
        for item in cohort["periods"]:
            benchmark = benchmarks.get(item["period"], {})
            average = pct(benchmark.get("avg_retention_rate"))
            item["vs_benchmark_points"] = (
                round(item["retention_rate"] - average, 2)
                if item["retention_rate"] is not None and average is not None else None
            )
    return {
        "range": span.as_dict(),
        "grain": grain,
        "currency": ctx.currency,
        "cohorts": list(found.values()),
        "benchmarks": [_benchmark(row) for row in benchmarks.values()],
        "benchmarks_note": "fct_cohort_benchmarks: over every cohort of the grain with signups, to the as-of date; "
                           "vs_benchmark_points is a cohort's retention minus the mean of the cohorts' rates",
        "next_cursor": encode_cursor([starts[-1].isoformat()]) if more and starts else None,
    }


def _benchmark(row: dict) -> dict:
    return {
        "period": row["period_number"],
        "cohorts": row["cohorts"],
        "avg_retention_rate": pct(row["avg_retention_rate"]),
        "pooled_retention_rate": pct(row["pooled_retention_rate"]),
        "median_retention_rate": pct(row["median_retention_rate"]),
        "best_cohort_start": row["best_cohort_start"].isoformat() if row["best_cohort_start"] else None,
        "best_retention_rate": pct(row["best_retention_rate"]),
        "worst_cohort_start": row["worst_cohort_start"].isoformat() if row["worst_cohort_start"] else None,
        "worst_retention_rate": pct(row["worst_retention_rate"]),
        "avg_ltv_to_date": num(row["avg_cumulative_revenue_per_user"]),
    }


def tournaments(ctx: Context) -> dict:
    span = ctx.range(default_days=365)
    period_type = ctx.args["periodType"] or "month"
    rows = _period_rows(ctx, "fct_tournaments_by_period", period_type, span)
    return {"range": span.as_dict(), "period_type": period_type, "currency": ctx.currency,
            "periods": [clean(row) for row in rows]}


def _months(span_start: date, span_end: date) -> dict:
    return {"start": span_start.replace(day=1), "end": span_end}


def sales_dashboard(ctx: Context) -> dict:
    span = ctx.range(default_days=365)
    window = _months(span.start, span.end)
    queries = {
        "currency": CURRENCY,
        "months": Query("select * from marts.fct_sales_monthly where tenant_id = %(tenant)s "
                        "and sales_month between %(start)s and %(end)s order by sales_month", window),
        "has_funnel": _has_funnel("sales"),
        **funnel_queries("sales", span.start, span.end),
    }
    queries["reps"] = Query(
        "select rep_id, max(rep_name) as rep_name, sum(deals_closed) as deals_closed, sum(deals_lost) as deals_lost, "
        "sum(revenue) as revenue from marts.fct_sales_rep_monthly where tenant_id = %(tenant)s "
        "and sales_month between %(start)s and %(end)s group by rep_id order by revenue desc, rep_id", window)
    found = batch.run(ctx, queries)
    months, reps = found["months"], found["reps"]
    created = sum(row["leads_created"] for row in months)
    won = sum(row["proposals_won"] for row in months)
    lost = sum(row["proposals_lost"] for row in months)
    qualified_of_created = sum(float(row["lead_qualification_rate"] or 0) * row["leads_created"] for row in months)
    last = months[-1] if months else {}
    return {
        "range": span.as_dict(),
        "months": "the calendar months overlapping the range",
        "currency": ctx.currency,
        "leads_created": created,
        "leads_qualified": sum(row["leads_qualified"] for row in months),
        "lead_qualification_rate": round(100 * qualified_of_created / created, 2) if created else None,
        "proposals_won": won,
        "proposals_lost": lost,
        "win_rate": ratio_pct(won, won + lost),
        "pipeline_value": num(last.get("pipeline_value")),
        "weighted_pipeline": num(last.get("weighted_pipeline")),
        "funnel": funnel_steps_of(found, "sales") if found["has_funnel"] else [],
        "trend": [clean(row) for row in months],
        "per_rep": [{**clean(row), "win_rate": ratio_pct(row["deals_closed"], row["deals_closed"] + row["deals_lost"])}
                    for row in reps],
    }


def _has_funnel(name: str) -> Query:
    """A row when the tenant has funnel ``name``, none otherwise."""
    return Query("select 1 as found from marts.fct_funnel_steps where tenant_id = %(tenant)s "
                 "and funnel_name = %(name)s limit 1", {"name": name})


HEALTH_BANDS = ("healthy", "stable", "at_risk_band", "critical")


def customer_success_dashboard(ctx: Context) -> dict:
    span = ctx.range(default_days=90)
    rows = ctx.rows("select * from marts.fct_customer_health_daily where tenant_id = %(tenant)s "
                    "and as_of_date between %(start)s and %(end)s order by as_of_date",
                    {"start": span.start, "end": span.end})
    latest = rows[-1] if rows else {}
    month_ends: dict[date, dict] = {}
    for row in rows:  # ordered by date: the last row of each month in the range wins
        month_ends[row["as_of_date"].replace(day=1)] = row
    return {
        "range": span.as_dict(),
        "latest": clean(latest) if latest else None,
        "health_bands": {band: latest.get(band) for band in HEALTH_BANDS},
        "health_bands_over_time": [
            {"date": row["as_of_date"].isoformat(), "total_customers": row["total_customers"],
             "customers_with_known_state": row.get("customers_with_known_state"),
             **{band: row[band] for band in HEALTH_BANDS}}
            for row in rows
        ],
        "churn_over_time": [
            {"month": month.isoformat(), "through": row["as_of_date"].isoformat(),
             "churned_customers": row["churned_this_month"], "customers_at_end": row["total_customers"]}
            for month, row in month_ends.items()
        ],
        "days": [clean(row) for row in rows],
    }


def revenue_dashboard(ctx: Context) -> dict:
    span = ctx.range(default_days=365)
    window = _months(span.start, span.end)
    queries = {"currency": CURRENCY}
    queries["movements"] = Query("select * from marts.fct_monthly_revenue where tenant_id = %(tenant)s "
                                 "and revenue_month between %(start)s and %(end)s order by revenue_month", window)
    queries["plans"] = Query(
        "select * from marts.fct_plan_revenue_monthly where tenant_id = %(tenant)s and revenue_month = "
        "(select max(revenue_month) from marts.fct_plan_revenue_monthly where tenant_id = %(tenant)s "
        " and revenue_month between %(start)s and %(end)s) order by mrr desc, plan_id", window)
    queries["country_months"] = Query(
        "select * from marts.fct_revenue_by_country_monthly where tenant_id = %(tenant)s "
        "and revenue_month between %(start)s and %(end)s order by revenue_month, gross_revenue desc, country", window)
    queries["acquisition"] = Query(
        "select * from marts.fct_acquisition_monthly where tenant_id = %(tenant)s "
        "and acquisition_month between %(start)s and %(end)s order by acquisition_month, spend desc, channel", window)
    queries["forecast"] = Query("select * from marts.fct_mrr_forecast where tenant_id = %(tenant)s "
                                "order by forecast_month")
    found = batch.run(ctx, queries)
    movements, plans, country_months = found["movements"], found["plans"], found["country_months"]
    acquisition, forecast = found["acquisition"], found["forecast"]
    countries = _country_totals(country_months)
    total = sum(row["gross_revenue"] for row in countries)
    return {
        "range": span.as_dict(),
        "currency": ctx.currency,
        "mrr_movements": [clean(row) for row in movements],
        "by_plan": [clean(row) for row in plans],
        "by_country": [{**clean(row), "share_of_gross": ratio_pct(row["gross_revenue"], total)} for row in countries],
        "by_country_monthly": [clean(row) for row in country_months],
        "ltv_cac_by_channel": [clean(row) for row in acquisition],
        "forecast": [clean(row) for row in forecast],
    }


COUNTRY_SUMS = ("payments_succeeded", "gross_revenue", "refunds", "net_revenue")


def _country_totals(country_months: list[dict]) -> list[dict]:
    """fct_revenue_by_country_monthly rows summed per country over the months, most gross revenue first."""
    totals: dict[str, dict] = {}
    for row in country_months:
        total = totals.setdefault(row["country"], {"country": row["country"], **dict.fromkeys(COUNTRY_SUMS, 0)})
        for column in COUNTRY_SUMS:
            total[column] += row[column]
    return sorted(totals.values(), key=lambda row: (-row["gross_revenue"], row["country"]))


def real_time(ctx: Context) -> dict:
    instant = as_of_instant(ctx)
    queries = {"currency": CURRENCY, **day_kpi_queries("today", ctx.as_of)}
    queries["hours"] = Query(
        "select hour_start, active_users, events, sessions_started, new_users, messages from marts.fct_hourly_activity "
        "where tenant_id = %(tenant)s and hour_start >= %(day)s::date::timestamptz and hour_start < %(end)s order by hour_start",
        {"day": ctx.as_of, "end": instant})
    queries["payments"] = Query(
        "select hour_start, attempts, succeeded, failed, revenue from marts.fct_payments_hourly "
        "where tenant_id = %(tenant)s and hour_start >= %(day)s::date::timestamptz and hour_start < %(end)s order by hour_start",
        {"day": ctx.as_of, "end": instant})
    found = batch.run(ctx, queries)
    hours, payments = found["hours"], found["payments"]
    return {
        "through": instant.isoformat(),
        "currency": ctx.currency,
        "current_hour": clean(hours[-1]) if hours else None,
        "current_hour_payments": clean(payments[-1]) if payments else None,
        "today": day_kpis_of(found, "today", ctx.as_of),
        "today_payments": {
            "attempts": sum(row["attempts"] for row in payments),
            "succeeded": sum(row["succeeded"] for row in payments),
            "failed": sum(row["failed"] for row in payments),
            "revenue": money(sum(row["revenue"] for row in payments)),
        },
        "hours": [clean(row) for row in hours],
        "note": "from the latest transform run; the day holding its as-of instant is partial",
        "previous_day": (ctx.as_of - timedelta(days=1)).isoformat(),
    }
