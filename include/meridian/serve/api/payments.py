"""Payments (/payments/...): range statistics from the payment-level rows of fct_payment_attempts (latency
percentiles with percentile_cont over the range's payments, never averaged daily percentiles), daily and
hourly figures from fct_payments_daily / fct_payments_hourly, webhooks, resources, and the ledger rows of
fct_accounting_transactions (charges and refunds by booked date, cursor-paged)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from meridian.serve.api.analytics import decode_cursor, encode_cursor
from meridian.serve.api.endpoint import Context, clean, money, num, ratio_pct
from meridian.serve.api.errors import bad_parameter
from meridian.serve.api.kpis import as_of_instant
from meridian.serve.api.params import DateRange

SUMMARY_SELECT = """
    count(*) as attempts,
    count(*) filter (where is_succeeded) as succeeded,
    count(*) filter (where status = 'failed') as failed,
    count(*) filter (where status = 'pending') as pending,
    coalesce(sum(amount) filter (where is_succeeded), 0) as volume,
    count(distinct user_id) filter (where is_succeeded) as unique_payers,
    avg(latency_ms) as latency_avg_ms,
    percentile_cont(0.5) within group (order by latency_ms) as latency_p50_ms,
    percentile_cont(0.95) within group (order by latency_ms) as latency_p95_ms,
    percentile_cont(0.99) within group (order by latency_ms) as latency_p99_ms
