"""Customer health, revenue by country and LTV/CAC on a small hand-made dataset, against Python (issue 14).

Two tenants (acme in USD, globex in EUR) land in two waves as extract_sources would:
the first as of 2026-02-28 (the customer snapshot captures the versions known then),
the second as of 2026-03-31 (new customer versions, March payments and spend). The
marts are built by the real dbt models; every figure is computed again here in plain
Python from the landed rows, following docs/metrics.md, and a few are pinned by hand.

- fct_customer_health_daily: customers created and updated on different days; a
  customer counts from created_at, its state unknown before its earliest captured
  version (ca2, ca3, cg2), a churn recorded only later (cg2) ends its count anyway.
- fct_revenue_by_country_monthly: payments by users of several countries (and one
  without), a refund in a later month, failed and pending attempts not counted.
- fct_acquisition_monthly: spend on two channels per tenant (two bad spend rows are
  quarantined, not summed), CAC, the predicted LTV and LTV/CAC.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg2.extras
import pytest

from meridian import db
from tests.staging.landing import Batch, dbt, land

FIRST_AS_OF = date(2026, 2, 28)
AS_OF = date(2026, 3, 31)
CURRENCY = {"acme": "USD", "globex": "EUR"}
MARTS = ("fct_customer_health_daily", "fct_revenue_by_country_monthly", "fct_acquisition_monthly")


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def _user(uid: str, tenant: str, signup: str, country: str | None, channel: str | None) -> dict:
    return {"id": uid, "tenant_id": tenant, "email": f"{uid}@example.com", "signup_at": at(signup),
            "platform": "ios", "country": country, "acquisition_channel": channel, "updated_at": at(signup)}


def _sub_event(eid: str, tenant: str, user: str, day: str, status: str, event_type: str, plan: str) -> dict:
    return {"id": eid, "tenant_id": tenant, "subscription_id": f"sub_{user}", "user_id": user,
            "event_type": event_type, "status": status, "plan_id": plan, "quantity": 1,
            "occurred_at": at(day, 10), "received_at": at(day, 10)}


def _payment(pid: str, tenant: str, user: str, day: str, cents: int, status: str) -> dict:
    settled = at(day, 10, 5) if status in ("succeeded", "refunded") else None
    return {"id": pid, "tenant_id": tenant, "user_id": user, "invoice_id": f"inv_{pid}", "subscription_id": None,
            "amount_cents": cents, "currency": CURRENCY[tenant], "method": "card", "status": status,
            "failure_reason": "card_declined" if status == "failed" else None, "attempt_number": 1,
            "resource": None, "created_at": at(day, 10), "settled_at": settled, "updated_at": at(day, 10, 5)}


def _customer(cid: str, tenant: str, created: datetime, status: str, score: int, updated: datetime,
              churned: datetime | None = None) -> dict:
    return {"id": cid, "tenant_id": tenant, "lead_id": None, "name": cid.upper(), "segment": "smb",
            "status": status, "health_score": score, "created_at": created, "churned_at": churned,
            "updated_at": updated}


def _spend(sid: str, tenant: str, channel: str, day: str, cents: int, currency: str | None = None) -> dict:
    return {"id": sid, "tenant_id": tenant, "channel": channel, "spend_date": date.fromisoformat(day),
            "amount_cents": cents, "currency": currency or CURRENCY[tenant], "updated_at": at(day, 23)}


ROWS: dict[str, list[dict]] = {
    "app__organizations": [
        {"id": t, "tenant_id": t, "name": t.title(), "currency": c, "created_at": at("2025-06-01"),
         "updated_at": at("2025-06-01")} for t, c in CURRENCY.items()
    ],
    "app__users": [
        _user("a1", "acme", "2026-01-05", "DE", "paid_social"),
        _user("a2", "acme", "2026-01-20", "FR", "paid_search"),
        _user("a3", "acme", "2026-02-10", "US", "paid_social"),
        _user("a4", "acme", "2026-02-15", None, "organic"),
        _user("g1", "globex", "2026-01-10", "IT", "paid_search"),
        _user("g2", "globex", "2026-02-03", "ES", "paid_social"),
    ],
    "billing__plans": [
        {"id": "plan_a", "tenant_id": "acme", "name": "Pro", "billing_interval": "month", "amount_cents": 1000,
         "currency": "USD", "updated_at": at("2025-06-01")},
        {"id": "plan_g", "tenant_id": "globex", "name": "Plus", "billing_interval": "month", "amount_cents": 2000,
         "currency": "EUR", "updated_at": at("2025-06-01")},
    ],
    "billing__subscription_events": [
        _sub_event("se1", "acme", "a1", "2026-01-06", "active", "activated", "plan_a"),
        _sub_event("se2", "acme", "a1", "2026-02-20", "canceled", "canceled", "plan_a"),
        _sub_event("se3", "acme", "a2", "2026-01-21", "active", "activated", "plan_a"),
        _sub_event("se4", "acme", "a3", "2026-02-11", "active", "activated", "plan_a"),
        _sub_event("se5", "globex", "g1", "2026-01-11", "active", "activated", "plan_g"),
    ],
    "billing__payments": [
        _payment("pa1", "acme", "a1", "2026-01-06", 1000, "succeeded"),
        _payment("pa2", "acme", "a2", "2026-01-21", 1000, "succeeded"),
        _payment("pa3", "acme", "a1", "2026-02-06", 1000, "refunded"),
        _payment("pa4", "acme", "a3", "2026-02-11", 1000, "succeeded"),
        _payment("pa5", "acme", "a2", "2026-02-21", 1000, "failed"),
        _payment("pa6", "acme", "a2", "2026-02-22", 1000, "succeeded"),
        _payment("pa7", "acme", "a4", "2026-03-05", 500, "pending"),
        _payment("pa8", "acme", "a3", "2026-03-11", 1000, "succeeded"),
        _payment("pa9", "acme", "a4", "2026-03-12", 250, "succeeded"),
        _payment("pg1", "globex", "g1", "2026-01-11", 2000, "succeeded"),
        _payment("pg2", "globex", "g1", "2026-02-11", 2000, "succeeded"),
        _payment("pg3", "globex", "g2", "2026-02-05", 300, "succeeded"),
        _payment("pg4", "globex", "g1", "2026-03-11", 2000, "succeeded"),
    ],
    "billing__refunds": [
        {"id": "ra1", "tenant_id": "acme", "payment_id": "pa3", "amount_cents": 400, "reason": "requested",
         "created_at": at("2026-03-02"), "updated_at": at("2026-03-02")},
    ],
    "crm__customers": [
        # acme: ca1 onboarding then at risk; ca2 first captured weeks after it was created, then churns;
        # ca3 first captured in March, three weeks after it was created
        _customer("ca1", "acme", at("2026-01-10", 12), "onboarding", 70, at("2026-01-10", 12)),
        _customer("ca1", "acme", at("2026-01-10", 12), "at_risk", 45, at("2026-03-10")),
        _customer("ca2", "acme", at("2026-01-03"), "active", 85, at("2026-02-15")),
        _customer("ca2", "acme", at("2026-01-03"), "churned", 20, at("2026-03-20", 10), at("2026-03-20", 10)),
        _customer("ca3", "acme", at("2026-02-20"), "active", 90, at("2026-03-15")),
        # globex: cg1 known from Feb 1; cg2's only version, captured in March, says it churned on Feb 10
        _customer("cg1", "globex", at("2026-01-15"), "active", 55, at("2026-02-01")),
        _customer("cg2", "globex", at("2026-01-20"), "churned", 30, at("2026-03-05"), at("2026-02-10", 8)),
    ],
    "crm__marketing_spend": [
        _spend("ms1", "acme", "paid_social", "2026-01-05", 5000),
        _spend("ms2", "acme", "paid_search", "2026-01-20", 8000),
        _spend("ms3", "acme", "paid_social", "2026-02-10", 3000),
        _spend("ms4", "acme", "paid_search", "2026-03-01", 2000),
        _spend("ms5", "globex", "paid_search", "2026-01-10", 4000),
        _spend("ms6", "globex", "paid_social", "2026-02-03", 6000),
        # quarantined: a negative amount, another tenant's currency
        _spend("ms_bad1", "acme", "paid_social", "2026-01-06", -100),
        _spend("ms_bad2", "acme", "paid_search", "2026-01-07", 700, "EUR"),
    ],
}
QUARANTINED_SPEND = {"ms_bad1": ["negative_amount"], "ms_bad2": ["currency_mismatch"]}
KEYS = {"billing__subscription_events": "received_at"}


def _wave_batches() -> dict[date, list[Batch]]:
    """Each row lands with the first run whose as-of date its extraction key falls in."""
    waves: dict[date, list[Batch]] = {FIRST_AS_OF: [], AS_OF: []}
    limit = datetime(2026, 3, 1, tzinfo=UTC)
    for table, rows in ROWS.items():
        key = KEYS.get(table, "updated_at")
        for as_of, chosen in ((FIRST_AS_OF, [r for r in rows if r[key] < limit]),
                              (AS_OF, [r for r in rows if r[key] >= limit])):
            if chosen:
                waves[as_of].append(Batch(table, chosen, as_of))
    return waves


def query(sql: str) -> list[dict]:
    with db.connection("warehouse") as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql)
        return [dict(row) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def built(staging_warehouse: Path) -> None:
    target = staging_warehouse / "dbt"
    for as_of, batches in _wave_batches().items():
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            for batch in batches:
                land(cur, batch)
            conn.commit()
        if as_of == FIRST_AS_OF:  # the snapshot captures the versions known at the first run
            dbt(["build", "--select", "+snp_crm__customers", "--exclude", "test_type:unit"], as_of, target)
    selection = [f"+{mart}" for mart in MARTS] + ["+quarantine", "+batch_outcomes"]
    dbt(["build", "--select", *selection, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
        AS_OF, target)
    # the data and unit tests of what this test reads (cautious: none that needs a model not built here)
    tested = ("base_crm__marketing_spend", "stg_crm__marketing_spend", "int_customer_states_daily", *MARTS,
              "fct_monthly_revenue", "quarantine", "batch_outcomes", "assert_revenue_by_country_sums_to_monthly_revenue")
    dbt(["test", "--select", *tested, "--indirect-selection", "cautious"], AS_OF, target)


# --------------------------------------------------------------------------- the reference, in Python


def money(cents: int | Decimal) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rounded(value: Decimal | None, places: str) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def covered_days(tenant: str) -> list[date]:
    """From the first signup, subscription event or payment to the as-of date."""
    starts = [r["signup_at"] for r in ROWS["app__users"] if r["tenant_id"] == tenant]
    starts += [r["occurred_at"] for r in ROWS["billing__subscription_events"] if r["tenant_id"] == tenant]
    starts += [r["created_at"] for r in ROWS["billing__payments"] if r["tenant_id"] == tenant]
    first = min(starts).date()
    return [first + timedelta(days=n) for n in range((AS_OF - first).days + 1)]


def covered_months(tenant: str) -> list[date]:
    return sorted({month_of(day) for day in covered_days(tenant)})


def expected_health() -> dict[tuple[str, date], dict[str, Any]]:
    versions: dict[str, list[dict]] = defaultdict(list)
    for row in ROWS["crm__customers"]:
        versions[row["id"]].append(row)
    out = {}
    for tenant in CURRENCY:
        for day in covered_days(tenant):
            began, end = day_start(day), day_start(day + timedelta(days=1))
            month_began = day_start(month_of(day))
            figures = dict.fromkeys(("total_customers", "active", "onboarding", "at_risk", "churned_this_month",
                                     "healthy", "stable", "at_risk_band", "critical", "churned",
                                     "customers_with_known_state"), 0)
            scores = []
            for history in versions.values():
                history = sorted(history, key=lambda v: v["updated_at"])
                if history[0]["tenant_id"] != tenant or history[0]["created_at"] >= end:
                    continue  # another tenant's, or not created yet
                # the version valid at the end of the day: the latest one updated before it
                valid = [v for v in history if v["updated_at"] < end]
                state = valid[-1] if valid else None
                reference = state or history[0]  # while the state is unknown, the earliest version tells
                churned_at = reference["churned_at"] if reference["status"] == "churned" else None
                if state is not None and state["status"] == "churned":
                    counted = churned_at is not None and churned_at >= began
                else:
                    counted = churned_at is None or churned_at >= began
                if churned_at is not None and month_began <= churned_at < end:
                    figures["churned_this_month"] += 1
                if state is not None:
                    if state["status"] in ("active", "onboarding", "at_risk", "churned"):
                        figures[state["status"]] += 1
                if not counted:
                    continue
                figures["total_customers"] += 1
                if state is None:
                    continue
                figures["customers_with_known_state"] += 1
                score = state["health_score"]
                scores.append(score)
                band = "healthy" if score >= 80 else "stable" if score >= 60 else (
                    "at_risk_band" if score >= 40 else "critical")
                figures[band] += 1
            figures["avg_health_score"] = rounded(Decimal(sum(scores)) / len(scores), "0.01") if scores else None
            out[(tenant, day)] = figures
    return out


def _succeeded(payment: dict) -> bool:
    return payment["status"] in ("succeeded", "refunded")


def expected_revenue_by_country() -> dict[tuple[str, date, str], dict[str, Any]]:
    countries = {(u["tenant_id"], u["id"]): u["country"] or "ZZ" for u in ROWS["app__users"]}
    payments = {p["id"]: p for p in ROWS["billing__payments"]}
    cells: dict[tuple[str, date, str], dict[str, Any]] = defaultdict(
        lambda: {"payments_succeeded": 0, "gross": 0, "refund": 0, "payers": set()})
    for payment in payments.values():
        if _succeeded(payment):
            cell = cells[(payment["tenant_id"], month_of(payment["settled_at"].date()),
                          countries.get((payment["tenant_id"], payment["user_id"]), "ZZ"))]
            cell["payments_succeeded"] += 1
            cell["gross"] += payment["amount_cents"]
            cell["payers"].add(payment["user_id"])
    for refund in ROWS["billing__refunds"]:
        payer = payments[refund["payment_id"]]["user_id"]
        cells[(refund["tenant_id"], month_of(refund["created_at"].date()),
               countries.get((refund["tenant_id"], payer), "ZZ"))]["refund"] += refund["amount_cents"]
    month_gross: dict[tuple[str, date], int] = defaultdict(int)
    for (tenant, month, _), cell in cells.items():
        month_gross[(tenant, month)] += cell["gross"]
    out = {}
    for key, cell in cells.items():
        whole = month_gross[key[:2]]
        out[key] = {
            "payments_succeeded": cell["payments_succeeded"], "gross_revenue": money(cell["gross"]),
            "refunds": money(cell["refund"]), "net_revenue": money(cell["gross"] - cell["refund"]),
            "unique_payers": len(cell["payers"]),
            "share_of_gross_rate": rounded(Decimal(cell["gross"]) / whole, "0.0001") if whole else None,
        }
    return out


def mrr_cents_at(tenant: str, instant: datetime) -> dict[str, int]:
    """Customer MRR (cents) at an instant: each subscription's state from its latest event before it."""
    plans = {p["id"]: p for p in ROWS["billing__plans"]}
    latest: dict[str, dict] = {}
    for event in sorted(ROWS["billing__subscription_events"], key=lambda e: e["occurred_at"]):
        if event["tenant_id"] == tenant and event["occurred_at"] < instant:
            latest[event["subscription_id"]] = event
    mrr: dict[str, int] = defaultdict(int)
    for event in latest.values():
        if event["status"] in ("active", "past_due"):
            mrr[event["user_id"]] += plans[event["plan_id"]]["amount_cents"] * event["quantity"]
    return {user: cents for user, cents in mrr.items() if cents > 0}


