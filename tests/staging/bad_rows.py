"""Hypothesis strategies for landed batches of bad (and good) rows of every source table.

An example is a small world of its own (tenants ``<x>_a`` and ``<x>_b``, both EUR, ids
prefixed with the example's name) with a valid base in the first wave (plans, a
subscription, a payment, a lead, a tournament) and, per table, rows that each carry
at most one fault: a null or empty required column, an unknown tenant, a bad enum,
a negative or max-int amount, an implausible or future timestamp, a reference into
the other tenant, a currency mismatch, a value no mart can hold, or, in the second
wave, an identical re-landing (duplicate) or a changed one (a conflicting duplicate
for append-only tables, a new version for mutable ones). Every row knows the
status staging must give it and the reason code it must carry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

from hypothesis import strategies as st

from tests.staging.landing import Batch

MAX_INT = 2_147_483_647
WAVES = {1: date(2026, 10, 20), 2: date(2026, 10, 31)}
# wave 1 rows are stamped before the end of its as-of date, wave 2 rows after it
STAMP = {1: "2026-10-1{}T0{}:00:00+00:00", 2: "2026-10-2{}T0{}:00:00+00:00"}
APPEND_ONLY = {"app__events", "billing__subscription_events"}


@dataclass
class Landed:
    """One landed row and what staging must make of it."""

    raw_table: str
    row: dict
    status: str  # accepted, quarantined or duplicate
    reason: str | None = None  # the reason code a quarantined row must carry
    fault: str = "valid"
    file_line: tuple[str, int] | None = None  # event-file lines: (file, line number)


@dataclass
class Example:
    name: str
    waves: dict[int, list[Landed]] = field(default_factory=lambda: {1: [], 2: []})

    def batches(self, wave: int) -> list[tuple[Batch, list[Landed]]]:
        """The wave's batches (one per raw table, event-file lines in one file) with their rows."""
        by_table: dict[str, list[Landed]] = {}
        for landed in self.waves[wave]:
            table = "app__event_files" if landed.file_line else landed.raw_table
            by_table.setdefault(table, []).append(landed)
        batches = []
        for table, rows in by_table.items():
            if table == "app__event_files":
                payload = [{"_file_name": item.file_line[0], "_line_number": item.file_line[1],
                            "_line": item.row.get("_line"), "record": item.row.get("record")} for item in rows]
            else:
                payload = [item.row for item in rows]
            batches.append((Batch(table, payload, WAVES[wave]), rows))
        return batches


def stamp(wave: int, day: int, hour: int = 1) -> str:
    return STAMP[wave].format(day, hour)


