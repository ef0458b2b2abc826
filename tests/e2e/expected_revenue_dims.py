"""Pure-Python reference of fct_revenue_by_period and fct_plan_revenue_monthly.

Read from docs/metrics.md ("Succeeded payment", "Subscription MRR", the two marts) and the
interpretation choices documented on the dbt models, computed from the accepted source
rows of :func:`tests.e2e.expected.accepted_rows` without SQL. Helpers (covered range,
customer MRR at an instant, date arithmetic) are imported from ``expected.py``.

Readings taken (the dbt models document the same ones):

1.  Everything ends at the end of the as-of date: payments created, refunds created,
    payments succeeded and subscription events occurred before that instant count.
    Rows are the periods of the tenant's covered range (``covered_ranges``), and
    measures count only on days inside that range.
2.  A succeeded payment (status succeeded or refunded) counts on the UTC date of its
    settled_at, or of its created_at when settled_at is null. payment_count counts
    payment rows by created_at date; refunds count on their own created_at.
3.  Periods: day, week (Monday), month, quarter, year; period_end is exclusive (the next
    period's start). A period's mrr is the tenant's MRR (sum of customer MRR rounded per
    customer) at the end of its last day, or of the as-of date for the period in progress.
4.  new_revenue of a period: its succeeded payments whose payer's first succeeded payment
    falls in the same period (of the same type).
5.  Plans: per tenant, its accepted plans plus every plan id its subscription events
    reference. A subscription's state at instant t is that of its last event (ordered by
    occurred_at, received_at, id) with occurred_at < t; it is active at a month end when
    that status is active or past_due, and its MRR is amount × quantity (/ 12 yearly;
    0 for an unknown plan), summed exactly per plan and rounded once to the cent.
6.  new_subscriptions: a subscription's first event with status active, in the month of
    its occurred_at, on that event's plan. canceled_subscriptions: events with status
    canceled whose previous event (if any) was not canceled, distinct subscriptions per
    month and plan of the event.
7.  Plan gross_revenue: succeeded payments on a known subscription, in the month they
    succeeded, on the plan of the subscription's last event with occurred_at at or
    before the payment's created_at (the first event's plan if there is none).
8.  MRR forecast (the method documented on fct_mrr_forecast): base month = the last
    month whose last day is on or before as-of; growth rates net_new / starting over the
    6 months ending with it where starting > 0; mean and sample standard deviation
    rounded to 6 decimals; forecast base × (1 + mean)^k, bounds base × max(0, 1 + mean ∓
    sd)^k, k = 1..6, rounded to the cent. Month-end MRR comes from
    ``expected.mrr_movements`` (ending = Σ mrr, starting = Σ previous_mrr).
9.  MRR movements of a period (every type): each customer's MRR at the end of the period
    (as for mrr) against the start of its first day, classified as fct_mrr_movements:
    previous 0 and now > 0 is reactivation when the customer had MRR > 0 at the end of a
    month whose last day is before the period, else new; new and reactivation count
    the end MRR, expansion / contraction the difference, churn the start MRR.
10. Plans, renewals: a subscription's succeeded payments in order of succeeded_at, then
    id; every one but the first renews the subscription in the month it succeeded, on
    the plan of that payment (as for gross revenue), counted once per month and plan.
    churn_rate = canceled / the previous month's active_subscriptions (4 decimals; null
    in the first month or when none were active); arr = mrr × 12; clv = mrr / active /
    churn_rate rounded to the cent (null when either is 0 or null).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from tests.e2e import expected
from tests.e2e.expected import (
    MRR_STATUSES,
    SUCCEEDED_PAYMENT,
    Accepted,
    MrrCalculator,
    covered_ranges,
    end_of_day,
    month_end_instant,
    mrr_movements,
    start_of_day,
    utc_date,
)
from tests.e2e.expected_calc import (
    PERIOD_TYPES,
    add_months,
    cents_to_units,
    month_start,
    next_period_start,
    period_start,
    rate,
    round_half_up,
)

ZERO = Decimal("0.00")


def _succeeded_at(payment: dict[str, Any]) -> datetime:
    return payment["settled_at"] if payment["settled_at"] is not None else payment["created_at"]


def _succeeded_payments(accepted: Accepted, as_of: date) -> list[dict[str, Any]]:
    """Accepted payments created and succeeded before the end of as-of."""
    end = end_of_day(as_of)
    return [
        payment
        for payment in accepted.get("payments", ())
        if payment["status"] in SUCCEEDED_PAYMENT and payment["created_at"] < end and _succeeded_at(payment) < end
    ]


def revenue_by_period(accepted: Accepted, as_of: date) -> dict[tuple[str, str, date], dict[str, Any]]:
    """{(tenant_id, period_type, period_start): the fct_revenue_by_period measures}."""
    end = end_of_day(as_of)
    ranges = covered_ranges(accepted, as_of)
    # per tenant and day: [gross cents, refund cents, refund count, attempts, succeeded]
    daily: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    succeeded = _succeeded_payments(accepted, as_of)
    first_payment: dict[tuple[str, str], date] = {}
    for payment in succeeded:
        day = utc_date(_succeeded_at(payment))
        daily[(payment["tenant_id"], day)][0] += payment["amount_cents"]
        daily[(payment["tenant_id"], day)][4] += 1
        key = (payment["tenant_id"], payment["user_id"])
        first_payment[key] = min(first_payment.get(key, day), day)
    for payment in accepted.get("payments", ()):
        if payment["created_at"] < end:
            daily[(payment["tenant_id"], utc_date(payment["created_at"]))][3] += 1
    for refund in accepted.get("refunds", ()):
        if refund["created_at"] < end:
            daily[(refund["tenant_id"], utc_date(refund["created_at"]))][1] += refund["amount_cents"]
            daily[(refund["tenant_id"], utc_date(refund["created_at"]))][2] += 1

    new_cents: dict[tuple[str, str, date], int] = defaultdict(int)
    for payment in succeeded:
        day = utc_date(_succeeded_at(payment))
        first = first_payment[(payment["tenant_id"], payment["user_id"])]
        for period_type in PERIOD_TYPES:
            start = period_start(period_type, day)
            if start == period_start(period_type, first):
                new_cents[(payment["tenant_id"], period_type, start)] += payment["amount_cents"]

    calculator = MrrCalculator(accepted)
    first_paying_month_end = _first_paying_month_ends(calculator, ranges, as_of)
    out: dict[tuple[str, str, date], dict[str, Any]] = {}
    for tenant, (first_day, last_day) in sorted(ranges.items()):
        for period_type in PERIOD_TYPES:
            start = period_start(period_type, first_day)
            while start <= last_day:
                period_end = next_period_start(period_type, start)
                measured_on = min(period_end - timedelta(days=1), as_of)
                totals = [0, 0, 0, 0, 0]
                day = max(start, first_day)
                while day < period_end and day <= last_day:
                    for index, value in enumerate(daily.get((tenant, day), ())):
                        totals[index] += value
                    day += timedelta(days=1)
                at_end = {u: v for (t, u), v in calculator.at(end_of_day(measured_on)).items() if t == tenant}
                at_start = {u: v for (t, u), v in calculator.at(start_of_day(start)).items() if t == tenant}
                mrr = sum(at_end.values(), ZERO)
                moved = dict.fromkeys(("new", "expansion", "reactivation", "contraction", "churn"), ZERO)
                for user in at_end.keys() | at_start.keys():
                    now, before = at_end.get(user, ZERO), at_start.get(user, ZERO)
                    paid = first_paying_month_end.get((tenant, user))
                    movement = expected._movement(now, before, paid is not None and paid < start)
                    if movement in moved:
                        moved[movement] += now if movement in ("new", "reactivation") else abs(now - before)
                out[(tenant, period_type, start)] = {
                    "period_end": period_end,
                    "total_revenue": cents_to_units(totals[0]),
                    "refund_amount": cents_to_units(totals[1]),
                    "refund_count": totals[2],
                    "net_revenue": cents_to_units(totals[0] - totals[1]),
                    "payment_count": totals[3],
                    "payment_success_count": totals[4],
                    "new_revenue": cents_to_units(new_cents.get((tenant, period_type, start), 0)),
                    "mrr": mrr,
                    "arr": mrr * 12,
                    "new_mrr": moved["new"],
                    "expansion_mrr": moved["expansion"],
                    "reactivation_mrr": moved["reactivation"],
                    "contraction_mrr": moved["contraction"],
                    "churned_mrr": moved["churn"],
                }
                start = period_end
    return out


def _first_paying_month_ends(
    calculator: MrrCalculator, ranges: dict[str, tuple[date, date]], as_of: date
) -> dict[tuple[str, str], date]:
    """{(tenant_id, user_id): the first day, ending a month (or the as-of date), at whose end MRR was > 0}."""
    out: dict[tuple[str, str], date] = {}
    for tenant, (first_day, _last_day) in ranges.items():
        month = month_start(first_day)
        while month <= as_of:
            measured_on = min(add_months(month, 1) - timedelta(days=1), as_of)
            for (t, user), value in calculator.at(end_of_day(measured_on)).items():
                if t == tenant and value > 0 and (t, user) not in out:
                    out[(t, user)] = measured_on
            month = add_months(month, 1)
    return out


def _timelines(accepted: Accepted, as_of: date) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Subscription events that occurred before the end of as-of, per (tenant, subscription), in order."""
    end = end_of_day(as_of)
    timelines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in accepted.get("subscription_events", ()):
        if event["occurred_at"] < end:
            timelines[(event["tenant_id"], event["subscription_id"])].append(event)
    return {
        key: sorted(events, key=lambda e: (e["occurred_at"], e["received_at"], e["id"]))
        for key, events in timelines.items()
    }


