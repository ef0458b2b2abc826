"""Payments (/payments/...): range statistics from the payment-level rows of fct_payment_attempts (latency
percentiles with percentile_cont over the range's payments, never averaged daily percentiles), daily and
hourly figures from fct_payments_daily / fct_payments_hourly, webhooks and resources; the ledger rows of
fct_accounting_transactions (/payments/transactions) are meridian.serve.api.payment_ledger's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from meridian.serve.api import one_pass
from meridian.serve.api.endpoint import Context, clean, money, num, ratio_pct
from meridian.serve.api.kpi_reads import as_of_instant
from meridian.serve.api.params import DateRange

IN_RANGE = "tenant_id = %(tenant)s and created_at >= %(start)s::date::timestamptz and created_at < (%(end)s::date + 1)::timestamptz"
PERIODS = {"today": 1, "week": 7, "month": 30}


def _success_rate(row: dict) -> float | None:
    """succeeded / (succeeded + failed) of a row with attempt counts, in percent (None without outcomes)."""
    return ratio_pct(row["succeeded"], row["succeeded"] + row["failed"])


def _summary(row: dict) -> dict:
    """The summary figures of one aggregate row (meridian.serve.api.one_pass.SUMMARY_COLUMNS, percentiles spread)."""
    succeeded, failed = row["succeeded"], row["failed"]
    return {
        "attempts": row["attempts"],
        "succeeded": succeeded,
        "failed": failed,
        "pending": row["pending"],
        "success_rate": _success_rate(row),
        "volume": money(row["volume"]),
        "avg_value": round(float(row["volume"]) / succeeded, 2) if succeeded else None,
        "unique_payers": row["unique_payers"],
        "latency_ms": _latency(row),
    }


def _latency(row: dict) -> dict:
    """avg, p50, p95 and p99 of a row with the latency aggregates (percentiles spread), in ms to 2 decimals."""
    return {key: None if row[f"latency_{key}_ms"] is None else round(float(row[f"latency_{key}_ms"]), 2)
            for key in ("avg", "p50", "p95", "p99")}


def window(span: DateRange) -> dict:
    return {"start": span.start, "end": span.end}


def _stats(found: dict) -> tuple[dict, list[dict]]:
    """The summary (empty when not asked for: a ``by_method`` section alone) and the per-method figures of a
    one-pass answer (its ``stats`` section, else its ``by_method``), shaped as the responses give them."""
    if "stats" in found:  # one_pass.SUMMARY_AND_METHODS: the total and the methods
        total_row, method_rows = one_pass.split_stats(found["stats"])
        total = _summary(_spread(total_row))
    else:
        total, method_rows = {}, found.get("by_method") or []
    rows = [_spread(row) for row in method_rows]
    volume = sum(float(row["volume"]) for row in rows)
    methods = [{"method": row["method"], **_summary(row), "share_of_volume": ratio_pct(row["volume"], volume)}
               for row in rows]
    return total, methods


def _spread(row: dict) -> dict:
    return one_pass.with_percentiles(dict(row), "latency_percentiles_ms", "latency_", "_ms")


def _reasons(found: dict) -> list[dict]:
    rows = found.get("failure_reasons") or []
    total = sum(row["failures"] for row in rows)
    return [{**row, "share": ratio_pct(row["failures"], total)} for row in rows]


def _retries(row: dict) -> dict:
    return {**clean(row), "recovery_rate": ratio_pct(row.get("recovered"), row.get("invoices_with_failure"))}


STATS = {"currency": one_pass.CURRENCY, "stats": one_pass.SUMMARY_AND_METHODS,
         "failure_reasons": one_pass.FAILURE_REASONS}


def range_figures(ctx: Context, span: DateRange, sections: dict[str, str], columns: str, **params: Any) -> dict:
    """``sections`` over the payment rows of ``span`` in one statement (meridian.serve.api.one_pass), the range
    rows holding only the ``columns`` the sections read (each column less is one less copied per row)."""
    return one_pass.fetch(ctx, sections, {**window(span), **params}, columns=columns)


def metrics(ctx: Context) -> dict:
    span = ctx.range()
    found = range_figures(ctx, span, {**STATS, "retries": one_pass.RETRIES},
                          f"{one_pass.STATS_RANGE_COLUMNS}, invoice_id")
    total, methods = _stats(found)
    return {"range": span.as_dict(), "currency": ctx.currency, **total, "by_method": methods,
            "failure_reasons": _reasons(found), "retries": _retries(found["retries"])}


def period_range(ctx: Context, period: str, back: int = 0) -> DateRange:
    days = PERIODS[period]
    end = ctx.as_of - timedelta(days=days * back)
    return DateRange(end - timedelta(days=days - 1), end)


def realtime(ctx: Context) -> dict:
    instant = as_of_instant(ctx)
    # one statement: the sections (currency, today's hours, pending) once, beside the 20 newest payments
    found = ctx.rows(
        "select sections.*, recent.* from (select "
        f"({one_pass.CURRENCY})::text as section_currency, "
        "(select json_agg(hours order by hours.hour_start) from marts.fct_payments_hourly as hours "
        "    where tenant_id = %(tenant)s and hour_start >= %(day)s::date::timestamptz and hour_start < %(end)s)::text as section_hours, "
        "(select to_json(open_payments) from (select count(*) as pending, coalesce(sum(amount), 0) as amount "
        "    from marts.fct_payment_attempts where tenant_id = %(tenant)s and status = 'pending') as open_payments)"
        "::text "
        "    as section_pending) as sections "
        "left join lateral (select payment_id, created_at, settled_at, status, method, amount, currency, "
        "    failure_reason from marts.fct_payment_attempts where tenant_id = %(tenant)s "
        "    order by created_at desc, payment_id desc limit 20) as recent on true "
        "order by recent.created_at desc, recent.payment_id desc",
        {"day": ctx.as_of, "end": instant})
    names = ("currency", "hours", "pending")
    sections = {name: one_pass.parse(found[0][f"section_{name}"]) for name in names}
    for row in found:
        for name in names:
            del row[f"section_{name}"]
    ctx.__dict__["currency"] = sections["currency"]
    hours = [{**row, "hour_start": datetime.fromisoformat(row["hour_start"])} for row in sections["hours"] or []]
    pending = sections["pending"]
    recent = [row for row in found if row["payment_id"] is not None]
    return {
        "through": instant.isoformat(),
        "currency": ctx.currency,
        "current_hour": clean(hours[-1]) if hours else None,
        "today": {
            "attempts": sum(row["attempts"] for row in hours),
            "succeeded": sum(row["succeeded"] for row in hours),
            "failed": sum(row["failed"] for row in hours),
            "revenue": money(sum(row["revenue"] for row in hours)),
        },
        "pending_payments": pending.get("pending", 0),
        "pending_amount": money(pending.get("amount")),
        "recent_payments": [clean(row) for row in recent],
    }


def overview(ctx: Context) -> dict:
    period = ctx.args["period"] or "today"
    span = period_range(ctx, period)
    found = range_figures(ctx, span, STATS, one_pass.STATS_RANGE_COLUMNS)
    total, methods = _stats(found)
    return {"period": period, "range": span.as_dict(), "currency": ctx.currency, **total, "by_method": methods,
            "failure_reasons": _reasons(found)}


def _change(current: Any, previous: Any) -> dict:
    if current is None or previous is None:
        return {"current": current, "previous": previous, "change": None, "change_percent": None}
    change = round(float(current) - float(previous), 2)
    return {"current": current, "previous": previous, "change": change,
            "change_percent": round(100 * change / float(previous), 2) if previous else None}


def trend(period: str):
    def handler(ctx: Context) -> dict:
        current_span, previous_span = period_range(ctx, period), period_range(ctx, period, back=1)
        # the two adjacent spans' rows read once; each span's summary from its own part
        found = range_figures(ctx, DateRange(previous_span.start, current_span.end), {
            "currency": one_pass.CURRENCY,
            "current": one_pass.summary_section("created_at >= %(current_start)s::date::timestamptz"),
            "previous": one_pass.summary_section("created_at < %(current_start)s::date::timestamptz")},
            "status, is_succeeded, amount, user_id, latency_ms, created_at", current_start=current_span.start)
        current, previous = _summary(_spread(found["current"])), _summary(_spread(found["previous"]))
        keys = ("attempts", "succeeded", "failed", "success_rate", "volume", "avg_value", "unique_payers")
        return {
            "period": period,
            "currency": ctx.currency,
            "current_range": current_span.as_dict(),
            "previous_range": previous_span.as_dict(),
            "metrics": {key: _change(current[key], previous[key]) for key in keys},
            "latency_p95_ms": _change(current["latency_ms"]["p95"], previous["latency_ms"]["p95"]),
        }

    handler.__name__ = f"trends_{period}"
    return handler


def _with_success_rate(row: dict) -> dict:
    return {**clean(row), "success_rate": _success_rate(row)}


def _hourly_totals_by(part: str, name: str) -> str:
    """A section: fct_payments_hourly over the range summed by one part of the UTC hour (``hour``, ``isodow``)
    named ``name``, as a JSON array ordered by it."""
    return (f"(select json_agg(totals order by totals.{name}) from (select extract({part} from hour_start at time "
            f"zone 'UTC')::int as {name}, sum(attempts) as attempts, sum(succeeded) as succeeded, sum(failed) "
            "as failed, sum(revenue) as revenue from marts.fct_payments_hourly where tenant_id = %(tenant)s "
            "and hour_start >= %(start)s::date::timestamptz and hour_start < (%(end)s::date + 1)::timestamptz group by 1) as totals)")


def peak_times(ctx: Context) -> dict:
    span = ctx.range()
    found = one_pass.fetch(ctx, {"currency": one_pass.CURRENCY, "hours": _hourly_totals_by("hour", "hour"),
                                 "weekdays": _hourly_totals_by("isodow", "weekday")}, window(span), rows=False)
    hours, weekdays = found["hours"] or [], found["weekdays"] or []
    peak = max(hours, key=lambda row: row["attempts"]) if hours else None
    return {"range": span.as_dict(), "currency": ctx.currency, "by_hour": [_with_success_rate(row) for row in hours],
            "by_weekday": [_with_success_rate(row) for row in weekdays],
            "weekday_numbering": "ISO: 1 = Monday … 7 = Sunday", "peak_hour": peak["hour"] if peak else None}


def _daily(found: dict) -> list[dict]:
    return [_with_success_rate(row) for row in found.get("daily") or []]


def _success(row: dict) -> dict:
    """The attempt counts of a row (one_pass.COUNT_COLUMNS) with their success rate."""
    return {"success_rate": _success_rate(row), "attempts": row["attempts"],
            "succeeded": row["succeeded"], "failed": row["failed"], "pending": row["pending"]}


def success_rate(ctx: Context) -> dict:
    span = ctx.range()
    # only the counts: the range rows' three columns, no sort (no distinct payers, no percentiles)
    found = one_pass.fetch(ctx, {"stats": one_pass.summary_and_methods(one_pass.COUNT_COLUMNS),
                                 "daily": one_pass.DAILY_TOTALS}, window(span), columns=one_pass.COUNT_RANGE_COLUMNS)
    total, methods = one_pass.split_stats(found["stats"])
    return {"range": span.as_dict(), **_success(total),
            "by_method": [{"method": row["method"], "success_rate": _success_rate(row),
                           "attempts": row["attempts"]} for row in methods],
            "daily": _daily(found)}


def failures(ctx: Context) -> dict:
    span = ctx.range()
    found = range_figures(ctx, span, {"failure_reasons": one_pass.FAILURE_REASONS, "retries": one_pass.RETRIES,
                                      "daily": one_pass.DAILY_TOTALS}, f"{one_pass.RETRIES_RANGE_COLUMNS}, failure_reason")
    daily = [{"payment_date": row["payment_date"], "failed": row["failed"]} for row in _daily(found)]
    reasons = _reasons(found)
    return {"range": span.as_dict(), "failures": sum(row["failures"] for row in reasons), "by_reason": reasons,
            "retries": _retries(found["retries"]), "daily": daily}


def latency(ctx: Context) -> dict:
    span = ctx.range()
    # only the latency figures: the range rows' three columns, no per-payer sort (the summary's distinct payers)
    found = one_pass.fetch(ctx, {"stats": one_pass.summary_and_methods(one_pass.LATENCY_COLUMNS),
                                 "daily": one_pass.DAILY_LATENCY}, window(span),
                           columns=one_pass.LATENCY_RANGE_COLUMNS)
    total, methods = one_pass.split_stats(found["stats"])
    daily = [one_pass.with_percentiles(row, "percentiles_ms", "", "_ms") for row in found.get("daily") or []]
    return {"range": span.as_dict(), "latency_ms": _latency(_spread(total)),
            "definition": "settled_at − created_at of succeeded payments, percentile_cont over the range's payments",
            "by_method": [{"method": row["method"], "latency_ms": _latency(_spread(row))} for row in methods],
            "daily": [{key: round(float(value), 2) if key.endswith("_ms") and value is not None else
                       (value.isoformat() if isinstance(value, date) else value) for key, value in row.items()}
                      for row in daily]}


def payment_methods(ctx: Context) -> dict:
    span = ctx.range()
    _, methods = _stats(range_figures(ctx, span, {"currency": one_pass.CURRENCY, "by_method": one_pass.BY_METHOD},
                                      "method, status, is_succeeded, amount, user_id, latency_ms"))
    return {"range": span.as_dict(), "currency": ctx.currency, "methods": methods}


def webhook_metrics(ctx: Context) -> dict:
    span = ctx.range()
    found = one_pass.fetch(ctx, {
        "by_type": "(select json_agg(types order by types.event_type) from (select event_type, sum(deliveries) "
                   "as deliveries, sum(delivered) as delivered, sum(failed) as failed, sum(pending) as pending, "
                   "sum(avg_attempts * deliveries) / nullif(sum(deliveries) filter (where avg_attempts is not null), "
                   "0) as avg_attempts, sum(avg_response_ms * deliveries) / nullif(sum(deliveries) filter "
                   "(where avg_response_ms is not null), 0) as avg_response_ms from marts.fct_webhook_deliveries_daily "
                   "where tenant_id = %(tenant)s and delivery_date between %(start)s and %(end)s "
                   "group by event_type) as types)",
        "daily": "(select json_agg(days order by days.delivery_date) from (select delivery_date, sum(deliveries) "
                 "as deliveries, sum(delivered) as delivered, sum(failed) as failed, sum(pending) as pending "
                 "from marts.fct_webhook_deliveries_daily where tenant_id = %(tenant)s "
                 "and delivery_date between %(start)s and %(end)s group by delivery_date) as days)"},
        window(span), rows=False)
    by_type, daily = found["by_type"] or [], found["daily"] or []

    def shaped(row: dict) -> dict:
        out = clean(row)
        for key in ("avg_attempts", "avg_response_ms"):
            if out.get(key) is not None:
                out[key] = round(out[key], 2)
        out["success_rate"] = ratio_pct(row["delivered"], row["delivered"] + row["failed"])
        return out

    deliveries = sum(row["deliveries"] for row in by_type)
    delivered = sum(row["delivered"] for row in by_type)
    failed = sum(row["failed"] for row in by_type)
    return {"range": span.as_dict(), "deliveries": deliveries, "delivered": delivered, "failed": failed,
            "success_rate": ratio_pct(delivered, delivered + failed),
            "by_event_type": [shaped(row) for row in by_type], "daily": [shaped(row) for row in daily]}


def top_resources(ctx: Context) -> dict:
    month = ctx.args["month"] or ctx.as_of.replace(day=1)
    found = one_pass.fetch(ctx, {
        "currency": one_pass.CURRENCY,
        "resources": "(select json_agg(top order by top.rank, top.resource) from (select revenue_month, resource, "
                     "payments_succeeded, revenue, unique_payers, rank from marts.fct_resource_revenue_monthly "
                     "where tenant_id = %(tenant)s and revenue_month = %(month)s order by rank, resource "
                     "limit %(limit)s) as top)"}, {"month": month, "limit": ctx.args["limit"]}, rows=False)
    return {"month": month.isoformat()[:7], "currency": ctx.currency,
            "resources": [clean(row) for row in found["resources"] or []]}


# the most days a period of each interval spans (fct_revenue_by_period's calendar periods)
LONGEST_PERIOD_DAYS = ("(case %(interval)s when 'day' then 1 when 'week' then 7 when 'month' then 31 "
                       "when 'quarter' then 92 else 366 end)")


def revenue(ctx: Context) -> dict:
    span = ctx.range()
    interval = ctx.args["interval"] or "day"
    found = one_pass.fetch(ctx, {
        "currency": one_pass.CURRENCY,
        "periods": "(select json_agg(periods order by periods.period_start) from (select period_start, period_end, "
                   "total_revenue as gross_revenue, refund_amount as refunds, net_revenue, payment_count as payments, "
                   "payment_success_count as payments_succeeded from marts.fct_revenue_by_period "
                   "where tenant_id = %(tenant)s and period_type = %(interval)s and period_end > %(start)s "
                   # implied by period_end > start (no period is longer than its type's longest): a range read of
                   # the primary key instead of every period before the end
                   f"and period_start > %(start)s::date - {LONGEST_PERIOD_DAYS} "
                   "and period_start <= %(end)s) as periods)"}, {**window(span), "interval": interval}, rows=False)
    return {"range": span.as_dict(), "interval": interval, "currency": ctx.currency,
            "periods": [clean(row) for row in found["periods"] or []]}


def customers(ctx: Context) -> dict:
    period = ctx.args["period"] or "month"
    span = period_range(ctx, period)
    # the (user, country) pairs paid in the period (paid-at index); new when the pair's first paid instant (a column
    # of each row) is not before the period: the period's payments only, no lookup into any payer's history
    rows = ctx.rows(
        "with payers as (select distinct user_id, country, payer_first_paid_at from "
        f"    {one_pass.paid_rows('user_id, country, payer_first_paid_at', 'is_succeeded')} as paid) "
        "select country, count(*) as paying, count(*) filter (where payer_first_paid_at is null "
        "    or payer_first_paid_at >= %(start)s::date::timestamptz) as new "
        "from payers group by country order by paying desc, country", window(span))
    paying = sum(row["paying"] for row in rows)
    new = sum(row["new"] for row in rows)
    return {"period": period, "range": span.as_dict(), "paying_customers": paying, "new_customers": new,
            "returning_customers": paying - new,
            "by_country": [{"country": row["country"], "paying_customers": row["paying"], "new_customers": row["new"],
                            "returning_customers": row["paying"] - row["new"]} for row in rows if row["paying"]]}


def monthly_report(ctx: Context) -> Any:
    from meridian.serve.api.report_jobs import payments_report_html

    month = ctx.args["month"] or ctx.as_of.replace(day=1)
    end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    span = DateRange(month, end)
    if (ctx.args["format"] or "json") == "html":
        return payments_report_html(ctx, month)
    found = range_figures(ctx, span, {
        **STATS,
        "top_resources": "(select json_agg(top order by top.rank, top.resource) from (select resource, "
                         "payments_succeeded, revenue, unique_payers, rank from marts.fct_resource_revenue_monthly "
                         "where tenant_id = %(tenant)s and revenue_month = %(month)s "
                         "order by rank, resource limit 10) as top)",
        "retries": "(select to_json(month_retries) from marts.fct_payment_retries_monthly as month_retries "
                   "where tenant_id = %(tenant)s and invoice_month = %(month)s)",
        "refunds": "(select to_json(month_refunds) from (select refunds, refund_count, gross_revenue, net_revenue "
                   "from marts.fct_monthly_revenue where tenant_id = %(tenant)s and revenue_month = %(month)s) "
                   "as month_refunds)"}, one_pass.STATS_RANGE_COLUMNS, month=month)
    total, methods = _stats(found)
    retry = found["retries"]
    return {"month": month.isoformat()[:7], "range": span.as_dict(), "currency": ctx.currency,
            "is_complete": end <= ctx.as_of, **total, "by_method": methods, "failure_reasons": _reasons(found),
            "top_resources": [clean(row) for row in found.get("top_resources") or []],
            "retries": clean(retry) if retry else None,
            "refunds": {key: num(value) for key, value in (found["refunds"] or {}).items()}}