def base_rows(x: str, wave: int, day: int, tenant: str) -> dict[str, dict]:
    """One valid row per table for ``tenant`` (``a`` or ``b``), stamped in ``wave``."""
    t = f"{x}_{tenant}"
    ts = stamp(wave, day)
    return {
        "app__users": {"id": f"{t}_u", "tenant_id": t, "email": "u@x", "signup_at": ts, "platform": "ios",
                       "country": "DE", "acquisition_channel": "ads", "updated_at": ts},
        "app__events": {"id": f"{t}_e", "tenant_id": t, "user_id": f"{t}_u", "session_id": "s",
                        "event_type": "app_open", "properties": {"k": 1}, "platform": "ios", "app_version": "1",
                        "country": "DE", "occurred_at": ts, "received_at": ts},
        "billing__plans": {"id": f"{t}_plan", "tenant_id": t, "name": "Plan", "billing_interval": "month",
                           "amount_cents": 1, "currency": "EUR", "updated_at": ts},
        "billing__subscription_events": {"id": f"{t}_se", "tenant_id": t, "subscription_id": f"{t}_sub",
                                         "user_id": f"{t}_u", "event_type": "activated", "status": "active",
                                         "plan_id": f"{t}_plan", "quantity": 1, "occurred_at": ts, "received_at": ts},
        "billing__payments": {"id": f"{t}_pay", "tenant_id": t, "user_id": f"{t}_u", "invoice_id": f"{t}_inv",
                              "subscription_id": f"{t}_sub", "amount_cents": 100, "currency": "EUR",
                              "method": "card", "status": "succeeded", "attempt_number": 1, "created_at": ts,
                              "settled_at": ts, "updated_at": ts},
        "billing__refunds": {"id": f"{t}_ref", "tenant_id": t, "payment_id": f"{t}_pay", "amount_cents": 10,
                             "reason": "asked", "created_at": ts, "updated_at": ts},
        "billing__webhook_deliveries": {"id": f"{t}_wh", "tenant_id": t, "event_type": "payment", "endpoint": "e",
                                        "status": "delivered", "attempts": 1, "response_ms": 5, "created_at": ts,
                                        "delivered_at": ts, "updated_at": ts},
        "crm__sales_reps": {"id": f"{t}_rep", "tenant_id": t, "name": "Rep", "email": "r@x", "updated_at": ts},
        "crm__leads": {"id": f"{t}_lead", "tenant_id": t, "owner_id": f"{t}_rep", "source": "web", "status": "new",
                       "score": 50, "created_at": ts, "updated_at": ts},
        "crm__proposals": {"id": f"{t}_prop", "tenant_id": t, "lead_id": f"{t}_lead", "owner_id": f"{t}_rep",
                           "amount_cents": 100, "win_probability": 0.5, "status": "sent", "created_at": ts,
                           "updated_at": ts},
        "crm__customers": {"id": f"{t}_cust", "tenant_id": t, "lead_id": f"{t}_lead", "name": "C",
                           "segment": "smb", "status": "active", "health_score": 80, "created_at": ts,
                           "updated_at": ts},
        "crm__marketing_spend": {"id": f"{t}_spend", "tenant_id": t, "channel": "ads", "spend_date": ts[:10],
                                 "amount_cents": 500, "currency": "EUR", "updated_at": ts},
        "games__tournaments": {"id": f"{t}_tour", "tenant_id": t, "name": "Cup", "format": "swiss",
                               "status": "completed", "entry_fee_cents": 100, "created_at": ts, "updated_at": ts},
        "games__tournament_entries": {"id": f"{t}_entry", "tenant_id": t, "tournament_id": f"{t}_tour",
                                      "user_id": f"{t}_u", "registered_at": ts, "updated_at": ts},
    }


TABLES = list(base_rows("x", 1, 0, "a"))