def plan_revenue_monthly(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str], dict[str, Any]]:
    """{(tenant_id, revenue_month, plan_id): the fct_plan_revenue_monthly measures}."""
    calculator = MrrCalculator(accepted)  # for the plan prices (subscription_mrr_cents)
    plans = {(plan["tenant_id"], plan["id"]): plan for plan in accepted.get("plans", ())}
    timelines = _timelines(accepted, as_of)
    plan_ids: dict[str, set[str]] = defaultdict(set)
    for tenant, plan_id in plans:
        plan_ids[tenant].add(plan_id)
    for (tenant, _subscription), events in timelines.items():
        plan_ids[tenant].update(event["plan_id"] for event in events)

    new: dict[tuple[str, date, str], set[str]] = defaultdict(set)
    canceled: dict[tuple[str, date, str], set[str]] = defaultdict(set)
    for (tenant, subscription), events in timelines.items():
        first_active = next((event for event in events if event["status"] == "active"), None)
        if first_active is not None:
            new[(tenant, month_start(utc_date(first_active["occurred_at"])), first_active["plan_id"])].add(subscription)
        previous_status = None
        for event in events:
            if event["status"] == "canceled" and previous_status != "canceled":
                canceled[(tenant, month_start(utc_date(event["occurred_at"])), event["plan_id"])].add(subscription)
            previous_status = event["status"]

    gross: dict[tuple[str, date, str], int] = defaultdict(int)
    renewed: dict[tuple[str, date, str], set[str]] = defaultdict(set)
    paid_subscriptions: set[tuple[str, str]] = set()
    payments = sorted(_succeeded_payments(accepted, as_of), key=lambda p: (_succeeded_at(p), p["id"]))
    for payment in payments:
        events = timelines.get((payment["tenant_id"], payment["subscription_id"]))
        if not events:
            continue
        before = [event for event in events if event["occurred_at"] <= payment["created_at"]]
        plan_id = (before[-1] if before else events[0])["plan_id"]
        month = month_start(utc_date(_succeeded_at(payment)))
        gross[(payment["tenant_id"], month, plan_id)] += payment["amount_cents"]
        subscription = (payment["tenant_id"], payment["subscription_id"])
        if subscription in paid_subscriptions:
            renewed[(payment["tenant_id"], month, plan_id)].add(payment["subscription_id"])
        paid_subscriptions.add(subscription)

    out: dict[tuple[str, date, str], dict[str, Any]] = {}
    for tenant, (first_day, _last_day) in sorted(covered_ranges(accepted, as_of).items()):
        month = month_start(first_day)
        while month <= as_of:
            instant = month_end_instant(month, as_of)
            active: dict[str, int] = defaultdict(int)
            mrr_cents: dict[str, Fraction] = defaultdict(Fraction)
            for (event_tenant, _subscription), events in timelines.items():
                in_force = [event for event in events if event["occurred_at"] < instant]
                if event_tenant != tenant or not in_force or in_force[-1]["status"] not in MRR_STATUSES:
                    continue
                state = in_force[-1]
                active[state["plan_id"]] += 1
                mrr_cents[state["plan_id"]] += calculator.subscription_mrr_cents(
                    tenant,
                    _State(state["status"], state["plan_id"], state["quantity"]),
                )
            for plan_id in sorted(plan_ids[tenant]):
                key = (tenant, month, plan_id)
                plan = plans.get((tenant, plan_id))
                mrr = cents_to_units(mrr_cents.get(plan_id, Fraction(0)))
                previous = out.get((tenant, add_months(month, -1), plan_id))
                starting = previous["active_subscriptions"] if previous else 0
                churned = len(canceled.get(key, ()))
                out[key] = {
                    "plan_name": plan["name"] if plan else None,
                    "active_subscriptions": active.get(plan_id, 0),
                    "new_subscriptions": len(new.get(key, ())),
                    "canceled_subscriptions": churned,
                    "mrr": mrr,
                    "gross_revenue": cents_to_units(gross.get(key, 0)),
                    "renewed_subscriptions": len(renewed.get(key, ())),
                    "churn_rate": rate(churned, starting),
                    "arr": mrr * 12,
                    "clv": (
                        round_half_up(Fraction(mrr) / active[plan_id] / Fraction(churned, starting), 2)
                        if starting and churned and active.get(plan_id) else None
                    ),
                }
            month = add_months(month, 1)
    return out


