"""Unit tests of the reference implementation in ``expected.py``, on tiny hand-made inputs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from . import expected as ex
from . import expected_calc as calc

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
AS_OF = date(2024, 1, 31)
SECOND = timedelta(seconds=1)

DEFAULTS: dict[str, dict[str, Any]] = {  # one valid row per source table
    "organizations": dict(id="acme", tenant_id="acme", name="Acme", currency="USD", created_at=T0, updated_at=T0),
    "users": dict(id="u1", tenant_id="acme", email="a@example.com", signup_at=T0, platform="ios", country="US",
                  acquisition_channel="ads", deleted_at=None, updated_at=T0),
    "events": dict(id="e1", tenant_id="acme", user_id="u1", session_id="x", event_type="app_open", properties={},
                   platform="ios", app_version="1.0", country="US", occurred_at=T0, received_at=T0),
    "plans": dict(id="basic", tenant_id="acme", name="Basic", billing_interval="month", amount_cents=1000,
                  currency="USD", updated_at=T0),
    "subscription_events": dict(id="se1", tenant_id="acme", subscription_id="s1", user_id="u1",
                                event_type="activated", status="active", plan_id="basic", quantity=1, occurred_at=T0,
                                received_at=T0),
    "payments": dict(id="p1", tenant_id="acme", user_id="u1", invoice_id="i1", subscription_id="s1",
                     amount_cents=1000, currency="USD", method="card", status="succeeded", failure_reason=None,
                     attempt_number=1, resource=None, created_at=T0, settled_at=T0 + SECOND, updated_at=T0),
    "refunds": dict(id="r1", tenant_id="acme", payment_id="p1", amount_cents=500, reason="asked", created_at=T0,
                    updated_at=T0),
    "webhook_deliveries": dict(id="w1", tenant_id="acme", event_type="payment.succeeded", endpoint="https://h",
                               status="delivered", attempts=1, response_ms=40, created_at=T0, delivered_at=T0,
                               updated_at=T0),
    "sales_reps": dict(id="rep1", tenant_id="acme", name="Rep", email="rep@example.com", updated_at=T0),
    "leads": dict(id="l1", tenant_id="acme", owner_id="rep1", source="web", status="new", score=50, created_at=T0,
                  first_contact_at=None, qualified_at=None, converted_at=None, updated_at=T0),
    "proposals": dict(id="pr1", tenant_id="acme", lead_id="l1", owner_id="rep1", amount_cents=100000,
                      win_probability=Decimal("0.5"), status="draft", created_at=T0, sent_at=None, decided_at=None,
                      updated_at=T0),
    "customers": dict(id="c1", tenant_id="acme", lead_id="l1", name="Cust", segment="smb", status="active",
                      health_score=90, created_at=T0, churned_at=None, updated_at=T0),
    "marketing_spend": dict(id="ms1", tenant_id="acme", channel="ads", spend_date=T0.date(), amount_cents=5000,
                            currency="USD", updated_at=T0),
    "tournaments": dict(id="t1", tenant_id="acme", name="Cup", format="swiss", status="scheduled",
                        entry_fee_cents=500, created_at=T0, started_at=None, ended_at=None, updated_at=T0),
    "tournament_entries": dict(id="te1", tenant_id="acme", tournament_id="t1", user_id="u1", registered_at=T0,
                               placement=None, updated_at=T0),
}


def row(table: str, **values: Any) -> dict[str, Any]:
    return {**DEFAULTS[table], **values}


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD[ HH:MM[:SS]]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def full_sources(**overrides: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One valid row in every table, with some tables replaced."""
    sources = {table: [row(table)] for table in DEFAULTS}
    sources.update(overrides)
    return sources