# fault -> (columns to set, reason); a value of callable(x) gets the example name
FAULTS: dict[str, dict[str, tuple[dict, str]]] = {
    "app__users": {
        "no_signup": ({"signup_at": None}, "missing_required"),
        "bad_platform": ({"platform": "symbian"}, "invalid_enum"),
        "old_signup": ({"signup_at": "1999-12-31T23:59:59+00:00"}, "implausible_timestamp"),
    },
    "app__events": {
        "no_type": ({"event_type": None}, "missing_required"),
        "empty_type": ({"event_type": ""}, "missing_required"),
        "from_the_future": ({"occurred_at": "2026-10-31T12:00:00+00:00"}, "future_timestamp"),
        "old": ({"occurred_at": "1970-01-01T00:00:00+00:00"}, "implausible_timestamp"),
        "properties_not_object": ({"properties": "screen=home"}, "invalid_json"),
    },
    "billing__plans": {
        "no_interval": ({"billing_interval": None}, "missing_required"),
        "weekly": ({"billing_interval": "week"}, "invalid_enum"),
        "negative": ({"amount_cents": -1}, "negative_amount"),
        "min_int": ({"amount_cents": -MAX_INT - 1}, "negative_amount"),
        "dollars": ({"currency": "USD"}, "currency_mismatch"),
        "max_amount": ({"amount_cents": MAX_INT}, None),
    },
    "billing__subscription_events": {
        "no_quantity": ({"quantity": None}, "missing_required"),
        "paused": ({"status": "paused"}, "invalid_enum"),
        "from_the_future": ({"occurred_at": "2026-11-30T00:00:00+00:00"}, "future_timestamp"),
        "plan_of_other_tenant": ({"plan_id": "{x}_b_plan"}, "orphan_reference"),
        "arr_beyond_money": ({"plan_id": "{x}_a_plan_max", "quantity": MAX_INT}, "out_of_range"),
        "two_billion_seats": ({"quantity": 2_000_000_000}, None),
        "max_int_seats": ({"quantity": MAX_INT}, None),
    },
    "billing__payments": {
        "no_method": ({"method": None}, "missing_required"),
        "lost": ({"status": "lost"}, "invalid_enum"),
        "min_int": ({"amount_cents": -MAX_INT - 1}, "negative_amount"),
        "dollars": ({"currency": "USD"}, "currency_mismatch"),
        "subscription_of_other_tenant": ({"subscription_id": "{x}_b_sub"}, "orphan_reference"),
        "max_amount": ({"amount_cents": MAX_INT, "attempt_number": MAX_INT}, None),
        "no_subscription": ({"subscription_id": None}, None),
    },
    "billing__refunds": {
        "no_created_at": ({"created_at": None}, "missing_required"),
        "negative": ({"amount_cents": -5}, "negative_amount"),
        "payment_of_other_tenant": ({"payment_id": "{x}_b_pay"}, "orphan_reference"),
        "max_amount": ({"amount_cents": MAX_INT}, None),
    },
    "billing__webhook_deliveries": {
        "no_attempts": ({"attempts": None}, "missing_required"),
        "lost": ({"status": "lost"}, "invalid_enum"),
        "old": ({"created_at": "1999-01-01T00:00:00+00:00"}, "implausible_timestamp"),
        "max_ints": ({"attempts": MAX_INT, "response_ms": MAX_INT}, None),
    },
    "crm__sales_reps": {
        "old": ({"updated_at": "1999-01-01T00:00:00+00:00"}, "implausible_timestamp"),
    },
    "crm__leads": {
        "no_created_at": ({"created_at": None}, "missing_required"),
        "won": ({"status": "won"}, "invalid_enum"),
        "max_score": ({"score": MAX_INT}, "out_of_range"),
    },
    "crm__proposals": {
        "no_amount": ({"amount_cents": None}, "missing_required"),
        "lost": ({"status": "lost"}, "invalid_enum"),
        "negative": ({"amount_cents": -1}, "negative_amount"),
        "lead_of_other_tenant": ({"lead_id": "{x}_b_lead"}, "orphan_reference"),
        "certain_twice": ({"win_probability": 2}, "out_of_range"),
        "max_amount": ({"amount_cents": MAX_INT}, None),
    },
    "crm__customers": {
        "no_status": ({"status": ""}, "missing_required"),
        "huge": ({"segment": "huge"}, "invalid_enum"),
        "max_health": ({"health_score": MAX_INT}, "out_of_range"),
    },
    "crm__marketing_spend": {
        "no_channel": ({"channel": ""}, "missing_required"),
        "no_date": ({"spend_date": None}, "missing_required"),
        "negative": ({"amount_cents": -1}, "negative_amount"),
        "dollars": ({"currency": "USD"}, "currency_mismatch"),
        "old": ({"spend_date": "1999-12-31"}, "implausible_timestamp"),
        "max_amount": ({"amount_cents": MAX_INT}, None),
        "max_money": ({"amount_cents": 99_999_999_999_999}, None),
        "beyond_money": ({"amount_cents": 100_000_000_000_000}, "out_of_range"),
    },
    "games__tournaments": {
        "no_format": ({"format": None}, "missing_required"),
        "ladder": ({"format": "ladder"}, "invalid_enum"),
        "max_fee": ({"entry_fee_cents": MAX_INT}, None),
    },
    "games__tournament_entries": {
        "no_user": ({"user_id": None}, "missing_required"),
        "tournament_of_other_tenant": ({"tournament_id": "{x}_b_tour"}, "orphan_reference"),
        "max_placement": ({"placement": MAX_INT}, None),
    },
}
COMMON = ["valid", "unknown_tenant", "no_tenant"]
# a text column no validation rule reads, per mutable table (marketing_spend has none: it is only re-landed
# identically)
HARMLESS = {
    "app__users": "email", "billing__plans": "name", "billing__payments": "resource", "billing__refunds": "reason",
    "billing__webhook_deliveries": "endpoint", "crm__sales_reps": "email", "crm__leads": "source",
    "crm__proposals": "owner_id", "crm__customers": "name", "games__tournaments": "name",
    "games__tournament_entries": "placement",
}
SECOND_WAVE = ["duplicate", "changed"]