def mrr_forecast(accepted: Accepted, as_of: date) -> dict[tuple[str, date], dict[str, Any]]:
    """{(tenant_id, forecast_month): forecast_mrr, bounds, base and growth figures}."""
    starting: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    ending: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for (tenant, month, _user), (mrr, previous, _movement) in mrr_movements(accepted, as_of).items():
        starting[(tenant, month)] += previous
        ending[(tenant, month)] += mrr
    base_month = add_months(month_start(as_of + timedelta(days=1)), -1)
    out: dict[tuple[str, date], dict[str, Any]] = {}
    with localcontext() as context:
        context.prec = 40
        for tenant, (first_day, _last_day) in sorted(covered_ranges(accepted, as_of).items()):
            rates = []
            for back in range(6):
                month = add_months(base_month, -back)
                if month >= month_start(first_day) and starting[(tenant, month)] > 0:
                    rates.append((ending[(tenant, month)] - starting[(tenant, month)]) / starting[(tenant, month)])
            mean = round_half_up(sum(rates, Decimal(0)) / len(rates), 6) if rates else Decimal(0)
            if len(rates) > 1:
                average = sum(rates, Decimal(0)) / len(rates)
                variance = sum(((rate - average) ** 2 for rate in rates), Decimal(0)) / (len(rates) - 1)
                spread = round_half_up(variance.sqrt(), 6)
            else:
                spread = Decimal(0)
            base = ending[(tenant, base_month)] if base_month >= month_start(first_day) else ZERO
            for ahead in range(1, 7):
                out[(tenant, add_months(base_month, ahead))] = {
                    "months_ahead": ahead,
                    "base_month": base_month,
                    "base_mrr": round_half_up(base, 2),
                    "history_months": len(rates),
                    "growth_rate": mean,
                    "growth_rate_stddev": spread,
                    "forecast_mrr": round_half_up(base * (1 + mean) ** ahead, 2),
                    "lower_bound_mrr": round_half_up(base * max(1 + mean - spread, Decimal(0)) ** ahead, 2),
                    "upper_bound_mrr": round_half_up(base * (1 + mean + spread) ** ahead, 2),
                }
    return out