def month_end_instant(month: date) -> datetime:
    return min(day_start(next_month(month)), day_start(AS_OF + timedelta(days=1)))


def first_paid_at(tenant: str, user: str) -> datetime | None:
    """The first instant the user's MRR was > 0: its first subscription event into a paying state."""
    for event in sorted(ROWS["billing__subscription_events"], key=lambda e: e["occurred_at"]):
        if event["tenant_id"] == tenant and event["user_id"] == user and event["status"] in ("active", "past_due"):
            return event["occurred_at"]
    return None


def expected_acquisition(margin: Decimal = Decimal(1)) -> dict[tuple[str, date, str], dict[str, Any]]:
    out = {}
    as_of_end = day_start(AS_OF + timedelta(days=1))
    refunds_by_month: dict[tuple[str, date], int] = defaultdict(int)
    for refund in ROWS["billing__refunds"]:
        refunds_by_month[(refund["tenant_id"], month_of(refund["created_at"].date()))] += refund["amount_cents"]
    for tenant in CURRENCY:
        months = covered_months(tenant)
        net, paying, churn_rates = {}, {}, {}
        previous: dict[str, int] = {}
        for month in months:
            gross = sum(p["amount_cents"] for p in ROWS["billing__payments"]
                        if p["tenant_id"] == tenant and _succeeded(p) and month_of(p["settled_at"].date()) == month)
            net[month] = Decimal(gross - refunds_by_month[(tenant, month)]) / 100
            now = mrr_cents_at(tenant, month_end_instant(month))
            paying[month] = len(now)
            churned = sum(1 for user in previous if user not in now)
            churn_rates[month] = Decimal(churned) / len(previous) if previous else None
            previous = now
        users = [u for u in ROWS["app__users"] if u["tenant_id"] == tenant]
        spend_rows = [s for s in ROWS["crm__marketing_spend"]
                      if s["tenant_id"] == tenant and s["id"] not in QUARANTINED_SPEND]
        channels = {u["acquisition_channel"] or "unknown" for u in users} | {s["channel"] for s in spend_rows}
        for index, month in enumerate(months):
            trailing = months[max(0, index - 11): index + 1]
            user_months = sum(paying[m] for m in trailing)
            arpu = sum(net[m] for m in trailing) / user_months if user_months else None
            rates = [churn_rates[m] for m in months[max(0, index - 2): index + 1] if churn_rates[m] is not None]
            churn = sum(rates) / len(rates) if rates else None
            ltv = rounded(arpu * margin / churn, "0.01") if arpu is not None and churn else None
            for channel in channels:
                signed = [u for u in users if (u["acquisition_channel"] or "unknown") == channel
                          and month_of(u["signup_at"].date()) == month]
                paid = [u for u in signed if (first_paid_at(tenant, u["id"]) or as_of_end) < as_of_end]
                spend = Decimal(sum(s["amount_cents"] for s in spend_rows
                                    if s["channel"] == channel and month_of(s["spend_date"]) == month)) / 100
                cac = spend / len(paid) if paid else None
                out[(tenant, month, channel)] = {
                    "spend": rounded(spend, "0.01"), "new_users": len(signed), "new_paying_users": len(paid),
                    "cac": rounded(cac, "0.01"), "avg_revenue_per_paying_user_month": rounded(arpu, "0.01"),
                    "monthly_churn_rate": rounded(churn, "0.0001"), "ltv": ltv,
                    "ltv_cac_ratio": rounded(ltv / cac, "0.01") if ltv is not None and cac else None,
                    "payback_months": rounded(cac / (arpu * margin), "0.01") if cac is not None and arpu else None,
                }
    return out


