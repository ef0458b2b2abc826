"""The source tables of docs/sources.md: one definition used by the demo generator,
the extractor (raw tables) and the tests.

Each table lists its columns in order with their PostgreSQL types, the column
extraction reads by (``updated_at`` for mutable tables, ``received_at`` for
append-only ones), and the columns docs/sources.md requires.

:func:`schema_changes` compares a source table's actual columns with this
contract (schema drift): a column added, dropped or retyped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceTable:
    source: str  # app, billing, crm, games
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, postgres type)
    extract_key: str
    required: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def raw_table(self) -> str:
        """Name of the append-only table in the warehouse ``raw`` schema."""
        return f"{self.source}__{self.name}"

    @property
    def qualified(self) -> str:
        return f"{self.source}.{self.name}"

    def create_sql(self, schema: str = "public") -> str:
        cols = ",\n    ".join(
            f"{name} {ctype}{' primary key' if name == 'id' else ''}" for name, ctype in self.columns
        )
        return f"create table if not exists {schema}.{self.name} (\n    {cols}\n)"


TS = "timestamptz"

TABLES: tuple[SourceTable, ...] = (
    SourceTable(
        "app", "organizations",
        (("id", "text"), ("tenant_id", "text"), ("name", "text"), ("currency", "char(3)"),
         ("created_at", TS), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id"),
    ),
    SourceTable(
        "app", "users",
        (("id", "text"), ("tenant_id", "text"), ("email", "text"), ("signup_at", TS), ("platform", "text"),
         ("country", "char(2)"), ("acquisition_channel", "text"), ("deleted_at", TS), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "signup_at"),
    ),
    SourceTable(
        "app", "events",
        (("id", "text"), ("tenant_id", "text"), ("user_id", "text"), ("session_id", "text"),
         ("event_type", "text"), ("properties", "jsonb"), ("platform", "text"), ("app_version", "text"),
         ("country", "char(2)"), ("occurred_at", TS), ("received_at", TS)),
        "received_at", ("id", "tenant_id", "event_type", "occurred_at", "received_at"),
    ),
    SourceTable(
        "billing", "plans",
        (("id", "text"), ("tenant_id", "text"), ("name", "text"), ("billing_interval", "text"),
         ("amount_cents", "integer"), ("currency", "char(3)"), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "billing_interval", "amount_cents", "currency"),
    ),
    SourceTable(
        "billing", "subscription_events",
        (("id", "text"), ("tenant_id", "text"), ("subscription_id", "text"), ("user_id", "text"),
         ("event_type", "text"), ("status", "text"), ("plan_id", "text"), ("quantity", "integer"),
         ("occurred_at", TS), ("received_at", TS)),
        "received_at",
        ("id", "tenant_id", "subscription_id", "user_id", "status", "plan_id", "quantity", "occurred_at",
         "received_at"),
    ),
    SourceTable(
        "billing", "payments",
        (("id", "text"), ("tenant_id", "text"), ("user_id", "text"), ("invoice_id", "text"),
         ("subscription_id", "text"), ("amount_cents", "integer"), ("currency", "char(3)"), ("method", "text"),
         ("status", "text"), ("failure_reason", "text"), ("attempt_number", "integer"), ("resource", "text"),
         ("created_at", TS), ("settled_at", TS), ("updated_at", TS)),
        "updated_at",
        ("id", "tenant_id", "user_id", "amount_cents", "currency", "method", "status", "attempt_number",
         "created_at"),
    ),
    SourceTable(
        "billing", "refunds",
        (("id", "text"), ("tenant_id", "text"), ("payment_id", "text"), ("amount_cents", "integer"),
         ("reason", "text"), ("created_at", TS), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "payment_id", "amount_cents", "created_at"),
    ),
    SourceTable(
        "billing", "webhook_deliveries",
        (("id", "text"), ("tenant_id", "text"), ("event_type", "text"), ("endpoint", "text"), ("status", "text"),
         ("attempts", "integer"), ("response_ms", "integer"), ("created_at", TS), ("delivered_at", TS),
         ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "event_type", "status", "attempts", "created_at"),
    ),
    SourceTable(
        "crm", "sales_reps",
        (("id", "text"), ("tenant_id", "text"), ("name", "text"), ("email", "text"), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id"),
    ),
    SourceTable(
        "crm", "leads",
        (("id", "text"), ("tenant_id", "text"), ("owner_id", "text"), ("source", "text"), ("status", "text"),
         ("score", "integer"), ("created_at", TS), ("first_contact_at", TS), ("qualified_at", TS),
         ("converted_at", TS), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "created_at"),
    ),
    SourceTable(
        "crm", "proposals",
        (("id", "text"), ("tenant_id", "text"), ("lead_id", "text"), ("owner_id", "text"),
         ("amount_cents", "integer"), ("win_probability", "numeric"), ("status", "text"), ("created_at", TS),
         ("sent_at", TS), ("decided_at", TS), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "lead_id", "amount_cents", "status", "created_at"),
    ),
    SourceTable(
        "crm", "customers",
        (("id", "text"), ("tenant_id", "text"), ("lead_id", "text"), ("name", "text"), ("segment", "text"),
         ("status", "text"), ("health_score", "integer"), ("created_at", TS), ("churned_at", TS),
         ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "status", "created_at"),
    ),
    SourceTable(
        "crm", "marketing_spend",
        (("id", "text"), ("tenant_id", "text"), ("channel", "text"), ("spend_date", "date"),
         ("amount_cents", "bigint"), ("currency", "char(3)"), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "spend_date", "channel", "amount_cents", "currency"),
    ),
    SourceTable(
        "games", "tournaments",
        (("id", "text"), ("tenant_id", "text"), ("name", "text"), ("format", "text"), ("status", "text"),
         ("entry_fee_cents", "integer"), ("created_at", TS), ("started_at", TS), ("ended_at", TS),
         ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "format", "status", "created_at"),
    ),
    SourceTable(
        "games", "tournament_entries",
        (("id", "text"), ("tenant_id", "text"), ("tournament_id", "text"), ("user_id", "text"),
         ("registered_at", TS), ("placement", "integer"), ("updated_at", TS)),
        "updated_at", ("id", "tenant_id", "tournament_id", "user_id"),
    ),
)

# The event-file columns: the same fields as app.events.
EVENT_FILE_FIELDS: tuple[str, ...] = tuple(name for name, _ in TABLES[2].columns)

ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("users", "platform"): ("ios", "android", "web"),
    ("plans", "billing_interval"): ("month", "year"),
    ("subscription_events", "event_type"): (
        "created", "activated", "plan_changed", "quantity_changed", "past_due", "canceled", "reactivated"),
    ("subscription_events", "status"): ("trialing", "active", "past_due", "canceled"),
    ("payments", "method"): ("card", "wallet", "bank_transfer", "crypto"),
    ("payments", "status"): ("pending", "succeeded", "failed", "refunded"),
    ("webhook_deliveries", "status"): ("pending", "delivered", "failed"),
    ("leads", "status"): ("new", "contacted", "qualified", "unqualified", "converted"),
    ("proposals", "status"): ("draft", "sent", "accepted", "rejected", "expired"),
    ("customers", "segment"): ("smb", "mid_market", "enterprise"),
    ("customers", "status"): ("onboarding", "active", "at_risk", "churned"),
    ("tournaments", "format"): ("single_elimination", "double_elimination", "round_robin", "swiss", "battle_royale"),
    ("tournaments", "status"): ("scheduled", "running", "completed", "canceled"),
}

KNOWN_EVENT_TYPES: tuple[str, ...] = (
    "app_open", "registration_start", "registration_complete", "screen_view", "profile_view", "swipe_right",
    "swipe_left", "match_created", "message_sent", "video_call_started", "search", "feature_used",
    "subscription_view", "subscription_purchase", "app_close",
)


# short names PostgreSQL accepts for the types the contract uses, as format_type() spells them
TYPE_SPELLINGS: dict[str, str] = {
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "bool": "boolean",
    "float8": "double precision",
    "float4": "real",
    "char": "character",
    "varchar": "character varying",
    "decimal": "numeric",
}


def canonical_type(pg_type: str) -> str:
    """A type name as PostgreSQL's ``format_type`` prints it: ``char(3)`` -> ``character(3)``."""
    text = " ".join(pg_type.strip().lower().split())
    match = re.fullmatch(r"([a-z0-9_ ]+?)\s*(\(\s*\d+(?:\s*,\s*\d+)?\s*\))?", text)
    if not match:
        return text
    name, modifier = match.group(1), match.group(2) or ""
    return TYPE_SPELLINGS.get(name, name) + modifier.replace(" ", "")