class _State:
    """The fields of a subscription state that ``MrrCalculator.subscription_mrr_cents`` reads."""

    def __init__(self, status: str, plan_id: str, quantity: int) -> None:
        self.status = status
        self.plan_id = plan_id
        self.quantity = quantity


def revenue_by_country_monthly(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str], dict[str, Any]]:
    """{(tenant_id, revenue_month, country): the fct_revenue_by_country_monthly measures} for the months
    with a succeeded payment or a refund (the user's country, ZZ when unknown; a refund under the
    country of the refunded payment's user)."""
    end = end_of_day(as_of)
    countries = {(user["tenant_id"], user["id"]): user["country"] or "ZZ" for user in accepted.get("users", ())}
    payers = {(payment["tenant_id"], payment["id"]): payment["user_id"] for payment in accepted.get("payments", ())}
    cells: dict[tuple[str, date, str], list] = defaultdict(lambda: [0, 0, 0, set()])  # payments, gross, refunds
    for payment in _succeeded_payments(accepted, as_of):
        country = countries.get((payment["tenant_id"], payment["user_id"]), "ZZ")
        cell = cells[(payment["tenant_id"], month_start(utc_date(_succeeded_at(payment))), country)]
        cell[0] += 1
        cell[1] += payment["amount_cents"]
        cell[3].add(payment["user_id"])
    for refund in accepted.get("refunds", ()):
        if refund["created_at"] < end:
            user = payers.get((refund["tenant_id"], refund["payment_id"]))
            country = countries.get((refund["tenant_id"], user), "ZZ")
            cells[(refund["tenant_id"], month_start(utc_date(refund["created_at"])), country)][2] += refund["amount_cents"]
    month_gross: dict[tuple[str, date], int] = defaultdict(int)
    for (tenant, month, _), cell in cells.items():
        month_gross[(tenant, month)] += cell[1]
    return {
        key: {
            "payments_succeeded": cell[0],
            "gross_revenue": cents_to_units(cell[1]),
            "refunds": cents_to_units(cell[2]),
            "net_revenue": cents_to_units(cell[1] - cell[2]),
            "unique_payers": len(cell[3]),
            "share_of_gross_rate": rate(cell[1], month_gross[key[:2]]),
        }
        for key, cell in cells.items()
    }