# --------------------------------------------------------------------------- the tests


def _mart(table: str, keys: tuple[str, ...], columns: list[str]) -> dict[tuple, dict[str, Any]]:
    return {tuple(row[k] for k in keys): {c: row[c] for c in columns} for row in query(f"select * from marts.{table}")}


def _assert_same(wanted: dict, actual: dict) -> None:
    diffs = [f"{key}: expected {wanted.get(key)!r}, mart has {actual.get(key)!r}"
             for key in sorted(set(wanted) | set(actual), key=repr) if wanted.get(key) != actual.get(key)]
    assert not diffs, diffs[:10]


@pytest.mark.parametrize(("table", "keys", "reference"), [
    ("fct_customer_health_daily", ("tenant_id", "as_of_date"), expected_health),
    ("fct_revenue_by_country_monthly", ("tenant_id", "revenue_month", "country"), expected_revenue_by_country),
    ("fct_acquisition_monthly", ("tenant_id", "acquisition_month", "channel"), expected_acquisition),
])
def test_mart_matches_the_python_reading_of_metrics_md(built, table, keys, reference):
    wanted = reference()
    columns = sorted({column for values in wanted.values() for column in values})
    _assert_same(wanted, _mart(table, keys, columns))


HEALTH_BY_HAND = [
    # ca1 known (onboarding, 70); ca2 counted from its creation, unknown until Feb 15; ca3 not created yet
    ("acme", "2026-02-10", {"total_customers": 2, "customers_with_known_state": 1, "onboarding": 1, "stable": 1,
                            "healthy": 0, "avg_health_score": Decimal("70.00")}),
    # ca1 at risk (45), ca2 churned on Mar 20 (no longer counted, churned this month), ca3 healthy (90)
    ("acme", "2026-03-25", {"total_customers": 2, "customers_with_known_state": 2, "at_risk": 1, "at_risk_band": 1,
                            "healthy": 1, "churned_this_month": 1, "churned": 1}),
    # cg2's state is unknown but its churn on Feb 10 (recorded in March) still ends its count
    ("globex", "2026-02-10", {"total_customers": 2, "customers_with_known_state": 1, "churned_this_month": 1}),
    ("globex", "2026-02-11", {"total_customers": 1, "customers_with_known_state": 1, "churned_this_month": 1}),
    ("globex", "2026-03-05", {"total_customers": 1, "churned_this_month": 0, "churned": 1}),
]


