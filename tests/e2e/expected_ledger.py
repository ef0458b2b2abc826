"""The accounting ledger (docs/metrics.md fct_accounting_transactions) computed from the accepted source rows.

The reference the marts, the read API's ledger rows and ``meridian export transactions`` are compared
with: a charge per succeeded payment (status succeeded or refunded) created before the as-of instant,
booked at settled_at (created_at when null); a refund per refund created before it, booked at its
created_at, amount negative. Amounts are exact Decimals in major units.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.e2e.expected import SUCCEEDED_PAYMENT, end_of_day, utc_date
from tests.e2e.expected_calc import cents_to_units

Row = dict[str, Any]


def _or_unknown(country: str | None) -> str:
    return "ZZ" if country is None else country


def accounting_transactions(accepted: dict[str, list[Row]], as_of: date) -> dict[tuple[str, str], Row]:
    """{(tenant_id, transaction_id): the mart's row} for every tenant."""
    end = end_of_day(as_of)
    currency = {org["id"]: org["currency"] for org in accepted["organizations"]}
    country = {(user["tenant_id"], user["id"]): user["country"] for user in accepted["users"]}
    payments = {(p["tenant_id"], p["id"]): p for p in accepted["payments"] if p["created_at"] < end}
    rows: dict[tuple[str, str], Row] = {}

    def add(tenant: str, transaction_id: str, kind: str, booked_at, payment: Row | None, payment_id: str,
            refund_id: str | None, user_id: str | None, cents: int, description: str) -> None:
        rows[(tenant, transaction_id)] = {
            "tenant_id": tenant, "transaction_id": transaction_id, "transaction_type": kind,
            "booked_at": booked_at, "booked_date": utc_date(booked_at), "payment_id": payment_id,
            "refund_id": refund_id, "user_id": user_id, "country": _or_unknown(country.get((tenant, user_id))),
            "method": payment["method"] if payment else None, "resource": payment["resource"] if payment else None,
            "currency": currency[tenant], "amount": cents_to_units(cents), "description": description,
        }

    for (tenant, payment_id), payment in payments.items():
        if payment["status"] in SUCCEEDED_PAYMENT:
            resource = f" for {payment['resource']}" if payment["resource"] is not None else ""
            add(tenant, f"ch_{payment_id}", "charge", payment["settled_at"] or payment["created_at"], payment,
                payment_id, None, payment["user_id"], payment["amount_cents"],
                f"Payment {payment_id} by {payment['method']}{resource}")
    all_payments = {(p["tenant_id"], p["id"]): p for p in accepted["payments"]}
    for refund in accepted["refunds"]:
        if refund["created_at"] >= end:
            continue
        tenant, payment_id = refund["tenant_id"], refund["payment_id"]
        refunded = all_payments.get((tenant, payment_id))
        reason = f": {refund['reason']}" if refund["reason"] is not None else ""
        add(tenant, f"rf_{refund['id']}", "refund", refund["created_at"], payments.get((tenant, payment_id)),
            payment_id, refund["id"], refunded["user_id"] if refunded else None, -refund["amount_cents"],
            f"Refund {refund['id']} of payment {payment_id}{reason}")
    return rows
