"""Known values of the reference implementation for the columns of issue 14 (part B), on tiny hand-made inputs.

The eight-step onboarding funnel with average times, matches and LTV per cohort user with the cohort
benchmarks over three monthly cohorts, MRR movements of every period type, and plan renewals,
cancellations, churn, ARR and CLV. The e2e tests compare the marts with the same functions on generated
data; these pin the functions themselves to hand-computed figures.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from . import expected as ex
from . import expected_revenue_dims as rd
from .test_expected_unit import PLANS, at, event, events, row, sources_with, sub_event


def users(*ids_and_signups: tuple[str, str]) -> list[dict[str, Any]]:
    return [row("users", id=user, signup_at=at(signup), updated_at=at(signup)) for user, signup in ids_and_signups]


def paid(pid: str, user: str, sub: str | None, created: str, cents: int = 1000, status: str = "succeeded") -> dict:
    created_at = at(created)
    return row(
        "payments",
        id=pid,
        user_id=user,
        subscription_id=sub,
        invoice_id=f"inv-{pid}",
        amount_cents=cents,
        status=status,
        created_at=created_at,
        settled_at=created_at if status in ("succeeded", "refunded") else None,
        failure_reason="card_declined" if status == "failed" else None,
        updated_at=created_at,
    )


# --------------------------------------------------------------------------- the onboarding funnel


def test_eight_step_onboarding_funnel_with_first_session_and_average_times() -> None:
    as_of = date(2024, 3, 31)
    accepted = ex.accepted_rows(
        sources_with(
            users=users(("u1", "2024-01-01 10:00"), ("u2", "2024-01-02 09:00")),
            events=events(
                # u1: registers in its first session; the next session (gap > 30 min) is its first_session
                ("a1", "u1", "2024-01-01 10:00", "app_open"),
                ("a2", "u1", "2024-01-01 10:01", "registration_start"),
                ("a3", "u1", "2024-01-01 10:03", "registration_complete"),
                ("a4", "u1", "2024-01-01 12:00", "app_open"),
                ("a5", "u1", "2024-01-01 12:10", "match_created"),
                ("a6", "u1", "2024-01-01 12:20", "message_sent"),
                ("a7", "u1", "2024-01-01 12:21", "subscription_view"),
                ("a8", "u1", "2024-01-01 12:22", "subscription_purchase"),
                # u2: a match in the registration session does not count: first_session comes first
                ("b1", "u2", "2024-01-02 09:00", "app_open"),
                ("b2", "u2", "2024-01-02 09:00:30", "registration_start"),
                ("b3", "u2", "2024-01-02 09:01", "registration_complete"),
                ("b4", "u2", "2024-01-02 09:20", "match_created"),
                ("b5", "u2", "2024-01-03 09:00", "app_open"),
                ("b6", "u2", "2024-01-03 09:05", "match_created"),
            ),
        ),
        [],
        as_of,
    )
    assert [step for step in ex.ONBOARDING.steps] == [
        "app_open", "registration_start", "registration_complete", "session_started",
        "match_created", "message_sent", "subscription_view", "subscription_purchase",
    ]
    progress = ex.funnel_progress(accepted, as_of, ex.ONBOARDING)
    assert progress[("acme", "u2")] == [
        at("2024-01-02 09:00"), at("2024-01-02 09:00:30"), at("2024-01-02 09:01"), at("2024-01-03 09:00"),
        at("2024-01-03 09:05"),
    ]
    week = date(2024, 1, 1)
    counts = ex.funnel_counts(accepted, as_of, [ex.ONBOARDING], zero_rows=False)
    assert {step: n for (_, _, _, step), n in counts.items()} == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 1, 7: 1, 8: 1}
    averages = ex.funnel_avg_seconds(accepted, as_of, [ex.ONBOARDING])
    assert {step: value for (_, _, w, step), value in averages.items() if w == week} == {
        2: Decimal("45.00"),  # (60 + 30) / 2
        3: Decimal("75.00"),  # (120 + 30) / 2
        4: Decimal("46680.00"),  # (7020 + 86340) / 2: registration to the next session's start
        5: Decimal("450.00"),  # (600 + 300) / 2
        6: Decimal("600.00"),
        7: Decimal("60.00"),
        8: Decimal("60.00"),
    }


# --------------------------------------------------------------------------- three monthly cohorts


def test_three_monthly_cohorts_matches_ltv_and_benchmarks() -> None:
    as_of = date(2024, 3, 31)
    accepted = ex.accepted_rows(
        sources_with(
            users=users(
                ("a", "2024-01-05 08:00"), ("b", "2024-01-20 08:00"),  # January
                ("c", "2024-02-03 08:00"),  # February
                ("d", "2024-03-10 08:00"), ("e", "2024-03-11 08:00"),  # March (e never comes back)
            ),
            events=[
                event("a1", "a", "2024-01-05 09:00"),
                event("a2", "a", "2024-01-06 09:00", "match_created"),
                event("a3", "a", "2024-01-06 09:01", "match_created"),
                event("a4", "a", "2024-02-10 09:00"),
                event("a5", "a", "2024-02-11 09:00", "match_created"),
                event("b1", "b", "2024-01-20 09:00"),
                event("b2", "b", "2024-03-02 09:00", "match_created"),
                event("c1", "c", "2024-02-03 09:00"),
                event("c2", "c", "2024-02-04 09:00", "match_created"),
                event("c3", "c", "2024-03-05 09:00"),
                event("d1", "d", "2024-03-10 09:00"),
                event("d2", "d", "2024-03-10 09:05", "match_created"),
            ],
            payments=[
                paid("p1", "a", None, "2024-01-07 10:00", 1000),
                paid("p2", "a", None, "2024-02-07 10:00", 1000),
                paid("p3", "b", None, "2024-03-03 10:00", 2000),
                paid("p4", "c", None, "2024-02-05 10:00", 500),
                paid("p5", "d", None, "2024-03-12 10:00", 1500, status="refunded"),  # succeeded first: counts
                paid("p6", "e", None, "2024-03-12 10:00", 999, status="failed"),
            ],
        ),
        [],
        as_of,
    )
    months = {(start, n): v for (_, g, start, n), v in ex.retention_cohorts(accepted, as_of).items() if g == "month"}
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    assert months == {(jan, 0): (2, 2), (jan, 1): (2, 1), (jan, 2): (2, 1), (feb, 0): (1, 1), (feb, 1): (1, 1),
                      (mar, 0): (2, 1)}
    matches = {(s, n): v for (_, g, s, n), v in ex.retention_matches(accepted, as_of).items() if g == "month"}
    assert matches == {(jan, 0): Decimal("1.0000"), (jan, 1): Decimal("0.5000"), (jan, 2): Decimal("0.5000"),
                       (feb, 0): Decimal("1.0000"), (feb, 1): Decimal("0.0000"), (mar, 0): Decimal("0.5000")}
    ltv = {(s, n): v for (_, g, s, n), v in ex.cohort_ltv_to_date(accepted, as_of).items() if g == "month"}
    assert ltv == {(jan, 0): Decimal("5.00"), (jan, 1): Decimal("10.00"), (jan, 2): Decimal("20.00"),
                   (feb, 0): Decimal("5.00"), (feb, 1): Decimal("5.00"), (mar, 0): Decimal("7.50")}
    benchmarks = {n: v for (_, g, n), v in ex.cohort_benchmarks(accepted, as_of).items() if g == "month"}
    assert benchmarks[0] == {
        "cohorts": 3,
        "avg_retention_rate": Decimal("0.8333"),  # (1 + 1 + 0.5) / 3
        "pooled_retention_rate": Decimal("0.8000"),  # 4 of 5 users
        "median_retention_rate": Decimal("1.0000"),
        "best_cohort_start": jan,  # tied with February: the earliest
        "best_retention_rate": Decimal("1.0000"),
        "worst_cohort_start": mar,
        "worst_retention_rate": Decimal("0.5000"),
        "avg_cumulative_revenue_per_user": Decimal("5.83"),  # (5 + 5 + 7.50) / 3
    }
    assert benchmarks[1] == {
        "cohorts": 2,
        "avg_retention_rate": Decimal("0.7500"),
        "pooled_retention_rate": Decimal("0.6667"),  # 2 of 3
        "median_retention_rate": Decimal("0.7500"),
        "best_cohort_start": feb,
        "best_retention_rate": Decimal("1.0000"),
        "worst_cohort_start": jan,
        "worst_retention_rate": Decimal("0.5000"),
        "avg_cumulative_revenue_per_user": Decimal("7.50"),  # (10 + 5) / 2
    }
    assert benchmarks[2]["cohorts"] == 1 and benchmarks[2]["best_cohort_start"] == jan
    assert benchmarks[2]["avg_cumulative_revenue_per_user"] == Decimal("20.00")
    weeks = {(n, v["cohorts"]) for (_, g, n), v in ex.cohort_benchmarks(accepted, as_of).items() if g == "week"}
    assert (0, 5) in weeks  # five weekly cohorts with signups (every user signed up in a different week)


# --------------------------------------------------------------------------- MRR movements per period


def test_mrr_movements_of_every_period_type() -> None:
    as_of = date(2024, 3, 5)
    accepted = ex.accepted_rows(
        sources_with(
            users=users(("u1", "2024-01-01"), ("u2", "2024-01-01")),
            plans=PLANS,
            subscription_events=[
                sub_event("a1", "u1", "s1", "2024-01-10 08:00", "active", event_type="activated"),
                sub_event("a2", "u1", "s1", "2024-01-20 08:00", "active", plan="pro"),
                sub_event("a3", "u1", "s1", "2024-02-03 08:00", "canceled", plan="pro", event_type="canceled"),
                sub_event("a4", "u1", "s1", "2024-03-02 08:00", "active", event_type="reactivated"),
                # u2 pays from Jan 5 to Jan 8 and again from Jan 12: never at a month end in between
                sub_event("b1", "u2", "s2", "2024-01-05 08:00", "active", event_type="activated"),
                sub_event("b2", "u2", "s2", "2024-01-08 08:00", "canceled", event_type="canceled"),
                sub_event("b3", "u2", "s2", "2024-01-12 08:00", "active", event_type="reactivated"),
            ],
        ),
        [],
        as_of,
    )
    periods = rd.revenue_by_period(accepted, as_of)
    columns = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")

    def moved(period_type: str, start: str) -> tuple[str, ...]:
        return tuple(str(periods[("acme", period_type, date.fromisoformat(start))][c]) for c in columns)

    assert moved("day", "2024-01-10") == ("10.00", "0.00", "0.00", "0.00", "0.00")
    assert moved("day", "2024-01-20") == ("0.00", "10.00", "0.00", "0.00", "0.00")
    assert moved("day", "2024-01-08") == ("0.00", "0.00", "0.00", "0.00", "10.00")
    assert moved("day", "2024-01-12") == ("10.00", "0.00", "0.00", "0.00", "0.00")  # new again, not reactivation
    assert moved("day", "2024-02-03") == ("0.00", "0.00", "0.00", "0.00", "20.00")
    assert moved("day", "2024-03-02") == ("0.00", "0.00", "10.00", "0.00", "0.00")  # paid at January's end
    assert moved("week", "2024-01-08") == ("10.00", "0.00", "0.00", "0.00", "0.00")  # u2: 10 at both ends
    assert moved("month", "2024-01-01") == ("30.00", "0.00", "0.00", "0.00", "0.00")
    assert moved("month", "2024-02-01") == ("0.00", "0.00", "0.00", "0.00", "20.00")
    assert moved("month", "2024-03-01") == ("0.00", "0.00", "10.00", "0.00", "0.00")
    assert moved("quarter", "2024-01-01") == ("20.00", "0.00", "0.00", "0.00", "0.00")
    assert moved("year", "2024-01-01") == ("20.00", "0.00", "0.00", "0.00", "0.00")
    # every period's MRR = the previous one's + the movements
    for period_type in rd.PERIOD_TYPES:
        keys = sorted(key for key in periods if key[1] == period_type)
        previous = Decimal("0.00")
        for key in keys:
            value = periods[key]
            assert value["mrr"] == previous + value["new_mrr"] + value["expansion_mrr"] + value[
                "reactivation_mrr"] - value["contraction_mrr"] - value["churned_mrr"], key
            previous = value["mrr"]


# --------------------------------------------------------------------------- plan renewals and cancellations


def test_plan_renewals_cancellations_churn_arr_and_clv() -> None:
    as_of = date(2024, 3, 31)
    accepted = ex.accepted_rows(
        sources_with(
            users=users(*((f"u{n}", "2024-01-01") for n in range(1, 5))),
            plans=PLANS,
            subscription_events=[
                sub_event("a1", "u1", "s1", "2024-01-05 08:00", "active", event_type="activated"),
                sub_event("b1", "u2", "s2", "2024-01-10 08:00", "active", event_type="activated"),
                sub_event("b2", "u2", "s2", "2024-02-15 08:00", "canceled", event_type="canceled"),
                sub_event("c1", "u3", "s3", "2024-01-12 08:00", "active", event_type="activated"),
                sub_event("c2", "u3", "s3", "2024-03-20 08:00", "canceled", event_type="canceled"),
                sub_event("d1", "u4", "s4", "2024-02-01 08:00", "active", plan="pro", event_type="activated"),
                sub_event("d2", "u4", "s4", "2024-03-01 08:00", "active", plan="basic"),
            ],
            payments=[
                paid("p01", "u1", "s1", "2024-01-05 09:00"),
                paid("p02", "u1", "s1", "2024-02-05 09:00"),
                paid("p03", "u1", "s1", "2024-03-05 09:00"),
                paid("p04", "u2", "s2", "2024-01-10 09:00"),
                paid("p05", "u2", "s2", "2024-02-10 09:00"),
                paid("p06", "u3", "s3", "2024-01-12 09:00"),
                paid("p07", "u3", "s3", "2024-02-12 09:00", status="failed"),
                paid("p08", "u3", "s3", "2024-02-13 09:00"),
                paid("p09", "u3", "s3", "2024-03-12 09:00"),
                paid("p10", "u4", "s4", "2024-02-01 09:00"),  # its first payment: not a renewal
                paid("p11", "u4", "s4", "2024-03-01 09:00"),  # after the change to basic: a basic renewal
            ],
        ),
        [],
        as_of,
    )
    plans = rd.plan_revenue_monthly(accepted, as_of)
    columns = ("active_subscriptions", "new_subscriptions", "canceled_subscriptions", "renewed_subscriptions",
               "churn_rate", "mrr", "arr", "clv", "gross_revenue")

    def of(month: str, plan: str) -> tuple:
        value = plans[("acme", date.fromisoformat(month), plan)]
        return tuple(None if value[c] is None else str(value[c]) for c in columns)

    assert of("2024-01-01", "basic") == ("3", "3", "0", "0", None, "30.00", "360.00", None, "30.00")
    # February: s2 canceled of the 3 active at the start; s1, s2 and s3 (after a failed attempt) renewed
    assert of("2024-02-01", "basic") == ("2", "0", "1", "3", "0.3333", "20.00", "240.00", "30.00", "30.00")
    # March: s3 canceled of 2; renewals s1, s3 and s4 (now on basic); clv = 20 / 2 / 0.5
    assert of("2024-03-01", "basic") == ("2", "0", "1", "3", "0.5000", "20.00", "240.00", "20.00", "30.00")
    assert of("2024-02-01", "pro") == ("1", "1", "0", "0", None, "20.00", "240.00", None, "10.00")
    assert of("2024-03-01", "pro") == ("0", "0", "0", "0", "0.0000", "0.00", "0.00", None, "0.00")