@dataclass(frozen=True)
class ColumnChange:
    """One difference between a source table's columns and the contract."""

    kind: str  # added, dropped, retyped
    column: str
    contract_type: str | None  # None for an added column
    actual_type: str | None  # None for a dropped column
    required: bool = False

    def describe(self, table: SourceTable) -> str:
        if self.kind == "added":
            return (f"column {self.column} ({self.actual_type}) was added to {table.qualified}; "
                    "it is not in the contract (docs/sources.md) and is not extracted")
        if self.kind == "dropped" and self.required:
            return (f"required column {self.column} ({self.contract_type}) is missing from {table.qualified}; "
                    f"the table is not extracted until the column is back (docs/sources.md, Required columns)")
        if self.kind == "dropped":
            return (f"column {self.column} ({self.contract_type}) was dropped from {table.qualified}; "
                    "it lands as null")
        return (f"column {self.column} of {table.qualified} is {self.actual_type}, the contract says "
                f"{self.contract_type}; its values are converted to {self.contract_type} on landing")


def schema_changes(table: SourceTable, actual: Iterable[tuple[str, str]]) -> list[ColumnChange]:
    """How ``actual`` ((column, type) as the source has them) differs from ``table``'s contract.

    Contract columns first, in contract order (dropped or retyped), then added columns in source order.
    """
    found = {name: canonical_type(ctype) for name, ctype in actual}
    changes: list[ColumnChange] = []
    for name, ctype in table.columns:
        if name not in found:
            changes.append(ColumnChange("dropped", name, ctype, None, name in table.required))
        elif found[name] != canonical_type(ctype):
            changes.append(ColumnChange("retyped", name, ctype, found[name], name in table.required))
    contract = set(table.column_names)
    changes.extend(ColumnChange("added", name, None, ctype) for name, ctype in found.items() if name not in contract)
    return changes


def tables_of(source: str) -> list[SourceTable]:
    return [table for table in TABLES if table.source == source]


def table(source: str, name: str) -> SourceTable:
    for candidate in TABLES:
        if candidate.source == source and candidate.name == name:
            return candidate
    raise KeyError(f"no source table {source}.{name} in docs/sources.md")
