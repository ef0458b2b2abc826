"""Source rows holding the largest values the source types allow, in every int column of every table.

Two tenants: ``max`` holds every max-int row, ``edge`` holds only the subscriptions at the
limit of what the marts' money type can hold, so that no sum over many rows mixes with them.
"""

from __future__ import annotations

from datetime import date

from tests.staging.landing import Batch

MAX_INT = 2_147_483_647
AS_OF = date(2026, 10, 31)
# numeric(14,2), the marts' money type, holds up to 999,999,999,999.99: 99,999,999,999,999 cents
MONEY_MAX_CENTS = 99_999_999_999_999
# the largest monthly MRR in cents whose ARR (MRR x 12) is still a money value
MRR_MAX_CENTS = MONEY_MAX_CENTS // 12
EDGE_QUANTITY = MRR_MAX_CENTS // MAX_INT  # 3880: ARR fits; one more does not

TS = "2026-10-15 10:00:00+00"
LATER = "2026-10-16 10:00:00+00"
SUB_TS = "2026-10-02 10:00:00+00"


def _subscription_event(event_id: str, tenant: str, subscription: str, user: str, plan: str, quantity: int) -> dict:
    return {"id": event_id, "tenant_id": tenant, "subscription_id": subscription, "user_id": user,
            "event_type": "activated", "status": "active", "plan_id": plan, "quantity": quantity,
            "occurred_at": SUB_TS, "received_at": SUB_TS}