def sources_with(**tables: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The organization acme (USD) plus the given tables."""
    return {"organizations": [row("organizations")], **tables}


def file_line(**values: Any) -> str:
    event = {**DEFAULTS["events"], **values}
    return json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in event.items()})


# --------------------------------------------------------------------------- validation


def test_one_valid_row_per_table_is_accepted() -> None:
    result = ex.validate(full_sources(), [], AS_OF)
    assert result.quarantined == []
    assert {table: len(rows) for table, rows in result.accepted.items()} == {table: 1 for table in DEFAULTS}


def test_qualified_table_names_and_missing_tables_are_accepted() -> None:
    accepted = ex.accepted_rows({"app.organizations": [row("organizations")], "app.users": [row("users")]}, [], AS_OF)
    assert [u["id"] for u in accepted["users"]] == ["u1"]
    assert accepted["payments"] == []
    with pytest.raises(ValueError, match="unknown source table"):
        ex.accepted_rows({"app.userz": []}, [], AS_OF)


CASES: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("tenant null", "users", dict(tenant_id=None), ("unknown_tenant", "missing_required")),
    ("tenant unknown", "users", dict(tenant_id="initech"), ("unknown_tenant",)),
    ("required null", "users", dict(signup_at=None), ("missing_required",)),
    ("required empty", "payments", dict(user_id=""), ("missing_required",)),
    ("required char blank", "plans", dict(currency="   "), ("missing_required", "currency_mismatch")),
    ("id empty", "sales_reps", dict(id=""), ("missing_required",)),
    ("optional empty", "users", dict(email=""), ()),
    ("future by 1 day + 1 s", "events", dict(occurred_at=T0 + timedelta(days=1) + SECOND), ("future_timestamp",)),
    ("future by exactly 1 day", "events", dict(occurred_at=T0 + timedelta(days=1)), ()),
    ("past is fine", "events", dict(occurred_at=T0 - timedelta(days=30)), ()),
    (
        "future subscription event",
        "subscription_events",
        dict(occurred_at=T0 + timedelta(days=2)),
        ("future_timestamp",),
    ),
    ("organization of another tenant", "organizations", dict(tenant_id="globex"), ("unknown_tenant",)),
    ("implausible optional ts", "users", dict(deleted_at=at("1999-12-31 23:59:59")), ("implausible_timestamp",)),
    ("implausible settled_at", "payments", dict(settled_at=at("1970-01-01")), ("implausible_timestamp",)),
    ("2000-01-01 is plausible", "leads", dict(first_contact_at=at("2000-01-01")), ()),
    ("bad platform", "users", dict(platform="IOS"), ("invalid_enum",)),
    ("optional enum empty", "users", dict(platform=""), ("invalid_enum",)),
    ("optional enum null", "users", dict(platform=None), ()),
    ("required enum empty", "payments", dict(method=""), ("missing_required", "invalid_enum")),
    ("bad interval", "plans", dict(billing_interval="week"), ("invalid_enum",)),
    ("bad subscription event type", "subscription_events", dict(event_type="paused"), ("invalid_enum",)),
    ("bad subscription status", "subscription_events", dict(status="paused"), ("invalid_enum",)),
    ("bad webhook status", "webhook_deliveries", dict(status="lost"), ("invalid_enum",)),
    ("bad segment", "customers", dict(segment="huge"), ("invalid_enum",)),
    ("bad format", "tournaments", dict(format="ladder"), ("invalid_enum",)),
    ("app event_type is free", "events", dict(event_type="brand_new_type"), ()),
    ("webhook event_type is free", "webhook_deliveries", dict(event_type="anything"), ()),
    ("negative refund", "refunds", dict(amount_cents=-1), ("negative_amount",)),
    ("negative plan", "plans", dict(amount_cents=-100), ("negative_amount",)),
    ("zero amount", "payments", dict(amount_cents=0), ()),
    ("currency mismatch", "payments", dict(currency="EUR"), ("currency_mismatch",)),
    ("currency mismatch plan", "plans", dict(currency="usd"), ("currency_mismatch",)),
    ("properties string", "events", dict(properties="{}"), ("invalid_json",)),
    ("properties array", "events", dict(properties=[1]), ("invalid_json",)),
    ("properties null", "events", dict(properties=None), ()),
    ("orphan refund", "refunds", dict(payment_id="p404"), ("orphan_reference",)),
    ("orphan entry", "tournament_entries", dict(tournament_id="t404"), ("orphan_reference",)),
    ("orphan proposal", "proposals", dict(lead_id="l404"), ("orphan_reference",)),
    ("null reference", "refunds", dict(payment_id=None), ("missing_required",)),
    ("orphan plan", "subscription_events", dict(plan_id="gold"), ("orphan_reference",)),
    ("orphan subscription", "payments", dict(subscription_id="s404"), ("orphan_reference",)),
    ("no subscription is fine", "payments", dict(subscription_id=None), ()),
    ("score above 100", "leads", dict(score=101), ("out_of_range",)),
    ("score 100", "leads", dict(score=100), ()),
    ("negative health score", "customers", dict(health_score=-1), ("out_of_range",)),
    ("max-int health score", "customers", dict(health_score=2_147_483_647), ("out_of_range",)),
    ("probability above 1", "proposals", dict(win_probability=Decimal("1.01")), ("out_of_range",)),
    ("spend beyond numeric(14,2)", "marketing_spend", dict(amount_cents=100_000_000_000_000), ("out_of_range",)),
    ("spend at the money limit", "marketing_spend", dict(amount_cents=99_999_999_999_999), ()),
    ("spend dated 1999", "marketing_spend", dict(spend_date=date(1999, 12, 31)), ("implausible_timestamp",)),
    ("spend in euros at a dollar tenant", "marketing_spend", dict(currency="EUR"), ("currency_mismatch",)),
    ("negative spend", "marketing_spend", dict(amount_cents=-1), ("negative_amount",)),
    ("2,000,000,000 seats", "subscription_events", dict(quantity=2_000_000_000), ()),
    ("ARR past numeric(14,2)", "subscription_events", dict(quantity=8_333_333_334), ("out_of_range",)),  # x 1000 cents x 12
    ("ARR at numeric(14,2)", "subscription_events", dict(quantity=8_333_333_333), ()),
    (
        "several reasons",
        "payments",
        dict(amount_cents=-5, currency="EUR", method="cash"),
        ("invalid_enum", "negative_amount", "currency_mismatch"),
    ),
]


@pytest.mark.parametrize(("table", "changes", "reasons"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation_rule(table: str, changes: dict[str, Any], reasons: tuple[str, ...]) -> None:
    bad = row(table, **changes)
    result = ex.validate(full_sources(**{table: [bad]}), [], AS_OF)
    if reasons:
        assert [(q.table, q.reasons) for q in result.quarantined] == [(table, reasons)]
        assert result.quarantined[0].record == bad  # the row as landed
        assert result.accepted[table] == []
    else:
        assert result.quarantined == []
        assert len(result.accepted[table]) == 1


def test_accepted_rows_are_normalized() -> None:
    cet = timezone(timedelta(hours=1))
    accepted = ex.accepted_rows(
        sources_with(
            users=[row("users", email="", country="US", signup_at=datetime(2024, 1, 2, 0, 30, tzinfo=cet))],
            plans=[row("plans", currency="USD")],
        ),
        [],
        AS_OF,
    )
    user = accepted["users"][0]
    assert user["email"] == ""  # '' is a value, kept as landed
    assert user["signup_at"] == at("2024-01-01 23:30") and user["signup_at"].tzinfo == UTC


def test_reference_to_quarantined_but_visible_parent_is_known() -> None:
    bad_payment = row("payments", currency="EUR")
    result = ex.validate(sources_with(payments=[bad_payment], refunds=[row("refunds")]), [], AS_OF)
    assert [q.table for q in result.quarantined] == ["payments"]
    assert len(result.accepted["refunds"]) == 1


def test_reference_to_parent_not_yet_visible_is_an_orphan() -> None:
    later = ex.end_of_day(AS_OF)
    result = ex.validate(sources_with(leads=[row("leads", updated_at=later)], proposals=[row("proposals")]), [], AS_OF)
    assert [(q.table, q.reasons) for q in result.quarantined] == [("proposals", ("orphan_reference",))]
    assert result.accepted["leads"] == []


def test_tenant_is_known_through_any_visible_organization_row() -> None:
    odd_org = row("organizations", id="globex", tenant_id="globex", currency="EUR", created_at=at("1990-01-01"))
    result = ex.validate(
        {
            "organizations": [row("organizations"), odd_org],
            # no subscription: globex has none (a reference into acme's would be an orphan)
            "payments": [row("payments", tenant_id="globex", currency="EUR", subscription_id=None)],
        },
        [],
        AS_OF,
    )
    assert [(q.table, q.reasons) for q in result.quarantined] == [("organizations", ("implausible_timestamp",))]
    assert len(result.accepted["payments"]) == 1


def test_rows_changed_after_the_as_of_date_are_invisible() -> None:
    end = ex.end_of_day(AS_OF)
    result = ex.validate(
        sources_with(
            users=[row("users", id="late", updated_at=end), row("users", id="last", updated_at=end - SECOND / 10**6)],
            events=[
                row("events", id="late", received_at=end, occurred_at=end),
                row("events", id="bad-late", tenant_id=None, received_at=end + SECOND),
                row("events", id="db-no-key", received_at=None),  # extracted, then missing_required
            ],
            subscription_events=[row("subscription_events", received_at=end)],
            # a row without a key is extracted too (no subscription: no reference to resolve)
            payments=[row("payments", updated_at=None, subscription_id=None)],
        ),
        [
            file_line(id="file-late", received_at=end),
            file_line(id="file-ok", received_at=end - SECOND),
            file_line(id="file-no-key", received_at=None),  # visible, then missing_required
        ],
        AS_OF,
    )
    assert [(q.record["id"], q.reasons) for q in result.quarantined] == [
        ("db-no-key", ("missing_required",)), ("file-no-key", ("missing_required",))]
    assert [u["id"] for u in result.accepted["users"]] == ["last"]
    assert [e["id"] for e in result.accepted["events"]] == ["file-ok"]
    assert result.accepted["subscription_events"] == []
    assert [p["updated_at"] for p in result.accepted["payments"]] == [None]


def test_files_loaded_whole_makes_every_line_visible() -> None:
    late = file_line(id="file-late", received_at=ex.end_of_day(AS_OF) + timedelta(days=3))
    assert ex.accepted_rows(sources_with(), [late], AS_OF)["events"] == []
    accepted = ex.accepted_rows(sources_with(), [late], AS_OF, files_loaded_whole=True)
    assert [e["id"] for e in accepted["events"]] == ["file-late"]


# --------------------------------------------------------------------------- shared arithmetic (expected_calc)


def cases(*table: tuple[Any, ...]) -> list[Any]:
    """Parametrize rows whose first column is the case id."""
    return [pytest.param(*case[1:], id=case[0]) for case in table]


@pytest.mark.parametrize(("cents", "units"), cases(
    ("a twelfth of 9999 rounds down", Fraction(9999, 12), "8.33"),
    ("half a cent rounds away from zero", Fraction(1, 2), "0.01"),
    ("minus half a cent rounds away from zero", Fraction(-1, 2), "-0.01"),
    ("rounded once, not per term", Fraction(1000, 12) * 3, "2.50"),
    ("whole cents", -500, "-5.00"),
))
def test_cents_to_units_rounds_once_half_away_from_zero(cents: Fraction | int, units: str) -> None:
    assert str(ex.cents_to_units(cents)) == units


@pytest.mark.parametrize(("value", "places", "rounded"), cases(
    ("decimal half up", Decimal("2.345"), 2, "2.35"),
    ("negative decimal half away from zero", Decimal("-2.345"), 2, "-2.35"),
    ("a third to a rate", Fraction(1, 3), 4, "0.3333"),
    ("two thirds to a whole", Fraction(2, 3), 0, "1"),
    ("half of the last place", Decimal("0.00005"), 4, "0.0001"),
    ("just under half of the last place", Fraction(49_999, 10**9), 4, "0.0000"),
    ("a tiny negative is zero", Fraction(-1, 200_000), 4, "0.0000"),
))
def test_round_half_up(value: Decimal | Fraction, places: int, rounded: str) -> None:
    assert str(calc.round_half_up(value, places)) == rounded


@pytest.mark.parametrize(("numerator", "denominator", "places", "result"), cases(
    ("a third", 1, 3, 4, "0.3333"),
    ("two thirds", 2, 3, 4, "0.6667"),
    ("nothing out of nothing", 0, 0, 4, None),
    ("an average of cents", 5, 2, 2, "2.50"),
))
def test_rate(numerator: int, denominator: int, places: int, result: str | None) -> None:
    got = calc.rate(numerator, denominator, places)
    assert (None if got is None else str(got)) == result


@pytest.mark.parametrize(("values", "places", "result"), cases(
    ("two integers", [1, 2], 2, "1.50"),
    ("decimals rounded once", [Decimal("1.005"), Decimal("1.006")], 2, "1.01"),
    ("fractions", [Fraction(1, 3), Fraction(1, 3)], 4, "0.3333"),
    ("no value", [], 2, None),
))
def test_mean(values: list[Any], places: int, result: str | None) -> None:
    got = calc.mean(values, places)
    assert (None if got is None else str(got)) == result


@pytest.mark.parametrize(("values", "fraction", "result"), cases(
    ("p95 of four", [100, 200, 300, 400], 0.95, 385.0),
    ("median of four unsorted", [400, 100, 300, 200], 0.5, 250.0),
    ("p95 between two ranks", [1.0, 7, 13, 29, 31], 0.95, pytest.approx(30.6)),
    ("one value", [42], 0.99, 42.0),
    ("no value", [], 0.95, None),
))
def test_percentile_cont(values: list[float], fraction: float, result: Any) -> None:
    assert ex.percentile_cont(values, fraction) == result


@pytest.mark.parametrize(("period_type", "day", "start", "next_start"), cases(
    ("day", "day", "2024-02-29", "2024-02-29", "2024-03-01"),
    ("week of a leap day", "week", "2024-02-29", "2024-02-26", "2024-03-04"),
    ("week of a Monday", "week", "2024-02-26", "2024-02-26", "2024-03-04"),
    ("month", "month", "2024-02-29", "2024-02-01", "2024-03-01"),
    ("quarter", "quarter", "2024-02-29", "2024-01-01", "2024-04-01"),
    ("last quarter", "quarter", "2024-12-31", "2024-10-01", "2025-01-01"),
    ("year", "year", "2024-02-29", "2024-01-01", "2025-01-01"),
))
def test_period_start_and_next(period_type: str, day: str, start: str, next_start: str) -> None:
    got = calc.period_start(period_type, date.fromisoformat(day))
    assert (got.isoformat(), calc.next_period_start(period_type, got).isoformat()) == (start, next_start)


def test_periods_cover_first_to_last_and_unknown_types_are_named() -> None:
    assert calc.periods("quarter", date(2024, 2, 29), date(2024, 4, 1)) == [
        (date(2024, 1, 1), date(2024, 4, 1)), (date(2024, 4, 1), date(2024, 7, 1))]
    with pytest.raises(ValueError, match="unknown period type 'fortnight'"):
        calc.period_start("fortnight", date(2024, 1, 1))


# --------------------------------------------------------------------------- event files


def test_event_file_lines() -> None:
    lines = [
        file_line(id="f1", occurred_at="2024-01-02T10:00:00Z", received_at="2024-01-02T12:00:00+02:00"),
        "",
        "   ",
        "{not json",
        "[1, 2]",
        '"a string"',
        file_line(id="f2").replace('"properties": {}', '"properties": NaN'),
        file_line(id="f3", properties="{}"),
        file_line(id="f4", properties=None),
        json.dumps({k: v for k, v in json.loads(file_line(id="f5")).items() if k != "properties"}),
        file_line(id="f6", user_id=42, occurred_at="yesterday"),
        file_line(id="f7", extra_field="ignored"),
        file_line(id="f8", session_id={"nested": True}),
        file_line(id="f9", country="USA"),
        file_line(id="f10", received_at=1704189600),
    ]
    result = ex.validate(sources_with(), lines, AS_OF)
    quarantined = [(q.source, q.record.get("id") or q.record.get("line"), q.reasons) for q in result.quarantined]
    assert quarantined == [
        ("event_file", "{not json", ("invalid_json",)),
        ("event_file", "[1, 2]", ("invalid_json",)),
        ("event_file", '"a string"', ("invalid_json",)),
        ("event_file", lines[6], ("invalid_json",)),  # NaN is not valid JSON for jsonb
        ("event_file", "f3", ("invalid_json",)),
        ("event_file", "f6", ("missing_required", "invalid_json")),  # an unparseable timestamp is null
        ("event_file", "f8", ("invalid_json",)),  # an object where text is expected
        ("event_file", "f9", ("invalid_json",)),  # a country that does not fit char(2)
        ("event_file", "f10", ("missing_required", "invalid_json")),  # a number is no timestamp
    ]
    assert result.quarantined[0].record == {"file": "", "line_number": 4, "line": "{not json"}
    events = {e["id"]: e for e in result.accepted["events"]}
    assert sorted(events) == ["f1", "f4", "f5", "f7"]
    assert events["f1"]["occurred_at"] == events["f1"]["received_at"] == at("2024-01-02 10:00")
    assert set(events["f7"]) == set(DEFAULTS["events"])


def test_file_lines_jsonb_cannot_store_are_invalid_json() -> None:
    nul = file_line(id="n1", session_id="a\u0000b")  # json.dumps writes the escape \u0000
    surrogate = file_line(id="s1", platform="\ud800")
    in_key = file_line(id="k1").replace('"id"', '"\\udc00": 1, "id"')
    pair = file_line(id="p1", platform="\U0001F600")  # a surrogate pair escape is one character
    escaped_backslash = file_line(id="b1", platform="\\u0000")  # a backslash, then the text u0000
    result = ex.validate(sources_with(), [nul, surrogate, in_key, pair, escaped_backslash], AS_OF)
    assert [(q.record["line_number"], q.reasons) for q in result.quarantined] == [
        (1, ("invalid_json",)), (2, ("invalid_json",)), (3, ("invalid_json",))]
    assert sorted(e["id"] for e in result.accepted["events"]) == ["b1", "p1"]


def test_numbers_in_file_lines_read_as_text() -> None:
    accepted = ex.accepted_rows(sources_with(), [file_line(id=7, user_id=42)], AS_OF)
    assert (accepted["events"][0]["id"], accepted["events"][0]["user_id"]) == ("7", "42")


def test_event_ids_count_once_across_db_and_files() -> None:
    db_event = row("events", id="e1")
    changed_copy = file_line(id="e1", received_at=(T0 + SECOND).isoformat(), tenant_id=None)
    result = ex.validate(
        sources_with(events=[db_event]),
        [file_line(id="e1"), file_line(id="e1"), changed_copy, file_line(id="e2")],
        AS_OF,
    )
    assert sorted(e["id"] for e in result.accepted["events"]) == ["e1", "e2"]
    assert result.duplicates["events"] == 2  # identical copies of the DB row
    # a copy with other content is validated on its own, and conflicts with the first landed version
    assert [(q.record["id"], q.reasons) for q in result.quarantined] == [
        ("e1", ("unknown_tenant", "missing_required", "conflicting_duplicate"))]


def test_first_landed_version_of_an_append_only_row_is_kept() -> None:
    result = ex.validate(
        sources_with(events=[row("events", id="e1", received_at=T0 + SECOND, properties={"from": "db"})]),
        [file_line(id="e1", received_at=T0.isoformat(), properties={"from": "file"})],
        AS_OF,
    )
    assert [e["properties"] for e in result.accepted["events"]] == [{"from": "db"}]
    assert [(q.record["properties"], q.reasons) for q in result.quarantined] == [
        ({"from": "file"}, ("conflicting_duplicate",))]
    assert result.superseded["events"] == 0
    # a quarantined first copy is still the id's version: the later valid one conflicts with it
    result = ex.validate(
        sources_with(events=[row("events", id="e1", properties="oops")]),
        [file_line(id="e1", properties={"from": "file"})],
        AS_OF,
    )
    assert result.accepted["events"] == []
    assert [q.reasons for q in result.quarantined] == [("invalid_json",), ("conflicting_duplicate",)]
    # subscription events too; an identical re-landing stays a plain duplicate
    first = row("subscription_events", quantity=1)
    result = ex.validate(
        full_sources(subscription_events=[first, dict(first), row("subscription_events", quantity=2)]), [], AS_OF)
    assert [e["quantity"] for e in result.accepted["subscription_events"]] == [1]
    assert result.duplicates["subscription_events"] == 1
    assert [(q.table, q.reasons) for q in result.quarantined] == [("subscription_events", ("conflicting_duplicate",))]


def test_latest_accepted_version_of_a_mutable_row_is_kept() -> None:
    versions = [
        row("users", platform="web", updated_at=T0 + timedelta(hours=2)),
        row("users", platform="ios", updated_at=T0),
        row("users", platform="tv", updated_at=T0 + timedelta(hours=3)),  # invalid: quarantined
        row("users", platform="web", updated_at=T0 + timedelta(hours=2)),  # identical: a duplicate
    ]
    result = ex.validate(sources_with(users=versions), [], AS_OF)
    assert [u["platform"] for u in result.accepted["users"]] == ["web"]
    assert (result.duplicates["users"], result.superseded["users"], len(result.quarantined)) == (1, 1, 1)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-01-02T10:00:00Z", "2024-01-02 10:00:00"),
        ("2024-01-02t10:00:00z", "2024-01-02 10:00:00"),
        ("2024-01-02 10:00", "2024-01-02 10:00:00"),
        ("2024-01-02", "2024-01-02 00:00:00"),
        ("2024-01-02T10:00:00+0530", "2024-01-02 04:30:00"),
        ("2024-01-02T10:00:00-03", "2024-01-02 13:00:00"),
        ("2024-01-02T10:00:00.5 +01:00", "2024-01-02 09:00:00.5"),
        ("2024-01-02T10:00:00.1234567Z", "2024-01-02 10:00:00.123457"),
        ("2024-02-30T10:00:00Z", None),
        ("now", None),
        ("20240102T100000Z", None),
        ("2024-01-02T10Z", None),
        (" 2024-01-02", None),
    ],
)
def test_parse_iso_timestamp(text: str, instant: str | None) -> None:
    assert ex.parse_iso_timestamp(text) == (at(instant) if instant else None)


def test_read_event_files(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text('{"id": "x"}\n\n{"id": "y"}\n', encoding="utf-8")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"id": "z"}\r\nnot json'))
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    lines = ex.read_event_files(tmp_path)
    assert lines == [
        ex.EventFileLine("a.jsonl.gz", 1, '{"id": "z"}'),
        ex.EventFileLine("a.jsonl.gz", 2, "not json"),
        ex.EventFileLine("b.jsonl", 1, '{"id": "x"}'),
        ex.EventFileLine("b.jsonl", 2, ""),
        ex.EventFileLine("b.jsonl", 3, '{"id": "y"}'),
        ex.EventFileLine("b.jsonl", 4, ""),
    ]
    result = ex.validate(sources_with(), lines, AS_OF)
    assert [q.record for q in result.quarantined if q.reasons == ("invalid_json",)] == [
        {"file": "a.jsonl.gz", "line_number": 2, "line": "not json"}
    ]


# --------------------------------------------------------------------------- users


def event(event_id: str, user: str | None, occurred: str, event_type: str = "app_open", **kw: Any) -> dict[str, Any]:
    when = at(occurred)
    return row("events", id=event_id, user_id=user, event_type=event_type, occurred_at=when,
               received_at=kw.pop("received_at", when), **kw)


def events(*table: tuple[Any, ...]) -> list[dict[str, Any]]:
    """App events from rows of (id, user_id, occurred_at, event_type)."""
    return [event(*columns) for columns in table]


def test_daily_active_users_and_covered_range() -> None:
    plus2 = timezone(timedelta(hours=2))
    accepted = ex.accepted_rows(
        sources_with(
            events=[
                event("a", "u1", "2024-01-03 08:00"),
                event("b", "u1", "2024-01-03 09:00", "message_sent"),
                event("c", "u2", "2024-01-03 23:59:59"),
                event("d", None, "2024-01-02 12:00"),  # no user: starts the range, counts nobody
                row(
                    "events",
                    id="e",
                    user_id="u3",
                    occurred_at=datetime(2024, 1, 6, 1, 0, tzinfo=plus2),
                    received_at=at("2024-01-05 23:30"),
                ),  # UTC date 2024-01-05
                event("f", "u4", "2024-01-06 00:30", received_at=at("2024-01-05 23:00")),  # occurs after as-of
                event("g", "u5", "2024-01-04 10:00", tenant_id="initech"),  # quarantined
            ]
        ),
        [],
        date(2024, 1, 5),
    )
    assert ex.covered_ranges(accepted, date(2024, 1, 5)) == {"acme": (date(2024, 1, 2), date(2024, 1, 5))}
    assert ex.daily_active_users(accepted, date(2024, 1, 5)) == {
        ("acme", date(2024, 1, 2)): 0,
        ("acme", date(2024, 1, 3)): 2,
        ("acme", date(2024, 1, 4)): 0,
        ("acme", date(2024, 1, 5)): 1,
    }
    assert ex.daily_active_users(accepted, date(2024, 1, 5), zero_rows=False) == {
        ("acme", date(2024, 1, 3)): 2,
        ("acme", date(2024, 1, 5)): 1,
    }


def test_new_users_by_signup_date() -> None:
    as_of = date(2024, 1, 4)
    accepted = ex.accepted_rows(
        sources_with(
            users=[
                row("users", id="u1", signup_at=at("2024-01-02 00:00")),
                row("users", id="u2", signup_at=at("2024-01-02 23:59"), deleted_at=at("2024-01-03")),
                row("users", id="u3", signup_at=at("2024-01-04 12:00")),
                row("users", id="u4", signup_at=at("2024-01-05 12:00")),  # signs up after as-of
            ]
        ),
        [],
        as_of,
    )
    assert ex.new_users(accepted, as_of) == {
        ("acme", date(2024, 1, 2)): 2,
        ("acme", date(2024, 1, 3)): 0,
        ("acme", date(2024, 1, 4)): 1,
    }


# --------------------------------------------------------------------------- MRR


def sub_event(
    event_id: str,
    user: str,
    sub: str,
    occurred: str,
    status: str,
    plan: str = "basic",
    quantity: int = 1,
    event_type: str = "plan_changed",
    received: str | None = None,
) -> dict[str, Any]:
    return row("subscription_events", id=event_id, user_id=user, subscription_id=sub, event_type=event_type,
               status=status, plan_id=plan, quantity=quantity, occurred_at=at(occurred),
               received_at=at(received or occurred))


PLANS = [
    row("plans", id="basic", amount_cents=1000),
    row("plans", id="pro", amount_cents=2000),
    row("plans", id="annual", billing_interval="year", amount_cents=9999),
    row("plans", id="ghost", currency="EUR"),  # known but quarantined (acme bills in USD): prices at 0
]
MRR_AS_OF = date(2024, 6, 15)
MRR_EVENTS = [  # deliberately out of order
    sub_event("x09", "u1", "s1", "2024-06-12 00:00", "past_due", event_type="past_due"),
    sub_event("x01", "u1", "s1", "2024-01-10 00:00", "trialing", event_type="created"),
    sub_event("x02", "u1", "s1", "2024-01-20 00:00", "active", event_type="activated"),
    sub_event("x03", "u1", "s1", "2024-02-05 00:00", "active", plan="pro"),
    sub_event("x04", "u1", "s1", "2024-03-03 00:00", "active", plan="basic"),
    sub_event("x06", "u1", "s1", "2024-05-01 00:00", "canceled", event_type="canceled"),  # applies to May
    sub_event("x07", "u1", "s1", "2024-06-10 00:00", "active", event_type="reactivated"),
    sub_event("x10", "u1", "s1", "2024-06-16 01:00", "canceled", received="2024-06-15 23:00"),  # after as-of
    sub_event("y01", "u2", "s2", "2024-03-01 00:00", "active", plan="annual", event_type="activated"),
    sub_event("z01", "u3", "s3", "2024-02-01 00:00", "active", plan="ghost", event_type="activated"),
    sub_event("w01", "u4", "s4", "2024-02-03 00:00", "active", event_type="activated"),
    sub_event("w02", "u4", "s4", "2024-02-20 00:00", "canceled", event_type="canceled"),
    sub_event("w03", "u4", "s4", "2024-04-02 00:00", "active", quantity=3, event_type="reactivated"),
    sub_event("v01", "u5", "s5", "2024-04-10 00:00", "active", event_type="activated"),
    sub_event("v02", "u5", "s6", "2024-04-11 00:00", "active", plan="pro", quantity=2, event_type="activated"),
    sub_event("v03", "u5", "s5", "2024-05-11 00:00", "active", quantity=2, event_type="quantity_changed"),
]


def mrr_accepted() -> dict[str, list[dict[str, Any]]]:
    accepted = ex.accepted_rows(sources_with(plans=PLANS, subscription_events=MRR_EVENTS), [], MRR_AS_OF)
    assert len(accepted["subscription_events"]) == len(MRR_EVENTS)
    return accepted


@pytest.mark.parametrize(("instant", "customer", "mrr", "only_customer"), cases(
    ("trialing pays nothing", "2024-01-15", "u1", "0.00", True),
    ("activation applies after its instant (<)", "2024-01-20", "u1", "0.00", True),
    ("active a second later", "2024-01-20 00:00:01", "u1", "10.00", False),
    ("9999 / 12 cents", "2024-05-01", "u2", "8.33", False),
    ("unknown plan", "2024-05-01", "u3", "0.00", False),
    ("10 + 2 * 20 over two subscriptions", "2024-05-01", "u5", "50.00", False),
    ("past_due counts", "2024-06-13", "u1", "10.00", False),
))
def test_customer_mrr_at_an_instant(instant: str, customer: str, mrr: str, only_customer: bool) -> None:
    got = ex.customer_mrr_at(mrr_accepted(), at(instant))
    assert str(got[("acme", customer)]) == mrr
    if only_customer:
        assert set(got) == {("acme", customer)}


MOVEMENTS = {  # user: {month: (mrr, previous_mrr, movement)}
    "u1": {
        "2024-01": ("10.00", "0.00", "new"),
        "2024-02": ("20.00", "10.00", "expansion"),
        "2024-03": ("10.00", "20.00", "contraction"),
        "2024-04": ("10.00", "10.00", "unchanged"),
        "2024-05": ("0.00", "10.00", "churn"),
        "2024-06": ("10.00", "0.00", "reactivation"),  # the as-of month ends with the as-of date
    },
    "u2": {
        "2024-03": ("8.33", "0.00", "new"),
        "2024-04": ("8.33", "8.33", "unchanged"),
        "2024-05": ("8.33", "8.33", "unchanged"),
        "2024-06": ("8.33", "8.33", "unchanged"),
    },
    "u3": {},
    # canceled within February: never > 0 at a month end, so April is new, not a reactivation
    "u4": {
        "2024-04": ("30.00", "0.00", "new"),
        "2024-05": ("30.00", "30.00", "unchanged"),
        "2024-06": ("30.00", "30.00", "unchanged"),
    },
    "u5": {
        "2024-04": ("50.00", "0.00", "new"),
        "2024-05": ("60.00", "50.00", "expansion"),
        "2024-06": ("60.00", "60.00", "unchanged"),
    },
}


@pytest.mark.parametrize(("user", "months"), MOVEMENTS.items(), ids=MOVEMENTS)
def test_mrr_movements_every_type(user: str, months: dict[str, tuple[str, str, str]]) -> None:
    movements = ex.mrr_movements(mrr_accepted(), MRR_AS_OF)
    got = {m.isoformat()[:7]: (str(v[0]), str(v[1]), v[2]) for (_, m, u), v in movements.items() if u == user}
    assert got == months
    assert {t for t, _, _ in movements} == {"acme"}
    assert {u for _, _, u in movements} <= set(MOVEMENTS)


def test_reactivation_decided_before_expansion_and_churn_to_zero_quantity() -> None:
    events = [
        sub_event("a1", "u1", "s1", "2024-01-05", "active", event_type="activated"),
        sub_event("a2", "u1", "s1", "2024-02-05", "canceled", event_type="canceled"),
        sub_event("a3", "u1", "s1", "2024-03-05", "active", plan="pro", event_type="reactivated"),
        sub_event("a4", "u1", "s1", "2024-04-05", "active", plan="pro", quantity=0, event_type="quantity_changed"),
    ]
    accepted = ex.accepted_rows(sources_with(plans=PLANS, subscription_events=events), [], date(2024, 4, 30))
    got = {m.month: v[2] for (_, m, _), v in ex.mrr_movements(accepted, date(2024, 4, 30)).items()}
    assert got == {1: "new", 2: "churn", 3: "reactivation", 4: "churn"}


# --------------------------------------------------------------------------- retention


def test_retention_cohorts_week_and_month() -> None:
    as_of = date(2024, 1, 24)  # a Wednesday
    accepted = ex.accepted_rows(
        sources_with(
            users=[
                row("users", id="u1", signup_at=at("2024-01-01 09:00")),
                row("users", id="u2", signup_at=at("2024-01-03 09:00")),
                row("users", id="u3", signup_at=at("2024-01-10 09:00")),
            ],
            events=[
                event("a", "u1", "2024-01-01 10:00"),
                event("b", "u1", "2024-01-09 10:00"),
                event("c", "u1", "2024-01-22 10:00"),
                event("d", "u2", "2024-01-02 10:00"),  # before its signup, same period 0
                event("e", "u9", "2024-01-09 10:00"),  # not a cohort user
            ],
        ),
        [],
        as_of,
    )
    cohorts = ex.retention_cohorts(accepted, as_of)
    weeks = {(start.isoformat(), n): v for (_, grain, start, n), v in cohorts.items() if grain == "week"}
    assert weeks == {
        ("2024-01-01", 0): (2, 2),
        ("2024-01-01", 1): (2, 1),
        ("2024-01-01", 2): (2, 0),
        ("2024-01-01", 3): (2, 1),
        ("2024-01-08", 0): (1, 0),
        ("2024-01-08", 1): (1, 0),
        ("2024-01-08", 2): (1, 0),
        ("2024-01-15", 0): (0, 0),
        ("2024-01-15", 1): (0, 0),
        ("2024-01-22", 0): (0, 0),
    }
    months = {(start, n): v for (_, grain, start, n), v in cohorts.items() if grain == "month"}
    assert months == {(date(2024, 1, 1), 0): (3, 2)}
    non_empty = ex.retention_cohorts(accepted, as_of, include_empty_cohorts=False)
    assert {start for (_, g, start, _) in non_empty if g == "week"} == {date(2024, 1, 1), date(2024, 1, 8)}


def test_retention_stops_at_period_twelve() -> None:
    as_of = date(2025, 6, 1)
    accepted = ex.accepted_rows(
        sources_with(
            users=[row("users", signup_at=at("2024-01-15"))],
            events=[event("a", "u1", "2025-01-20"), event("b", "u1", "2025-02-03")],
        ),
        [],
        as_of,
    )
    months = {
        n: v
        for (_, g, start, n), v in ex.retention_cohorts(accepted, as_of).items()
        if g == "month" and start == date(2024, 1, 1)
    }
    assert sorted(months) == list(range(13))
    assert months[12] == (1, 1) and months[0] == (1, 0)


# --------------------------------------------------------------------------- funnels


def test_onboarding_funnel_out_of_order_events() -> None:
    as_of = date(2024, 3, 31)
    accepted = ex.accepted_rows(
        sources_with(
            events=events(
                # user a: out of order; steps only count at or after the previous step
                ("a1", "a", "2024-01-03 10:00", "registration_start"),
                ("a2", "a", "2024-01-03 10:02", "registration_complete"),
                ("a3", "a", "2024-01-03 10:05", "app_open"),
                ("a4", "a", "2024-01-03 10:10", "registration_start"),
                ("a5", "a", "2024-01-03 10:15", "match_created"),
                ("a6", "a", "2024-01-03 10:20", "registration_complete"),
                ("a7", "a", "2024-01-04 10:00", "app_open"),  # starts a session: step 4 (first_session)
                ("a8", "a", "2024-01-04 10:00", "message_sent"),  # step 5 (first match) never reached
                # user b: enters on Sunday 2024-01-07 (week of 2024-01-01); step 2 outside the 30-day window
                ("b1", "b", "2024-01-07 12:00", "app_open"),
                ("b2", "b", "2024-02-06 12:00:01", "registration_start"),
                # user c: same instant counts ("at or after"); exactly 30 days counts; c3 starts a session at
                # the instant of registration_complete, so first_session is reached then too
                ("c1", "c", "2024-01-08 09:00", "app_open"),
                ("c2", "c", "2024-01-08 09:00", "registration_start"),
                ("c3", "c", "2024-02-07 09:00", "registration_complete"),
                # no user: ignored; a user who never opens the app never enters
                ("n1", None, "2024-01-08 09:00", "app_open"),
                ("d1", "d", "2024-01-08 09:00", "registration_start"),
            )
        ),
        [],
        as_of,
    )
    progress = ex.funnel_progress(accepted, as_of, ex.ONBOARDING)
    assert progress[("acme", "a")] == [
        at("2024-01-03 10:05"), at("2024-01-03 10:10"), at("2024-01-03 10:20"), at("2024-01-04 10:00")]
    assert progress[("acme", "b")] == [at("2024-01-07 12:00")]
    assert progress[("acme", "c")] == [at("2024-01-08 09:00"), at("2024-01-08 09:00"), at("2024-02-07 09:00"),
                                       at("2024-02-07 09:00")]
    assert set(progress) == {("acme", "a"), ("acme", "b"), ("acme", "c")}
    counts = ex.funnel_counts(accepted, as_of, [ex.ONBOARDING], zero_rows=False)
    assert counts == {
        ("acme", "onboarding", date(2024, 1, 1), 1): 2,
        ("acme", "onboarding", date(2024, 1, 1), 2): 1,
        ("acme", "onboarding", date(2024, 1, 1), 3): 1,
        ("acme", "onboarding", date(2024, 1, 1), 4): 1,
        ("acme", "onboarding", date(2024, 1, 8), 1): 1,
        ("acme", "onboarding", date(2024, 1, 8), 2): 1,
        ("acme", "onboarding", date(2024, 1, 8), 3): 1,
        ("acme", "onboarding", date(2024, 1, 8), 4): 1,
    }
    full = ex.funnel_counts(accepted, as_of, [ex.ONBOARDING])
    weeks = sorted({week for (_, _, week, _) in full})
    assert weeks[0] == date(2024, 1, 1) and weeks[-1] == date(2024, 3, 25) and len(weeks) == 13
    assert len(full) == 13 * 8 and full[("acme", "onboarding", date(2024, 1, 1), 8)] == 0


def proposal(pid: str, lead: str, status: str, sent: str, decided: str) -> dict[str, Any]:
    return row("proposals", id=pid, lead_id=lead, status=status, sent_at=at(sent), decided_at=at(decided))


def test_sales_funnel_from_crm_timestamps() -> None:
    as_of = date(2024, 3, 31)
    accepted = ex.accepted_rows(
        sources_with(
            users=[row("users", signup_at=at("2024-01-01"))],
            leads=[
                row("leads", id="l1", created_at=at("2024-01-02"), qualified_at=at("2024-01-05")),
                row("leads", id="l2", created_at=at("2024-01-10"), qualified_at=at("2024-01-09")),  # qualified "before"
            ],
            proposals=[
                proposal(pid, lead, status, sent, decided)
                for pid, lead, status, sent, decided in [
                    ("p1", "l1", "rejected", "2024-01-06", "2024-01-08"),
                    ("p2", "l1", "accepted", "2024-01-10", "2024-01-12"),
                    ("p3", "l2", "accepted", "2024-01-11", "2024-01-12"),
                ]
            ],
            customers=[
                row("customers", id="c1", lead_id="l1", created_at=at("2024-01-15")),
                row("customers", id="c2", lead_id=None, created_at=at("2024-01-15")),
            ],
        ),
        [],
        as_of,
    )
    assert ex.funnel_progress(accepted, as_of, ex.SALES) == {
        ("acme", "l1"): [at("2024-01-02"), at("2024-01-05"), at("2024-01-06"), at("2024-01-12"), at("2024-01-15")],
        ("acme", "l2"): [at("2024-01-10")],
    }
    counts = ex.funnel_counts(accepted, as_of, [ex.SALES], zero_rows=False)
    assert counts == {("acme", "sales", date(2024, 1, 1), n): 1 for n in range(1, 6)} | {
        ("acme", "sales", date(2024, 1, 8), 1): 1
    }


# --------------------------------------------------------------------------- payments


def payment(pid: str, created: str, status: str, latency_ms: int | None = None, method: str = "card") -> dict:
    created_at = at(created)
    settled = None if latency_ms is None else created_at + timedelta(milliseconds=latency_ms)
    # one-off payments: no subscription to resolve
    return row("payments", id=pid, created_at=created_at, settled_at=settled, status=status, method=method,
               subscription_id=None, updated_at=created_at)


PAYMENTS_AS_OF = date(2024, 1, 3)
PAYMENTS = [
    payment("p1", "2024-01-02 10:00", "succeeded", 100),
    payment("p2", "2024-01-02 11:00", "refunded", 400),
    payment("p3", "2024-01-02 12:00", "succeeded", 300),
    payment("p4", "2024-01-02 23:59:59", "succeeded"),  # no settled_at: no latency
    payment("p5", "2024-01-02 13:00", "failed", 50),  # failures have no latency
    payment("p6", "2024-01-02 14:00", "pending"),
    payment("p7", "2024-01-02 14:00", "succeeded", 200),
    payment("p8", "2024-01-03 09:00", "pending", method="wallet"),
]
PAYMENT_DAY_COLUMNS = ("attempts", "succeeded", "failed", "pending", "success_rate", "latency_p95_ms")


@pytest.mark.parametrize(("day", "method", "figures"), cases(
    ("card day", "2024-01-02", "card", (7, 5, 1, 1, Decimal("0.8333"), 385.0)),
    ("a pending wallet attempt", "2024-01-03", "wallet", (1, 0, 0, 1, None, None)),
    ("a used method on a day without attempts", "2024-01-03", "card", (0, 0, 0, 0, None, None)),
))
def test_payments_daily(day: str, method: str, figures: tuple[Any, ...]) -> None:
    accepted = ex.accepted_rows(sources_with(payments=PAYMENTS), [], PAYMENTS_AS_OF)
    daily = ex.payments_daily(accepted, PAYMENTS_AS_OF)
    assert daily[("acme", date.fromisoformat(day), method)] == dict(zip(PAYMENT_DAY_COLUMNS, figures, strict=True))
    assert len(daily) == 2 * 2  # every covered day x every method the tenant used
    assert len(ex.payments_daily(accepted, PAYMENTS_AS_OF, zero_rows=False)) == 2


def test_event_file_line_shapes() -> None:
    text = file_line(id="f1")
    shapes = [
        text,
        ex.EventFileLine("a.jsonl", 3, text),
        ("a.jsonl", 3, text),
        {"file": "a.jsonl", "line_number": 3, "line": text, "value": None},
    ]
    for shape in shapes:
        assert [e["id"] for e in ex.accepted_rows(sources_with(), [shape], AS_OF)["events"]] == ["f1"]
    result = ex.validate(sources_with(), [("a.jsonl", 3, "oops"), "oops"], AS_OF)
    assert [q.record for q in result.quarantined] == [
        {"file": "a.jsonl", "line_number": 3, "line": "oops"},
        {"file": "", "line_number": 2, "line": "oops"},
    ]


@pytest.mark.parametrize(("table", "parent_table", "parent_changes"), cases(
    ("refund of globex's payment", "refunds", "payments", dict(currency="EUR")),
    ("entry in globex's tournament", "tournament_entries", "tournaments", {}),
    ("proposal for globex's lead", "proposals", "leads", {}),
    ("event on globex's plan", "subscription_events", "plans", dict(currency="EUR")),
    ("payment of globex's subscription", "payments", "subscription_events", {}),
))
def test_a_reference_resolves_only_within_its_tenant(table: str, parent_table: str, parent_changes: dict) -> None:
    """acme's row names an id that only globex has: an orphan, even though the id exists."""
    parent = row(parent_table, tenant_id="globex", **parent_changes)
    sources = full_sources(**{table: [row(table)], parent_table: [parent]})
    sources["organizations"] = [row("organizations"), row("organizations", id="globex", tenant_id="globex",
                                                           currency="EUR")]
    result = ex.validate(sources, [], AS_OF)
    assert (table, ("orphan_reference",)) in [(q.table, q.reasons) for q in result.quarantined]
    assert result.accepted[table] == []
