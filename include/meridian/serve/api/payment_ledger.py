"""The payment ledger (/payments/transactions): the rows of fct_accounting_transactions (charges and refunds by
booked date), newest first and cursor-paged, or the range's payments grouped by a column in one page."""

from __future__ import annotations

from datetime import datetime

from meridian.serve.api import one_pass
from meridian.serve.api.analytics import decode_cursor, encode_cursor
from meridian.serve.api.endpoint import Context, clean
from meridian.serve.api.errors import bad_parameter
from meridian.serve.api.params import DateRange
from meridian.serve.api.payments import IN_RANGE, window

GROUP_COLUMNS = {"status": "status", "method": "method", "currency": "currency", "country": "country"}


def transactions(ctx: Context) -> dict:
    span = ctx.range()
    limit = ctx.args["limit"]
    group = ctx.args["groupBy"]
    if group:
        if ctx.args["cursor"] is not None:
            raise bad_parameter("cursor", "cursor pages the ledger rows; grouped results come in one page")
        column = GROUP_COLUMNS[group]
        found = one_pass.fetch(ctx, {
            "currency": one_pass.CURRENCY,
            "groups": f"(select json_agg(grouped order by grouped.payments desc, grouped.value) from (select {column} "
                      "as value, count(*) as payments, coalesce(sum(amount), 0) as amount, coalesce(sum(amount) "
                      f"filter (where is_succeeded), 0) as succeeded_amount from marts.fct_payment_attempts where "
                      f"{IN_RANGE} group by 1 order by payments desc, 1 limit %(limit)s) as grouped)"},
            {**window(span), "limit": limit}, rows=False)
        return {"range": span.as_dict(), "group_by": group, "currency": ctx.currency,
                "groups": [clean(row) for row in found["groups"] or []], "next_cursor": None}
    page = ledger_page(ctx, span, limit)  # answers ctx.currency too
    return {"range": span.as_dict(), "currency": ctx.currency, **page}


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
    # the tenant's currency and the page in one statement (the page may be empty: a left join)
    rows = ctx.rows(
        f"select sections.section_currency, page.* from (select ({one_pass.CURRENCY})::text as section_currency) "
        f"as sections left join lateral (select {LEDGER_COLUMNS} from marts.fct_accounting_transactions "
        "where tenant_id = %(tenant)s and booked_date between %(start)s and %(end)s "
        "and (%(after_at)s::timestamptz is null or (booked_at, transaction_id) < (%(after_at)s::timestamptz, "
        "%(after_id)s)) order by booked_at desc, transaction_id desc limit %(limit)s) as page on true "
        "order by page.booked_at desc, page.transaction_id desc",
        {**window(span), "after_at": after_at, "after_id": after_id, "limit": limit + 1})
    ctx.__dict__["currency"] = one_pass.parse(rows[0]["section_currency"])
    for row in rows:
        del row["section_currency"]
    rows = [row for row in rows if row["transaction_id"] is not None]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor([rows[-1]["booked_at"].isoformat(), rows[-1]["transaction_id"]]) if more and rows else None
    return {"transactions": [clean(row) for row in rows], "next_cursor": cursor}