def max_int_batches() -> list[Batch]:
    """The batches, in landing order."""
    organizations = [
        {"id": "max", "tenant_id": "max", "name": "Max", "currency": "EUR", "created_at": TS, "updated_at": TS},
        {"id": "edge", "tenant_id": "edge", "name": "Edge", "currency": "EUR", "created_at": TS, "updated_at": TS},
    ]
    users = [
        {"id": f"u{n}", "tenant_id": tenant, "email": f"u{n}@x", "signup_at": "2026-10-01 09:00:00+00",
         "platform": "web", "country": "DE", "acquisition_channel": "organic", "updated_at": TS}
        for n, tenant in [(1, "max"), (2, "max"), (3, "max"), (4, "edge"), (5, "edge")]
    ]
    events = [
        {"id": "e1", "tenant_id": "max", "user_id": "u1", "session_id": "s1", "event_type": "app_open",
         "properties": {"n": MAX_INT}, "platform": "web", "country": "DE", "occurred_at": TS, "received_at": TS},
    ]
    plans = [
        {"id": "p_max", "tenant_id": "max", "name": "Max", "billing_interval": "month", "amount_cents": MAX_INT,
         "currency": "EUR", "updated_at": TS},
        {"id": "p_year", "tenant_id": "max", "name": "Max yearly", "billing_interval": "year",
         "amount_cents": MAX_INT, "currency": "EUR", "updated_at": TS},
        {"id": "p_cent", "tenant_id": "max", "name": "Cent", "billing_interval": "month", "amount_cents": 1,
         "currency": "EUR", "updated_at": TS},
        {"id": "p_edge", "tenant_id": "edge", "name": "Edge", "billing_interval": "month", "amount_cents": MAX_INT,
         "currency": "EUR", "updated_at": TS},
    ]
    subscription_events = [
        # counted exactly: 2,000,000,000 x 1 cent, MAX_INT x 1 cent, 1 x MAX_INT cents, a yearly plan
        _subscription_event("se_qty", "max", "sub_qty", "u1", "p_cent", 2_000_000_000),
        _subscription_event("se_qty_max", "max", "sub_qty_max", "u2", "p_cent", MAX_INT),
        _subscription_event("se_amount", "max", "sub_amount", "u3", "p_max", 1),
        _subscription_event("se_year", "max", "sub_year", "u3", "p_year", 12),
        # beyond what a money column can hold, even alone: out_of_range
        _subscription_event("se_both", "max", "sub_both", "u1", "p_max", MAX_INT),
        _subscription_event("se_year_both", "max", "sub_year_both", "u2", "p_year", MAX_INT),
        # the edge: the largest quantity whose ARR fits, and one more
        _subscription_event("se_edge", "edge", "sub_edge", "u4", "p_edge", EDGE_QUANTITY),
        _subscription_event("se_edge_over", "edge", "sub_edge_over", "u5", "p_edge", EDGE_QUANTITY + 1),
    ]
    payments = [
        {"id": "pay_max", "tenant_id": "max", "user_id": "u1", "invoice_id": "inv1", "subscription_id": "sub_qty",
         "amount_cents": MAX_INT, "currency": "EUR", "method": "card", "status": "succeeded",
         "attempt_number": MAX_INT, "resource": "gold", "created_at": TS, "settled_at": LATER, "updated_at": LATER},
        {"id": "pay_fail", "tenant_id": "max", "user_id": "u2", "invoice_id": "inv2", "subscription_id": None,
         "amount_cents": MAX_INT, "currency": "EUR", "method": "card", "status": "failed",
         "failure_reason": "card_declined", "attempt_number": 1, "created_at": TS, "updated_at": TS},
        {"id": "pay_retry", "tenant_id": "max", "user_id": "u2", "invoice_id": "inv2", "subscription_id": None,
         "amount_cents": MAX_INT, "currency": "EUR", "method": "card", "status": "succeeded",
         "attempt_number": MAX_INT, "created_at": LATER, "settled_at": LATER, "updated_at": LATER},
    ]
    refunds = [
        {"id": "ref_max", "tenant_id": "max", "payment_id": "pay_max", "amount_cents": MAX_INT, "reason": "asked",
         "created_at": LATER, "updated_at": LATER},
    ]
    webhook_deliveries = [
        {"id": "wh_max", "tenant_id": "max", "event_type": "payment.succeeded", "endpoint": "https://x",
         "status": "delivered", "attempts": MAX_INT, "response_ms": MAX_INT, "created_at": TS,
         "delivered_at": LATER, "updated_at": LATER},
    ]
    sales_reps = [{"id": "rep1", "tenant_id": "max", "name": "Rep", "email": "rep@x", "updated_at": TS}]
    leads = [
        {"id": "lead_max", "tenant_id": "max", "owner_id": "rep1", "source": "web", "status": "converted",
         "score": MAX_INT, "created_at": "2026-10-01 09:00:00+00", "first_contact_at": TS, "qualified_at": TS,
         "converted_at": LATER, "updated_at": LATER},
    ]
    proposals = [
        {"id": "prop_max", "tenant_id": "max", "lead_id": "lead_max", "owner_id": "rep1", "amount_cents": MAX_INT,
         "win_probability": 1, "status": "accepted", "created_at": TS, "sent_at": TS, "decided_at": LATER,
         "updated_at": LATER},
        {"id": "prop_open", "tenant_id": "max", "lead_id": "lead_max", "owner_id": "rep1", "amount_cents": MAX_INT,
         "win_probability": 0.5, "status": "sent", "created_at": TS, "sent_at": TS, "updated_at": TS},
    ]
    customers = [
        {"id": "cust_max", "tenant_id": "max", "lead_id": "lead_max", "name": "Big", "segment": "enterprise",
         "status": "active", "health_score": MAX_INT, "created_at": TS, "updated_at": TS},
    ]
    tournaments = [
        {"id": "tour_max", "tenant_id": "max", "name": "Max", "format": "swiss", "status": "completed",
         "entry_fee_cents": MAX_INT, "created_at": TS, "started_at": TS, "ended_at": LATER, "updated_at": LATER},
    ]
    tournament_entries = [
        {"id": f"entry{n}", "tenant_id": "max", "tournament_id": "tour_max", "user_id": f"u{n}",
         "registered_at": TS, "placement": MAX_INT, "updated_at": TS}
        for n in (1, 2)
    ]
    tables = [
        ("app__organizations", organizations), ("app__users", users), ("app__events", events),
        ("billing__plans", plans), ("billing__subscription_events", subscription_events),
        ("billing__payments", payments), ("billing__refunds", refunds),
        ("billing__webhook_deliveries", webhook_deliveries), ("crm__sales_reps", sales_reps),
        ("crm__leads", leads), ("crm__proposals", proposals), ("crm__customers", customers),
        ("games__tournaments", tournaments), ("games__tournament_entries", tournament_entries),
    ]
    return [Batch(raw_table, rows, AS_OF) for raw_table, rows in tables]