@pytest.mark.parametrize(("tenant", "day", "figures"), HEALTH_BY_HAND)
def test_customer_health_by_hand(built, tenant, day, figures):
    row = query(f"select * from marts.fct_customer_health_daily where tenant_id = '{tenant}' "
                f"and as_of_date = '{day}'")[0]
    assert {name: row[name] for name in figures} == figures


ACQUISITION_BY_HAND = [
    # Jan: no paying customer at the start of the month, so no churn and no LTV yet
    ("acme", "2026-01-01", "paid_social", {"spend": Decimal("50.00"), "new_paying_users": 1, "cac": Decimal("50.00"),
                                           "ltv": None, "payback_months": Decimal("5.00")}),
    # Feb: a1 churns (1 of 2); net revenue 20 + 30 over 4 paying user-months = 12.50; LTV 12.50 / 0.5
    ("acme", "2026-02-01", "paid_social", {"spend": Decimal("30.00"), "cac": Decimal("30.00"),
                                           "monthly_churn_rate": Decimal("0.5000"), "ltv": Decimal("25.00"),
                                           "ltv_cac_ratio": Decimal("0.83")}),
    # Mar: churn (0.5 + 0) / 2; net 20 + 30 + 8.50 (12.50 less a 4.00 refund) over 6 user-months = 9.75;
    # LTV 9.75 / 0.25
    ("acme", "2026-03-01", "paid_search", {"spend": Decimal("20.00"), "new_paying_users": 0, "cac": None,
                                           "avg_revenue_per_paying_user_month": Decimal("9.75"),
                                           "monthly_churn_rate": Decimal("0.2500"), "ltv": Decimal("39.00")}),
    ("globex", "2026-02-01", "paid_social", {"spend": Decimal("60.00"), "new_users": 1, "new_paying_users": 0,
                                             "cac": None, "ltv": None}),
]


@pytest.mark.parametrize(("tenant", "month", "channel", "figures"), ACQUISITION_BY_HAND)
def test_acquisition_by_hand(built, tenant, month, channel, figures):
    row = query(f"select * from marts.fct_acquisition_monthly where tenant_id = '{tenant}' "
                f"and acquisition_month = '{month}' and channel = '{channel}'")[0]
    assert {name: row[name] for name in figures} == figures


def test_bad_spend_rows_are_quarantined_with_their_reasons(built):
    rows = query("select record->>'id' as id, reasons from audit.quarantine where table_name = 'marketing_spend'")
    assert {row["id"]: row["reasons"] for row in rows} == QUARANTINED_SPEND
    outcomes = query("select b.table_name, o.* from audit.batch_outcomes as o join audit.batches as b "
                     "using (batch_id) where b.table_name = 'marketing_spend'")
    assert outcomes and all(o["landed"] == o["accepted"] + o["quarantined"] + o["duplicates"] for o in outcomes)
