"""Bad input: copies of good rows broken the ways docs/sources.md's validation rules catch.

Every bad row is an *extra* row with a fresh id (a copy of a good row with
something broken), so the accepted data stays complete and consistent: the
pipeline must quarantine these and nothing else. Each table gets every kind
that applies to it at ``RATE`` of its good rows, at least one of each, plus
rows that break several rules at once. Kinds per table follow the rules:
``future_timestamp`` and ``invalid_json`` exist only for app events (see
``meridian.demo.app``), ``currency_mismatch`` only where there is a currency,
``orphan_reference`` only for refunds, proposals and tournament entries.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from meridian.demo.ids import Ids
from meridian.sources.schema import TABLES

RATE = 0.002  # per kind, of a table's good rows
EPOCH_ZERO = "1970-01-01T00:00:00.000+00:00"
Y2K_EVE = "1999-12-31T23:59:59.000+00:00"
UNKNOWN_TENANTS = ("acme_staging", "test", "unknown", "globex-old", "demo_tenant")
# columns that may hold an empty string instead of null (text in every table that has them)
TEXT_COLUMNS = frozenset(name for spec in TABLES for name, ctype in spec.columns if ctype == "text")

Row = dict[str, Any]
Mutation = Callable[[Row, random.Random], None]


def unknown_tenant(row: Row, rng: random.Random) -> None:
    row["tenant_id"] = None if rng.random() < 0.4 else rng.choice(UNKNOWN_TENANTS)


def set_value(column: str, *values: Any) -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        row[column] = rng.choice(values)

    return mutate


def missing(*columns: str) -> Mutation:
    """Null (or, for a text column, sometimes the empty string) one of ``columns``."""

    def mutate(row: Row, rng: random.Random) -> None:
        column = rng.choice(columns)
        row[column] = "" if column in TEXT_COLUMNS and rng.random() < 0.3 else None

    return mutate


def implausible(*columns: str) -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        row[rng.choice(columns)] = rng.choice((EPOCH_ZERO, Y2K_EVE))

    return mutate


def negative(column: str = "amount_cents") -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        row[column] = -abs(row[column] or 100)

    return mutate


def combine(*mutations: Mutation) -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        for mutation in mutations:
            mutation(row, rng)

    return mutate


def currency_mismatch(tenant_currency: dict[str, str]) -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        own = tenant_currency.get(row["tenant_id"], "USD")
        row["currency"] = rng.choice([code for code in ("USD", "EUR", "GBP", "CHF", "XXX") if code != own])

    return mutate


def orphan(column: str, prefix: str) -> Mutation:
    def mutate(row: Row, rng: random.Random) -> None:
        row[column] = f"{prefix}_{rng.randrange(900_000_000, 999_999_999):09d}"

    return mutate


def table_mutations(tenant_currency: dict[str, str]) -> dict[str, list[tuple[str, Mutation]]]:
    """(kind, mutation) per table; ``multiple`` rows break several rules at once."""
    mismatch = currency_mismatch(tenant_currency)
    return {
        "users": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("signup_at")),
            ("implausible_timestamp", implausible("signup_at")),
            ("invalid_enum", set_value("platform", "blackberry", "windows_phone", "iOS")),
            ("multiple", combine(unknown_tenant, set_value("platform", "symbian"), implausible("signup_at"))),
        ],
        "plans": [
            ("invalid_enum", set_value("billing_interval", "week", "quarterly")),
            ("negative_amount", negative()),
            ("currency_mismatch", mismatch),
        ],
        "subscription_events": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("plan_id", "status", "subscription_id")),
            ("implausible_timestamp", implausible("occurred_at")),
            ("invalid_enum", set_value("status", "paused", "expired", "ACTIVE")),
            ("multiple", combine(set_value("event_type", "paused"), set_value("status", "paused"),
                                 missing("quantity"))),
        ],
        "payments": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("method", "user_id", "created_at", "currency")),
            ("implausible_timestamp", implausible("created_at")),
            ("invalid_enum", set_value("status", "chargeback", "disputed", "SUCCEEDED")),
            ("invalid_enum", set_value("method", "cheque", "paypal")),
            ("negative_amount", negative()),
            ("currency_mismatch", mismatch),
            ("multiple", combine(negative(), mismatch, set_value("status", "reversed"))),
        ],
        "refunds": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("payment_id", "amount_cents")),
            ("negative_amount", negative()),
            ("orphan_reference", orphan("payment_id", "pay")),
            ("multiple", combine(orphan("payment_id", "pay"), negative())),
        ],
        "webhook_deliveries": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("event_type", "status")),
            ("implausible_timestamp", implausible("created_at")),
            ("invalid_enum", set_value("status", "retrying", "bounced")),
        ],
        "sales_reps": [
            ("unknown_tenant", unknown_tenant),
        ],
        "leads": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("created_at")),
            ("implausible_timestamp", implausible("created_at")),
            ("invalid_enum", set_value("status", "lost", "won", "open")),
        ],
        "proposals": [
            ("missing_required", missing("amount_cents", "status")),
            ("invalid_enum", set_value("status", "withdrawn", "pending")),
            ("negative_amount", negative()),
            ("orphan_reference", orphan("lead_id", "lead")),
            ("multiple", combine(orphan("lead_id", "lead"), unknown_tenant, negative())),
        ],
        "customers": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("status", "created_at")),
            ("invalid_enum", set_value("segment", "startup", "Enterprise")),
        ],
        "marketing_spend": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("spend_date", "channel", "amount_cents")),
            ("implausible_timestamp", implausible("updated_at")),
            ("negative_amount", negative()),
            ("currency_mismatch", mismatch),
        ],
        "tournaments": [
            ("missing_required", missing("format", "status")),
            ("implausible_timestamp", implausible("created_at")),
            ("invalid_enum", set_value("format", "ladder", "knockout")),
            ("multiple", combine(unknown_tenant, set_value("status", "postponed"))),
        ],
        "tournament_entries": [
            ("unknown_tenant", unknown_tenant),
            ("missing_required", missing("user_id", "tournament_id")),
            ("orphan_reference", orphan("tournament_id", "trn")),
            ("implausible_timestamp", implausible("registered_at")),
        ],
    }


def bad_copies(
    table: str,
    rows: list[Row],
    mutations: list[tuple[str, Mutation]],
    id_prefix: str,
    ids: Ids,
    rng: random.Random,
    kind_counts: dict[str, int],
) -> list[Row]:
    """Broken copies of ``rows`` (at least one per kind); ``kind_counts`` counts them by kind."""
    if not rows:
        return []
    bad: list[Row] = []
    per_kind = max(1, round(len(rows) * RATE))
    for kind, mutate in mutations:
        for _ in range(per_kind):
            row = dict(rng.choice(rows))
            row["id"] = ids.next(id_prefix)
            mutate(row, rng)
            bad.append(row)
            key = f"{table}.{kind}"
            kind_counts[key] = kind_counts.get(key, 0) + 1
    rng.shuffle(bad)
    return bad