"""
IN_RANGE = "tenant_id = %(tenant)s and created_at >= %(start)s::date and created_at < %(end)s::date + 1"
PERIODS = {"today": 1, "week": 7, "month": 30}


def _summary(row: dict) -> dict:
    succeeded, failed = row["succeeded"], row["failed"]
    return {
        "attempts": row["attempts"],
        "succeeded": succeeded,
        "failed": failed,
        "pending": row["pending"],
        "success_rate": ratio_pct(succeeded, succeeded + failed),
        "volume": money(row["volume"]),
        "avg_value": round(float(row["volume"]) / succeeded, 2) if succeeded else None,
        "unique_payers": row["unique_payers"],
        "latency_ms": {key: None if row[f"latency_{key}_ms"] is None else round(float(row[f"latency_{key}_ms"]), 2)
                       for key in ("avg", "p50", "p95", "p99")},
    }


def window(span: DateRange) -> dict:
    return {"start": span.start, "end": span.end}


def summary(ctx: Context, span: DateRange) -> dict:
    return _summary(ctx.one(f"select {SUMMARY_SELECT} from marts.fct_payment_attempts where {IN_RANGE}", window(span)))


def by_method(ctx: Context, span: DateRange) -> list[dict]:
    rows = ctx.rows(f"select method, {SUMMARY_SELECT} from marts.fct_payment_attempts where {IN_RANGE} "
                    "group by method order by method", window(span))
    total = sum(float(row["volume"]) for row in rows)
    return [{"method": row["method"], **_summary(row), "share_of_volume": ratio_pct(row["volume"], total)}
            for row in rows]


def failure_reasons(ctx: Context, span: DateRange) -> list[dict]:
    rows = ctx.rows("select coalesce(failure_reason, '(none)') as failure_reason, count(*) as failures "
                    f"from marts.fct_payment_attempts where {IN_RANGE} and status = 'failed' "
                    "group by 1 order by failures desc, 1", window(span))
    total = sum(row["failures"] for row in rows)
    return [{**row, "share": ratio_pct(row["failures"], total)} for row in rows]


def retries(ctx: Context, span: DateRange) -> dict:
    row = ctx.one(
        "with invoices as (select invoice_id, count(*) as attempts, bool_or(status = 'failed') as had_failure, "
        "    bool_or(is_succeeded) as succeeded from marts.fct_payment_attempts "
        f"    where {IN_RANGE} and invoice_id is not null group by invoice_id) "
        "select count(*) as invoices, count(*) filter (where attempts > 1) as invoices_retried, "
        "count(*) filter (where had_failure) as invoices_with_failure, "
        "count(*) filter (where had_failure and succeeded) as recovered, "
        "count(*) filter (where had_failure and not succeeded) as unrecovered, avg(attempts) as avg_attempts "
        "from invoices", window(span))
    return {**clean(row), "recovery_rate": ratio_pct(row.get("recovered"), row.get("invoices_with_failure"))}


def metrics(ctx: Context) -> dict:
    span = ctx.range()
    return {"range": span.as_dict(), "currency": ctx.currency, **summary(ctx, span),
            "by_method": by_method(ctx, span), "failure_reasons": failure_reasons(ctx, span),
            "retries": retries(ctx, span)}


def period_range(ctx: Context, period: str, back: int = 0) -> DateRange:
    days = PERIODS[period]
    end = ctx.as_of - timedelta(days=days * back)
    return DateRange(end - timedelta(days=days - 1), end)


def realtime(ctx: Context) -> dict:
    instant = as_of_instant(ctx)
    hours = ctx.rows("select * from marts.fct_payments_hourly where tenant_id = %(tenant)s and hour_start >= %(day)s "
                     "and hour_start < %(end)s order by hour_start", {"day": ctx.as_of, "end": instant})
    pending = ctx.one("select count(*) as pending, coalesce(sum(amount), 0) as amount from marts.fct_payment_attempts "
                      "where tenant_id = %(tenant)s and status = 'pending'")
    recent = ctx.rows("select payment_id, created_at, settled_at, status, method, amount, currency, failure_reason "
                      "from marts.fct_payment_attempts where tenant_id = %(tenant)s "
                      "order by created_at desc, payment_id desc limit 20")
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
    return {"period": period, "range": span.as_dict(), "currency": ctx.currency, **summary(ctx, span),
            "by_method": by_method(ctx, span), "failure_reasons": failure_reasons(ctx, span)}


def _change(current: Any, previous: Any) -> dict:
    if current is None or previous is None:
        return {"current": current, "previous": previous, "change": None, "change_percent": None}
    change = round(float(current) - float(previous), 2)
    return {"current": current, "previous": previous, "change": change,
            "change_percent": round(100 * change / float(previous), 2) if previous else None}


def trend(period: str):
    def handler(ctx: Context) -> dict:
        current_span, previous_span = period_range(ctx, period), period_range(ctx, period, back=1)
        current, previous = summary(ctx, current_span), summary(ctx, previous_span)
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
    return {**clean(row), "success_rate": ratio_pct(row["succeeded"], row["succeeded"] + row["failed"])}


def _hourly_totals_by(ctx: Context, span: DateRange, part: str, name: str) -> list[dict]:
    """fct_payments_hourly over ``span`` summed by one part of the UTC hour (``hour``, ``isodow``) named ``name``."""
    return ctx.rows(
        f"select extract({part} from hour_start at time zone 'UTC')::int as {name}, sum(attempts) as attempts, "
        "sum(succeeded) as succeeded, sum(failed) as failed, sum(revenue) as revenue from marts.fct_payments_hourly "
        "where tenant_id = %(tenant)s and hour_start >= %(start)s::date and hour_start < %(end)s::date + 1 "
        "group by 1 order by 1", window(span))


def peak_times(ctx: Context) -> dict:
    span = ctx.range()
    hours = _hourly_totals_by(ctx, span, "hour", "hour")
    weekdays = _hourly_totals_by(ctx, span, "isodow", "weekday")
    peak = max(hours, key=lambda row: row["attempts"]) if hours else None
    return {"range": span.as_dict(), "currency": ctx.currency, "by_hour": [_with_success_rate(row) for row in hours],
            "by_weekday": [_with_success_rate(row) for row in weekdays],
            "weekday_numbering": "ISO: 1 = Monday … 7 = Sunday", "peak_hour": peak["hour"] if peak else None}


def _daily(ctx: Context, span: DateRange) -> list[dict]:
    rows = ctx.rows(
        "select payment_date, sum(attempts) as attempts, sum(succeeded) as succeeded, sum(failed) as failed, "
        "sum(pending) as pending, sum(revenue) as revenue from marts.fct_payments_daily where tenant_id = %(tenant)s "
        "and payment_date between %(start)s and %(end)s group by payment_date order by payment_date", window(span))
    return [_with_success_rate(row) for row in rows]


def success_rate(ctx: Context) -> dict:
    span = ctx.range()
    overall = summary(ctx, span)
    return {"range": span.as_dict(), "success_rate": overall["success_rate"], "attempts": overall["attempts"],
            "succeeded": overall["succeeded"], "failed": overall["failed"], "pending": overall["pending"],
            "by_method": [{"method": row["method"], "success_rate": row["success_rate"], "attempts": row["attempts"]}
                          for row in by_method(ctx, span)],
            "daily": _daily(ctx, span)}


def failures(ctx: Context) -> dict:
    span = ctx.range()
    daily = [{"payment_date": row["payment_date"], "failed": row["failed"]} for row in _daily(ctx, span)]
    reasons = failure_reasons(ctx, span)
    return {"range": span.as_dict(), "failures": sum(row["failures"] for row in reasons), "by_reason": reasons,
            "retries": retries(ctx, span), "daily": daily}


def latency(ctx: Context) -> dict:
    span = ctx.range()
    daily = ctx.rows(
        "select payment_date, count(latency_ms) as settled, "
        "percentile_cont(0.5) within group (order by latency_ms) as p50_ms, "
        "percentile_cont(0.95) within group (order by latency_ms) as p95_ms, "
        "percentile_cont(0.99) within group (order by latency_ms) as p99_ms "
        f"from marts.fct_payment_attempts where {IN_RANGE} group by payment_date order by payment_date", window(span))
    return {"range": span.as_dict(), "latency_ms": summary(ctx, span)["latency_ms"],
            "definition": "settled_at − created_at of succeeded payments, percentile_cont over the range's payments",
            "by_method": [{"method": row["method"], "latency_ms": row["latency_ms"]} for row in by_method(ctx, span)],
            "daily": [{key: round(float(value), 2) if key.endswith("_ms") and value is not None else
                       (value.isoformat() if isinstance(value, date) else value) for key, value in row.items()}
                      for row in daily]}


def payment_methods(ctx: Context) -> dict:
    span = ctx.range()
    return {"range": span.as_dict(), "currency": ctx.currency, "methods": by_method(ctx, span)}


def webhook_metrics(ctx: Context) -> dict:
    span = ctx.range()
    by_type = ctx.rows(
        "select event_type, sum(deliveries) as deliveries, sum(delivered) as delivered, sum(failed) as failed, "
        "sum(pending) as pending, sum(avg_attempts * deliveries) / nullif(sum(deliveries) filter "
        "(where avg_attempts is not null), 0) as avg_attempts, sum(avg_response_ms * deliveries) / "
        "nullif(sum(deliveries) filter (where avg_response_ms is not null), 0) as avg_response_ms "
        "from marts.fct_webhook_deliveries_daily where tenant_id = %(tenant)s "
        "and delivery_date between %(start)s and %(end)s group by event_type order by event_type", window(span))
    daily = ctx.rows(
        "select delivery_date, sum(deliveries) as deliveries, sum(delivered) as delivered, sum(failed) as failed, "
        "sum(pending) as pending from marts.fct_webhook_deliveries_daily where tenant_id = %(tenant)s "
        "and delivery_date between %(start)s and %(end)s group by delivery_date order by delivery_date", window(span))

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


GROUP_COLUMNS = {"status": "status", "method": "method", "currency": "currency", "country": "country"}


def transactions(ctx: Context) -> dict:
    span = ctx.range()
    limit = ctx.args["limit"]
    group = ctx.args["groupBy"]
    if group:
        if ctx.args["cursor"] is not None:
            raise bad_parameter("cursor", "cursor pages the ledger rows; grouped results come in one page")
        column = GROUP_COLUMNS[group]
        rows = ctx.rows(
            f"select {column} as value, count(*) as payments, coalesce(sum(amount), 0) as amount, "
            "coalesce(sum(amount) filter (where is_succeeded), 0) as succeeded_amount "
            f"from marts.fct_payment_attempts where {IN_RANGE} group by 1 order by payments desc, 1 limit %(limit)s",
            {**window(span), "limit": limit})
        return {"range": span.as_dict(), "group_by": group, "currency": ctx.currency,
                "groups": [clean(row) for row in rows], "next_cursor": None}
    return {"range": span.as_dict(), "currency": ctx.currency, **ledger_page(ctx, span, limit)}


LEDGER_COLUMNS = ("transaction_id, transaction_type, booked_at, booked_date, payment_id, refund_id, user_id, country, "
                  "method, resource, currency, amount, description")


def ledger_page(ctx: Context, span: DateRange, limit: int) -> dict:
    """One page of fct_accounting_transactions booked in ``span``, newest first, keyed on (booked_at, transaction_id)."""
    after = decode_cursor(ctx.args["cursor"])
    after_at, after_id = None, None
    if after is not None:
        try:
            after_at, after_id = datetime.fromisoformat(str(after[0])), str(after[1])
        except (ValueError, IndexError):
            raise bad_parameter("cursor", "cursor is not a cursor this API returned") from None
    rows = ctx.rows(
        f"select {LEDGER_COLUMNS} from marts.fct_accounting_transactions where tenant_id = %(tenant)s "
        "and booked_date between %(start)s and %(end)s and (%(after_at)s::timestamptz is null "
        "or (booked_at, transaction_id) < (%(after_at)s::timestamptz, %(after_id)s)) "
        "order by booked_at desc, transaction_id desc limit %(limit)s",
        {**window(span), "after_at": after_at, "after_id": after_id, "limit": limit + 1})
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor([rows[-1]["booked_at"].isoformat(), rows[-1]["transaction_id"]]) if more and rows else None
    return {"transactions": [clean(row) for row in rows], "next_cursor": cursor}


def top_resources(ctx: Context) -> dict:
    month = ctx.args["month"] or ctx.as_of.replace(day=1)
    rows = ctx.rows("select revenue_month, resource, payments_succeeded, revenue, unique_payers, rank "
                    "from marts.fct_resource_revenue_monthly where tenant_id = %(tenant)s and revenue_month = %(month)s "
                    "order by rank, resource limit %(limit)s", {"month": month, "limit": ctx.args["limit"]})
    return {"month": month.isoformat()[:7], "currency": ctx.currency, "resources": [clean(row) for row in rows]}


def revenue(ctx: Context) -> dict:
    span = ctx.range()
    interval = ctx.args["interval"] or "day"
    rows = ctx.rows(
        "select period_start, period_end, total_revenue as gross_revenue, refund_amount as refunds, net_revenue, "
        "payment_count as payments, payment_success_count as payments_succeeded from marts.fct_revenue_by_period "
        "where tenant_id = %(tenant)s and period_type = %(interval)s and period_end > %(start)s "
        "and period_start <= %(end)s order by period_start", {**window(span), "interval": interval})
    return {"range": span.as_dict(), "interval": interval, "currency": ctx.currency,
            "periods": [clean(row) for row in rows]}


def customers(ctx: Context) -> dict:
    period = ctx.args["period"] or "month"
    span = period_range(ctx, period)
    # the (user, country) pairs paid in the period (paid-at index); new when the pair has no earlier payment (user
    # index): the period's payments only, never the tenant's whole payment history
    rows = ctx.rows(
        "with payers as (select distinct user_id, country from marts.fct_payment_attempts "
        "    where tenant_id = %(tenant)s and is_succeeded and coalesce(settled_at, created_at) >= %(start)s::date "
        "    and coalesce(settled_at, created_at) < %(end)s::date + 1) "
        "select country, count(*) as paying, count(*) filter (where not exists ("
        "    select 1 from marts.fct_payment_attempts as earlier where earlier.tenant_id = %(tenant)s "
        "    and earlier.is_succeeded and earlier.user_id = payers.user_id "
        "    and earlier.country is not distinct from payers.country "
        "    and coalesce(earlier.settled_at, earlier.created_at) < %(start)s::date)) as new "
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
    resources = ctx.rows("select resource, payments_succeeded, revenue, unique_payers, rank "
                         "from marts.fct_resource_revenue_monthly where tenant_id = %(tenant)s "
                         "and revenue_month = %(month)s order by rank, resource limit 10", {"month": month})
    retry = ctx.one("select * from marts.fct_payment_retries_monthly where tenant_id = %(tenant)s "
                    "and invoice_month = %(month)s", {"month": month})
    return {"month": month.isoformat()[:7], "range": span.as_dict(), "currency": ctx.currency,
            "is_complete": end <= ctx.as_of, **summary(ctx, span), "by_method": by_method(ctx, span),
            "failure_reasons": failure_reasons(ctx, span), "top_resources": [clean(row) for row in resources],
            "retries": clean(retry) if retry else None, "refunds": _refunds(ctx, month)}


def _refunds(ctx: Context, month: date) -> dict:
    row = ctx.one("select refunds, refund_count, gross_revenue, net_revenue from marts.fct_monthly_revenue "
                  "where tenant_id = %(tenant)s and revenue_month = %(month)s", {"month": month})
    return {key: num(value) for key, value in row.items()}