def file_record(row: dict) -> dict:
    """An app event as an event-file JSON object (the same fields as app.events)."""
    return dict(row)


@st.composite
def examples(draw: st.DrawFn, name: str) -> Example:
    x = name
    example = Example(x)
    # the base world: both tenants, every table, and a plan priced at MAX_INT
    example.waves[1].extend(
        Landed("app__organizations", {"id": f"{x}_{t}", "tenant_id": f"{x}_{t}", "name": t, "currency": "EUR",
                                      "created_at": stamp(1, 0), "updated_at": stamp(1, 0)}, "accepted")
        for t in ("a", "b")
    )
    for tenant in ("a", "b"):
        for table, row in base_rows(x, 1, 0, tenant).items():
            example.waves[1].append(Landed(table, row, "accepted"))
    example.waves[1].append(Landed("billing__plans", {**base_rows(x, 1, 0, "a")["billing__plans"],
                                                       "id": f"{x}_a_plan_max", "amount_cents": MAX_INT}, "accepted"))
    serial = 0
    first_wave: dict[str, list[Landed]] = {}
    for table in TABLES:
        faults = COMMON + list(FAULTS[table])
        for fault in draw(st.lists(st.sampled_from(faults), min_size=1, max_size=6)):
            serial += 1
            row = base_rows(x, 1, draw(st.integers(1, 9)), "a")[table]
            row["id"] = f"{x}_{table}_{serial}"
            status, reason = "accepted", None
            if fault == "unknown_tenant":
                row["tenant_id"], status, reason = "ghost", "quarantined", "unknown_tenant"
            elif fault == "no_tenant":
                row["tenant_id"], status, reason = None, "quarantined", "unknown_tenant"
            elif fault != "valid":
                changes, reason = FAULTS[table][fault]
                row.update({key: value.format(x=x) if isinstance(value, str) and "{x}" in value else value
                            for key, value in changes.items()})
                status = "quarantined" if reason else "accepted"
            landed = Landed(table, row, status, reason, fault)
            if table == "app__events" and draw(st.booleans()):  # an event-file line instead of a table row
                landed.file_line = (f"{x}_w1.jsonl", serial)
                landed.row = {"record": file_record(row)}
            example.waves[1].append(landed)
            first_wave.setdefault(table, []).append(landed)
        if table == "app__events" and draw(st.booleans()):  # a line that is not a JSON object
            serial += 1
            example.waves[1].append(Landed(table, {"_line": "{not json"}, "quarantined", "invalid_json",
                                           "not_json", (f"{x}_w1.jsonl", serial)))
    # the second wave: re-landings of first-wave rows, each original used once
    for table, originals in first_wave.items():
        picks = draw(st.lists(st.sampled_from(range(len(originals))), unique=True, max_size=len(originals)))
        for index in picks:
            original = originals[index]
            serial += 1
            how = draw(st.sampled_from(SECOND_WAVE))
            row = copy.deepcopy(original.row["record"] if original.file_line else original.row)
            if how == "duplicate" or (table not in APPEND_ONLY and table not in HARMLESS):
                status, reason = "duplicate", None
            elif table in APPEND_ONLY:  # same id, other content: the first landed version stays
                key = "session_id" if table == "app__events" else "user_id"
                row[key] = f"changed_{serial}"
                status, reason = "quarantined", "conflicting_duplicate"
            else:  # mutable: another version, as valid as the original (a column no rule reads changes)
                column = HARMLESS[table]
                row[column] = serial if column == "placement" else f"changed_{serial}"
                status, reason = original.status, original.reason
            landed = Landed(table, row, status, reason, f"{how}:{original.fault}")
            if table == "app__events" and draw(st.booleans()):
                landed.file_line = (f"{x}_w2.jsonl", serial)
                landed.row = {"record": row}
            example.waves[2].append(landed)
    return example
