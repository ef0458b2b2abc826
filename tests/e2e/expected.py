"""An independent, pure-Python reference implementation of the Meridian metric definitions.

The end-to-end test computes the marts a second way with this module and compares them
with what the pipeline (extract -> raw -> dbt) built. Nothing here is shared with the
dbt models: it reads the contract (docs/sources.md and docs/metrics.md) and the table
spec in ``meridian.sources.schema`` (column lists, ENUMS, required columns) only.

Inputs
------
``sources``
    ``{table_name: [row, ...]}`` with the rows of each source table as read by a plain
    ``select * from public.<table>`` (psycopg2 types: ``timestamptz`` -> timezone-aware
    ``datetime``, ``jsonb`` -> parsed Python value, ``char(n)`` -> blank-padded ``str``,
    ``integer`` -> ``int``, ``numeric`` -> ``Decimal``). Keys are bare table names
    (``"users"``) or qualified ones (``"app.users"``); a missing table counts as empty.
``event_file_lines``
    the lines of the landing files (``*.jsonl`` / ``*.jsonl.gz``, decompressed), each a
    plain ``str``, an :class:`EventFileLine` / ``(file, line_number, text)`` tuple, or a
    mapping with ``file``, ``line_number``, ``line``; :func:`read_event_files` reads them.
``as_of``
    the run's as-of ``date``. Its end, ``as_of + 1 day`` at 00:00 UTC, bounds everything.

Interpretation choices (where the contract leaves room; the dbt models must agree)
---------------------------------------------------------------------------------
Validation (docs/sources.md). Where a choice was open, the reading taken is the literal one,
and it matches the staging models as written so far (dbt_project/models/staging):

1.  Visibility = what the extract window ``[watermark, end of as-of)`` can have read: a
    database row is visible when its extraction key (``updated_at`` for mutable tables,
    ``received_at`` for ``events`` and ``subscription_events``) is before the end of the
    as-of date, or null (docs/sources.md, "Nothing lost at extraction": such a row is extracted
    too). Invisible rows are not validated, quarantined or counted. An event-file line is visible when
    its ``received_at`` is before the end of as-of or is null/unparseable; with
    ``files_loaded_whole=True`` every line is (a file is loaded whole by its run).
2.  ``''`` is a value: it is ``missing_required`` in a required column, ``invalid_enum``
    in an enum column (also when the column is optional), and it stays ``''`` in the
    accepted rows (a ``''`` user_id is a user). ``char(n)`` values lose their blank
    padding (PostgreSQL reads ``''`` in ``char(3)`` as ``'   '``, which is empty).
    Whitespace in ``text`` columns is significant (``' '`` is not empty).
3.  Tenants: the known tenants are the ids of all visible organization rows, whatever
    their own validity, each with the currency of its latest version. An organization's
    own ``tenant_id`` must equal its ``id`` (else ``unknown_tenant``). ``currency_mismatch``
    is checked on plans and payments, only for a known tenant and when both currencies
    are non-null, case-sensitively.
4.  ``orphan_reference``: a non-empty reference (refunds.payment_id, tournament_entries.
    tournament_id, proposals.lead_id, subscription_events.plan_id, payments.subscription_id)
    is known when a visible row of the parent table in the row's own tenant has that id
    (for payments: a subscription event with that subscription_id), whatever the parent's
    validity. A reference into another tenant is an orphan. An empty reference is only
    ``missing_required`` (payments.subscription_id is optional: empty is fine).
5.  ``future_timestamp``: ``occurred_at > received_at + 1 day`` (strictly), on app events
    (DB rows and file lines) and on subscription_events.
6.  ``implausible_timestamp``: any non-null ``timestamptz`` column of the table (including
    updated_at, deleted_at, settled_at, ...) strictly before 2000-01-01T00:00:00Z.
7.  ``negative_amount``: columns named ``amount_cents`` only (not entry_fee_cents).
8.  ``invalid_enum``: exactly the columns of ``ENUMS``, case-sensitive; app event_type,
    events.platform and webhook event_type are free text.
9.  Event files: a line that does not parse as JSON (NaN/Infinity rejected, as jsonb
    does; so is a string or key holding NUL or a lone UTF-16 surrogate, from a
    ``\u0000`` or ``\ud800`` escape) or is not an object is quarantined with ``invalid_json`` alone, as
    ``{"file", "line_number", "line"}``. Blank (whitespace-only) lines are not records
    and are skipped. Keys other than the app.events columns are ignored; absent keys
    are null. Scalars read as ``->>`` does (numbers and booleans as their JSON text).
    Timestamps must be ISO-8601 ``YYYY-MM-DD[( |T)hh:mm[:ss[.f]][Z|+hh[[:]mm]]]``
    (no offset = UTC). A field of the wrong type (object/array where text is expected,
    a timestamp that does not parse, a country longer than 2 characters) makes the
    line ``invalid_json``, and the field is null (so a bad required timestamp is also
    ``missing_required``). ``properties`` must be an object or null (absent or JSON
    null), else ``invalid_json`` (DB rows too).
10. Duplicates and versions: within a table, a row whose id (non-empty) and contract
    columns equal those of an earlier landed row is a duplicate: counted, not validated.
    In ``events`` and ``subscription_events`` (append-only) a non-duplicate row whose id
    landed before with other content is ``conflicting_duplicate``: the id's first landed
    row is its version, valid or not (a quarantined first version leaves the id without
    an accepted row).
10a. ``out_of_range``: leads.score or customers.health_score outside 0-100,
    proposals.win_probability outside 0-1, and a subscription event whose ARR at its
    plan's current accepted amount (looked up by tenant and plan id; amount * quantity
    * 12, or round(amount * quantity / 12) * 12 for yearly plans) exceeds
    99,999,999,999,999 cents (numeric(14,2)).
    Landing order is the database rows in input order, then the file lines in input
    order. Every other row is validated; among the accepted versions of one id, events
    and subscription events keep the first landed, mutable tables the latest
    ``updated_at`` (ties to the later landed). Event ids are shared by DB rows and file
    lines.

Metrics (docs/metrics.md):

11. Activity after the end of the as-of date (an event occurring up to a day after it
    arrived, a signup_at in the future, ...) is ignored by every metric: marts end at as-of.
12. Covered range of a tenant: from the UTC date of its earliest accepted signup_at, event
    occurred_at (with or without user), subscription event occurred_at or payment
    created_at, through as-of. Functions with ``zero_rows=True`` (the default) return a row
    for every grain value in that range, zeros included (payments: every method the tenant
    has used by as-of, on every day of the range; a tenant without payments has no rows).
13. Active users and funnel users are keyed by (tenant_id, user_id) of the event; the user
    need not exist in ``users``; a null user_id is nobody. Deleted users (deleted_at set)
    still count everywhere.
14. MRR: subscriptions are keyed by (tenant_id, subscription_id); events are ordered by
    (occurred_at, received_at, id). The state of the last event with ``occurred_at < t``
    holds at instant ``t``; the customer is that event's user_id. The plan is looked up by
    (tenant_id, plan_id) among accepted plans, with its current amount and interval for all
    of history; an unknown or quarantined plan contributes 0. A customer's MRR is the exact
    sum of ``amount_cents * quantity`` (``/ 12`` for yearly) over its subscriptions, then
    ``/ 100`` rounded once to 2 places (half away from zero). Movements compare those
    rounded values. ``previous_mrr`` of the tenant's first month is the MRR at its start
    (0 by construction). "> 0 at an earlier month end" means at the end of any earlier
    covered month. A customer with a subscription but MRR 0 is in ``customer_mrr_at`` with 0.
15. Retention: cohorts are users by signup_at UTC week (Monday) / month; with
    ``include_empty_cohorts`` every week/month of the covered range is a cohort, empty
    ones as (0, 0). A user is retained in period n when it has an accepted event with
    occurred_at inside period n (activity before signup in period 0 counts). A period has
    started when its first day <= as_of; the period in progress counts activity to as-of.
16. Funnels: ``onboarding`` steps are app events (entity = the event's user, null user_id
    ignored); ``sales`` steps are CRM business events (entity = lead): lead_created =
    leads.created_at, lead_qualified = leads.qualified_at, proposal_sent = sent_at of any
    of the lead's proposals (any status), proposal_accepted = decided_at of the lead's
    proposals with status ``accepted``, customer_created = created_at of customers whose
    lead_id is the lead (same tenant), all from accepted rows. Entry = earliest step-1 time;
    step k is reached at the earliest step-k time >= the step k-1 time and
    <= entry + window_days (inclusive). cohort_week = Monday of the entry's UTC date. With
    ``zero_rows`` every (week, funnel, step) from the tenant's covered start (or its first
    funnel entry, if earlier) to the as-of week is a row.
17. Payments daily: payment_date = created_at UTC date; succeeded = status ``succeeded`` or
    ``refunded``; success_rate is a ``Decimal`` rounded to 4 places (numeric(7,4)), None
    when succeeded + failed = 0; latency = settled_at - created_at in ms (float) of
    succeeded attempts that have settled_at (negative values kept), p95 by
    :func:`percentile_cont` (PostgreSQL's formula), unrounded (the mart stores it as
    numeric(14,2): compare after rounding to 2 places), None when there is none.
"""

from __future__ import annotations

import gzip
import json
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from meridian.sources.schema import ENUMS, TABLES, SourceTable
from tests.e2e.expected_calc import (
    add_months,
    cents_to_units,
    mean,
    month_start,
    percentile_cont,
    rate,
    round_half_up,
    week_start,
)

Row = dict[str, Any]
Accepted = Mapping[str, Sequence[Row]]

PLAUSIBLE_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)
SPECS: dict[str, SourceTable] = {spec.name: spec for spec in TABLES}
APPEND_ONLY = frozenset(spec.name for spec in TABLES if spec.extract_key == "received_at")
EVENT_TABLES = APPEND_ONLY  # tables with occurred_at and received_at: events, subscription_events
# (child table, reference column, parent table, parent column) checked by orphan_reference,
# within the row's tenant
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("refunds", "payment_id", "payments", "id"),
    ("tournament_entries", "tournament_id", "tournaments", "id"),
    ("proposals", "lead_id", "leads", "id"),
    ("subscription_events", "plan_id", "plans", "id"),
    ("payments", "subscription_id", "subscription_events", "subscription_id"),
)
# (table, column, lowest, highest): values the marts cannot hold are out_of_range
RANGES: tuple[tuple[str, str, Any, Any], ...] = (
    ("leads", "score", 0, 100),
    ("customers", "health_score", 0, 100),
    ("proposals", "win_probability", 0, 1),
    ("marketing_spend", "amount_cents", -(2**63), 99_999_999_999_999),  # spend is numeric(14,2) in the marts
)
MONEY_MAX_CENTS = 99_999_999_999_999  # numeric(14,2)
REASON_ORDER: tuple[str, ...] = (
    "unknown_tenant",
    "missing_required",
    "future_timestamp",
    "implausible_timestamp",
    "invalid_enum",
    "negative_amount",
    "currency_mismatch",
    "invalid_json",
    "orphan_reference",
    "out_of_range",
    "conflicting_duplicate",
)
SUCCEEDED_PAYMENT = frozenset({"succeeded", "refunded"})
MRR_STATUSES = frozenset({"active", "past_due"})
MAX_PERIOD = 12
FILE_SOURCE = "event_file"


# --------------------------------------------------------------------------- dates


def end_of_day(day: date) -> datetime:
    """The instant a UTC day ends: the next day at 00:00 UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def utc_date(instant: datetime) -> date:
    return instant.astimezone(UTC).date()


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


# --------------------------------------------------------------------------- event files


class EventFileLine(NamedTuple):
    """One line of a landing file (``line_number`` counts from 1)."""

    file: str
    line_number: int
    text: str


def read_event_files(*paths: str | Path) -> list[EventFileLine]:
    """The lines of ``*.jsonl`` and ``*.jsonl.gz`` files; a directory means its files (not recursive).

    Files are read in name order, split on ``\\n`` only (JSON strings may hold U+2028),
    decoded as UTF-8 (undecodable bytes replaced).
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in path.iterdir() if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz")))
        else:
            files.append(path)
    lines: list[EventFileLine] = []
    for path in sorted(files, key=lambda p: p.name):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        for number, text in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
            lines.append(EventFileLine(path.name, number, text.removesuffix("\r")))
    return lines


LineInput = str | EventFileLine | tuple[str, int, str] | Mapping[str, Any]


def as_event_file_line(item: LineInput, position: int) -> EventFileLine:
    """One input line as an EventFileLine.

    Accepts a plain ``str`` (file "" and line number = ``position``, counting from 1),
    an :class:`EventFileLine` or ``(file, line_number, text)`` tuple, or a mapping
    with keys ``file``, ``line_number`` and ``line`` (other keys are ignored).
    """
    if isinstance(item, str):
        return EventFileLine("", position, item)
    if isinstance(item, Mapping):
        return EventFileLine(str(item["file"]), int(item["line_number"]), str(item["line"]))
    file, line_number, text = item
    return EventFileLine(str(file), int(line_number), text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _jsonb_storable(value: Any) -> bool:
    """False when a string or key holds a character jsonb cannot store (NUL, a lone surrogate)."""
    if isinstance(value, str):
        return all(char != "\x00" and not 0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return all(_jsonb_storable(key) and _jsonb_storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_jsonb_storable(item) for item in value)
    return True


def _parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object on a line, or None when the line is not one."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    return value if isinstance(value, dict) and _jsonb_storable(value) else None


def _json_text(value: Any) -> str | None:
    """A JSON value read as text, as PostgreSQL's ``->>`` does."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(", ", ": "))


# --------------------------------------------------------------------------- normalization

# date, optional time (hh:mm[:ss[.fraction]]), optional Z / +hh / +hhmm / +hh:mm offset
ISO_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)


def parse_iso_timestamp(text: str) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (no offset means UTC); None when it is not one."""
    match = ISO_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    try:
        day = date.fromisoformat(match["date"])
        fraction = Decimal("0." + (match["fraction"] or "0"))
        micros = int((fraction * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))
        local = datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        ) + timedelta(microseconds=micros)
    except ValueError:
        return None
    zone = match["zone"]
    if zone is None or zone in "Zz":
        return local.replace(tzinfo=UTC)
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return (local - offset if zone[0] == "+" else local + offset).replace(tzinfo=UTC)


def _to_utc(value: Any) -> datetime | None:
    """A database timestamp as an aware UTC datetime (naive means UTC); strings are parsed as ISO-8601."""
    if isinstance(value, str):
        return parse_iso_timestamp(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _normalize_db_row(spec: SourceTable, record: Mapping[str, Any]) -> Row:
    """A database row with its contract columns typed: UTC timestamps, char(n) without the padding."""
    row: Row = dict(record)
    for name, ctype in spec.columns:
        value = record.get(name)
        if ctype == "timestamptz":
            if not (isinstance(value, datetime) and value.tzinfo is UTC):
                value = _to_utc(value)
        elif ctype.startswith("char") and isinstance(value, str):
            value = value.rstrip(" ")
        row[name] = value
    return row


def _normalize_file_row(obj: Mapping[str, Any]) -> tuple[Row, bool]:
    """An event-file object as an app.events row, and whether a field has the wrong type.

    Wrong types: an object or array where text is expected, a timestamp that is not
    ISO-8601, a country longer than 2 characters (those fields become null).
    """
    row: Row = {}
    malformed = False
    for name, ctype in SPECS["events"].columns:
        value = obj.get(name)
        if ctype == "jsonb":
            row[name] = value
            continue
        if isinstance(value, (dict, list)):
            malformed = True
        text = _json_text(value)
        if ctype == "timestamptz":
            row[name] = parse_iso_timestamp(text) if text is not None else None
            malformed = malformed or (text is not None and row[name] is None)
        elif ctype.startswith("char") and text is not None:
            malformed = malformed or len(text) > 2
            row[name] = text.rstrip(" ") if len(text) <= 2 else None
        else:
            row[name] = text
    return row, malformed


def _is_missing(value: Any) -> bool:
    return value is None or value == ""


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Quarantined:
    """A rejected row: ``record`` is the row as landed, ``reasons`` its reason codes."""

    source: str  # app, billing, crm, games or event_file
    table: str
    record: Mapping[str, Any]
    reasons: tuple[str, ...]


@dataclass
class ValidationResult:
    """The outcome of validation at an as-of date.

    ``duplicates``: later copies of an id with identical content (not validated);
    ``superseded``: accepted versions of an id that are not the one kept.
    """

    accepted: dict[str, list[Row]]
    quarantined: list[Quarantined] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    superseded: dict[str, int] = field(default_factory=dict)


@dataclass
class _Landed:
    table: str
    source: str
    record: Mapping[str, Any]  # as landed
    row: Row  # normalized
    malformed: bool = False  # an event-file field of the wrong type


def _table_name(key: str) -> str:
    name = key.split(".")[-1]
    if name not in SPECS:
        raise ValueError(f"unknown source table {key!r}; expected one of {sorted(SPECS)}")
    return name


def _content(spec: SourceTable, row: Row) -> tuple[Any, ...]:
    """The row's contract columns, hashable: what "identical content" compares."""
    return tuple(
        json.dumps(row[name], sort_keys=True) if ctype == "jsonb" else row[name] for name, ctype in spec.columns
    )


@dataclass(frozen=True)
class _Rules:
    """What the validation rules look at in one table."""

    table: str
    required: tuple[str, ...]
    timestamps: tuple[str, ...]
    dates: tuple[str, ...]  # date columns (marketing_spend.spend_date), held to the same plausible range
    enums: tuple[tuple[str, frozenset[str]], ...]
    has_amount: bool
    has_currency: bool
    is_event: bool
    references: tuple[tuple[str, str, str], ...]  # (column, parent table, parent column)
    ranges: tuple[tuple[str, Any, Any], ...]  # (column, lowest, highest)

    @classmethod
    def of(cls, spec: SourceTable) -> _Rules:
        names = spec.column_names
        return cls(
            table=spec.name,
            required=spec.required,
            timestamps=tuple(name for name, ctype in spec.columns if ctype == "timestamptz"),
            dates=tuple(name for name, ctype in spec.columns if ctype == "date"),
            enums=tuple((name, frozenset(ENUMS[(spec.name, name)])) for name in names if (spec.name, name) in ENUMS),
            has_amount="amount_cents" in names,
            has_currency="currency" in names and spec.name != "organizations",
            is_event=spec.name in EVENT_TABLES,
            references=tuple(
                (column, parent, parent_column)
                for child, column, parent, parent_column in REFERENCES if child == spec.name
            ),
            ranges=tuple((column, low, high) for table, column, low, high in RANGES if table == spec.name),
        )


RULES: dict[str, _Rules] = {name: _Rules.of(spec) for name, spec in SPECS.items()}


@dataclass(frozen=True)
class _Context:
    tenant_currency: dict[str, str | None]
    parent_ids: dict[tuple[str, str], set[tuple[Any, Any]]]  # (parent, column): {(tenant_id, value)}
    plan_prices: dict[tuple[Any, Any], tuple[Any, Any]] = field(default_factory=dict)  # current accepted plans


def _arr_out_of_range(amount: Any, quantity: Any, interval: Any) -> bool:
    """Whether a subscription's ARR in cents at this plan price passes numeric(14,2)."""
    if amount is None or quantity is None:
        return False
    if interval == "year":
        monthly = round_half_up(Fraction(amount) * quantity / 12, 0)
        return monthly * 12 > MONEY_MAX_CENTS
    return amount * quantity * 12 > MONEY_MAX_CENTS


def _reasons(table: str, landed: _Landed, ctx: _Context) -> tuple[str, ...]:
    rules, row = RULES[table], landed.row
    reasons: set[str] = set()
    tenant = row["tenant_id"]
    known = row["id"] if table == "organizations" else (tenant if tenant in ctx.tenant_currency else None)
    if tenant is None or tenant != known:
        reasons.add("unknown_tenant")
    if any(_is_missing(row[column]) for column in rules.required):
        reasons.add("missing_required")
    if rules.is_event and row["occurred_at"] is not None and row["received_at"] is not None:
        if row["occurred_at"] - row["received_at"] > MAX_CLOCK_SKEW:
            reasons.add("future_timestamp")
    if any(row[name] is not None and row[name] < PLAUSIBLE_SINCE for name in rules.timestamps) or any(
        row[name] is not None and row[name] < PLAUSIBLE_SINCE.date() for name in rules.dates
    ):
        reasons.add("implausible_timestamp")
    if any(row[name] is not None and row[name] not in allowed for name, allowed in rules.enums):
        reasons.add("invalid_enum")
    if rules.has_amount and row["amount_cents"] is not None and row["amount_cents"] < 0:
        reasons.add("negative_amount")
    if rules.has_currency and tenant in ctx.tenant_currency:
        expected = ctx.tenant_currency[tenant]
        if row["currency"] is not None and expected is not None and row["currency"] != expected:
            reasons.add("currency_mismatch")
    if table == "events" and (landed.malformed or not isinstance(row["properties"], (dict, type(None)))):
        reasons.add("invalid_json")
    for column, parent, parent_column in rules.references:
        if not _is_missing(row[column]) and (tenant, row[column]) not in ctx.parent_ids[(parent, parent_column)]:
            reasons.add("orphan_reference")
    if any(row[column] is not None and not low <= row[column] <= high for column, low, high in rules.ranges):
        reasons.add("out_of_range")
    if table == "subscription_events":
        amount, interval = ctx.plan_prices.get((tenant, row["plan_id"]), (None, None))
        if _arr_out_of_range(amount, row["quantity"], interval):
            reasons.add("out_of_range")
    return tuple(code for code in REASON_ORDER if code in reasons)


def _land(
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    event_file_lines: Iterable[LineInput],
    as_of: date,
    files_loaded_whole: bool,
) -> tuple[dict[str, list[_Landed]], list[Quarantined]]:
    """The rows visible at ``as_of`` in landing order (DB rows, then file lines), and the non-object lines."""
    cutoff = end_of_day(as_of)
    landed: dict[str, list[_Landed]] = {name: [] for name in SPECS}
    not_objects: list[Quarantined] = []
    for key, records in sources.items():
        table = _table_name(key)
        spec = SPECS[table]
        for record in records:
            row = _normalize_db_row(spec, record)
            extracted_by = row[spec.extract_key]
            # the extract window ends with the as-of date; a row without a key is read as well
            if extracted_by is None or extracted_by < cutoff:
                landed[table].append(_Landed(table, spec.source, record, row))
    for number, item in enumerate(event_file_lines, start=1):
        line = as_event_file_line(item, number)
        if not line.text.strip():
            continue
        obj = _parse_json_object(line.text)
        if obj is None:
            record = {"file": line.file, "line_number": line.line_number, "line": line.text}
            not_objects.append(Quarantined(FILE_SOURCE, "events", record, ("invalid_json",)))
            continue
        row, malformed = _normalize_file_row(obj)
        if files_loaded_whole or row["received_at"] is None or row["received_at"] < cutoff:
            landed["events"].append(_Landed("events", FILE_SOURCE, obj, row, malformed))
    return landed, not_objects


def validate(
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    event_file_lines: Iterable[LineInput],
    as_of: date,
    *,
    files_loaded_whole: bool = False,
) -> ValidationResult:
    """Split the rows visible at ``as_of`` into accepted, quarantined, duplicate and superseded ones.

    ``files_loaded_whole``: every event-file line is visible (the file was loaded by
    this run or an earlier one) instead of only lines received by the end of as-of.
    """
    landed, quarantined = _land(sources, event_file_lines, as_of, files_loaded_whole)
    latest_org: dict[str, Row] = {}
    for org in (entry.row for entry in landed["organizations"]):
        if not _is_missing(org["id"]) and (
            org["id"] not in latest_org or _later(org["updated_at"], latest_org[org["id"]]["updated_at"])
        ):
            latest_org[org["id"]] = org
    ctx = _Context(
        tenant_currency={org_id: org["currency"] for org_id, org in latest_org.items()},
        parent_ids={
            (parent, column): {
                (entry.row["tenant_id"], entry.row[column]) for entry in landed[parent]
                if not _is_missing(entry.row[column])
            }
            for _, _, parent, column in REFERENCES
        },
    )
    result = ValidationResult(accepted={}, quarantined=quarantined)
    for table, entries in landed.items():
        spec = SPECS[table]
        earlier: dict[str, list[_Landed]] = defaultdict(list)  # non-duplicate rows landed so far, by id
        versions: dict[str, list[Row]] = defaultdict(list)
        duplicates = 0
        if table == "subscription_events":  # plans are validated first (SPECS order)
            ctx.plan_prices.update(
                ((plan["tenant_id"], plan["id"]), (plan["amount_cents"], plan["billing_interval"]))
                for plan in result.accepted["plans"]
            )
        for entry in entries:
            row_id = entry.row["id"]
            conflicting = False
            if not _is_missing(row_id):
                if any(_content(spec, entry.row) == _content(spec, other.row) for other in earlier[row_id]):
                    duplicates += 1
                    continue
                # append-only: the first landed row of an id is its version
                conflicting = table in APPEND_ONLY and bool(earlier[row_id])
                earlier[row_id].append(entry)
            reasons = _reasons(table, entry, ctx)
            if conflicting:
                reasons = tuple(code for code in REASON_ORDER if code in {*reasons, "conflicting_duplicate"})
            if reasons:
                result.quarantined.append(Quarantined(entry.source, table, entry.record, reasons))
            else:
                versions[entry.row["id"]].append(entry.row)
        result.duplicates[table] = duplicates
        result.superseded[table] = sum(len(rows) - 1 for rows in versions.values())
        result.accepted[table] = [_current_version(table, rows) for rows in versions.values()]
    return result


def _later(candidate: datetime | None, current: datetime | None) -> bool:
    """Whether a version with extraction key ``candidate`` supersedes one with ``current`` (ties: later landed)."""
    return current is None or (candidate is not None and candidate >= current)


def _current_version(table: str, rows: list[Row]) -> Row:
    """Events: the first landed accepted copy; mutable tables: the latest updated_at."""
    if table in APPEND_ONLY:
        return rows[0]
    current = rows[0]
    for row in rows[1:]:
        if _later(row["updated_at"], current["updated_at"]):
            current = row
    return current


def accepted_rows(
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    event_file_lines: Iterable[LineInput],
    as_of: date,
    *,
    files_loaded_whole: bool = False,
) -> dict[str, list[Row]]:
    """The accepted rows of every table at ``as_of``, one per id.

    ``events`` holds DB events and file events together (file events carry exactly the
    app.events columns). Every timestamp is an aware UTC datetime; char(n) values are
    unpadded; other values are as landed ('' stays '').
    """
    return validate(sources, event_file_lines, as_of, files_loaded_whole=files_loaded_whole).accepted


def read_source_tables(connect: Callable[[str], Any]) -> dict[str, list[Row]]:
    """Every source table read with ``select * from public.<table>``.

    ``connect(source)`` returns an open DB-API connection to the ``app``, ``billing``,
    ``crm`` or ``games`` database (session time zone UTC); this closes it.
    """
    out: dict[str, list[Row]] = {}
    for source in sorted({spec.source for spec in TABLES}):
        conn = connect(source)
        try:
            cur = conn.cursor()
            for spec in (s for s in TABLES if s.source == source):
                cur.execute(f"select * from public.{spec.name}")
                names = [d[0] for d in cur.description]
                out[spec.name] = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
        finally:
            conn.close()
    return out


# --------------------------------------------------------------------------- covered range


def _visible(instant: datetime | None, as_of: date) -> bool:
    return instant is not None and instant < end_of_day(as_of)


def covered_ranges(accepted: Accepted, as_of: date) -> dict[str, tuple[date, date]]:
    """{tenant_id: (first activity date, as_of)} for tenants with activity on or before as_of."""
    first: dict[str, datetime] = {}
    for table, column in (
        ("users", "signup_at"),
        ("events", "occurred_at"),
        ("subscription_events", "occurred_at"),
        ("payments", "created_at"),
    ):
        for row in accepted.get(table, ()):
            instant = row[column]
            if instant is not None and (row["tenant_id"] not in first or instant < first[row["tenant_id"]]):
                first[row["tenant_id"]] = instant
    return {tenant: (utc_date(instant), as_of) for tenant, instant in first.items() if utc_date(instant) <= as_of}


# --------------------------------------------------------------------------- users


def daily_active_users(accepted: Accepted, as_of: date, *, zero_rows: bool = True) -> dict[tuple[str, date], int]:
    """{(tenant_id, date): distinct users with an accepted event that occurred on that UTC date}."""
    users: dict[tuple[str, date], set[str]] = defaultdict(set)
    for event in accepted.get("events", ()):
        if event["user_id"] is not None and _visible(event["occurred_at"], as_of):
            users[(event["tenant_id"], utc_date(event["occurred_at"]))].add(event["user_id"])
    counts = {key: len(ids) for key, ids in users.items()}
    return _with_daily_zeros(counts, accepted, as_of) if zero_rows else counts


def new_users(accepted: Accepted, as_of: date, *, zero_rows: bool = True) -> dict[tuple[str, date], int]:
    """{(tenant_id, date): users whose signup_at is on that UTC date}."""
    counts: dict[tuple[str, date], int] = defaultdict(int)
    for user in accepted.get("users", ()):
        if _visible(user["signup_at"], as_of):
            counts[(user["tenant_id"], utc_date(user["signup_at"]))] += 1
    return _with_daily_zeros(dict(counts), accepted, as_of) if zero_rows else dict(counts)


def _with_daily_zeros(
    counts: dict[tuple[str, date], int], accepted: Accepted, as_of: date
) -> dict[tuple[str, date], int]:
    out = {
        (tenant, day): 0
        for tenant, (first, last) in covered_ranges(accepted, as_of).items()
        for day in _days(first, last)
    }
    out.update(counts)
    return out


# --------------------------------------------------------------------------- MRR


class _SubscriptionState(NamedTuple):
    occurred_at: datetime
    received_at: datetime
    id: str
    user_id: str
    status: str
    plan_id: str
    quantity: int


class MrrCalculator:
    """Customer MRR at any instant from the accepted subscription events and plans."""

    def __init__(self, accepted: Accepted) -> None:
        self.plans: dict[tuple[str, str], Row] = {
            (plan["tenant_id"], plan["id"]): plan for plan in accepted.get("plans", ())
        }
        timelines: dict[tuple[str, str], list[_SubscriptionState]] = defaultdict(list)
        for ev in accepted.get("subscription_events", ()):
            timelines[(ev["tenant_id"], ev["subscription_id"])].append(
                _SubscriptionState(
                    ev["occurred_at"],
                    ev["received_at"],
                    ev["id"],
                    ev["user_id"],
                    ev["status"],
                    ev["plan_id"],
                    ev["quantity"],
                )
            )
        self.timelines = {key: sorted(states) for key, states in timelines.items()}
        self._times = {key: [s.occurred_at for s in states] for key, states in self.timelines.items()}
        self._cache: dict[datetime, dict[tuple[str, str], Decimal]] = {}

    def subscription_mrr_cents(self, tenant_id: str, state: _SubscriptionState) -> Fraction:
        if state.status not in MRR_STATUSES:
            return Fraction(0)
        plan = self.plans.get((tenant_id, state.plan_id))
        if plan is None:
            return Fraction(0)
        monthly = Fraction(plan["amount_cents"]) * state.quantity
        return monthly / 12 if plan["billing_interval"] == "year" else monthly

    def at(self, instant: datetime) -> dict[tuple[str, str], Decimal]:
        """{(tenant_id, user_id): MRR} for every customer with a subscription event before ``instant``."""
        if instant not in self._cache:
            cents: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
            for (tenant, sub_id), states in self.timelines.items():
                index = bisect_left(self._times[(tenant, sub_id)], instant)  # events with occurred_at < instant
                if index:
                    state = states[index - 1]
                    cents[(tenant, state.user_id)] += self.subscription_mrr_cents(tenant, state)
            self._cache[instant] = {key: cents_to_units(value) for key, value in cents.items()}
        return self._cache[instant]


def customer_mrr_at(accepted: Accepted, at: datetime) -> dict[tuple[str, str], Decimal]:
    """{(tenant_id, user_id): customer MRR at instant ``at``} (events with occurred_at < at apply)."""
    return MrrCalculator(accepted).at(at)


def month_end_instant(month: date, as_of: date) -> datetime:
    """End of ``month``: the next month's start, or the end of as-of for the as-of month."""
    if month == month_start(as_of):
        return end_of_day(as_of)
    return start_of_day(add_months(month, 1))


def _movement(mrr: Decimal, previous: Decimal, was_positive_before: bool) -> str:
    if previous == 0 and mrr > 0:
        return "reactivation" if was_positive_before else "new"
    if previous > 0 and mrr == 0:
        return "churn"
    if mrr > previous:
        return "expansion"
    if mrr < previous:
        return "contraction"
    return "unchanged"


def mrr_movements(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str], tuple[Decimal, Decimal, str]]:
    """{(tenant_id, revenue_month, user_id): (mrr, previous_mrr, movement)}, rows where either is > 0."""
    calc = MrrCalculator(accepted)
    zero = Decimal("0.00")
    out: dict[tuple[str, date, str], tuple[Decimal, Decimal, str]] = {}
    for tenant, (first, _) in sorted(covered_ranges(accepted, as_of).items()):
        positive_before: set[str] = set()
        month = month_start(first)
        while month <= as_of:
            previous = {u: v for (t, u), v in calc.at(start_of_day(month)).items() if t == tenant}
            current = {u: v for (t, u), v in calc.at(month_end_instant(month, as_of)).items() if t == tenant}
            for user in sorted(previous.keys() | current.keys()):
                mrr, prev = current.get(user, zero), previous.get(user, zero)
                if mrr > 0 or prev > 0:
                    out[(tenant, month, user)] = (mrr, prev, _movement(mrr, prev, user in positive_before))
            positive_before |= {u for u, v in current.items() if v > 0}
            month = add_months(month, 1)
    return out


# --------------------------------------------------------------------------- retention


def _period_start(grain: str, start: date, n: int) -> date:
    return start + timedelta(days=7 * n) if grain == "week" else add_months(start, n)


def _period_index(grain: str, start: date, day: date) -> int:
    if grain == "week":
        return (day - start).days // 7
    return (day.year - start.year) * 12 + day.month - start.month


def _grain_start(grain: str, day: date) -> date:
    return week_start(day) if grain == "week" else month_start(day)


def retention_cohorts(
    accepted: Accepted, as_of: date, *, include_empty_cohorts: bool = True
) -> dict[tuple[str, str, date, int], tuple[int, int]]:
    """{(tenant_id, cohort_grain, cohort_start, period_number): (cohort_size, retained_users)}.

    Grains ``week`` and ``month``, periods 0..12 that have started by ``as_of``.
    """
    active_days: dict[tuple[str, str], set[date]] = defaultdict(set)
    for event in accepted.get("events", ()):
        if event["user_id"] is not None and _visible(event["occurred_at"], as_of):
            active_days[(event["tenant_id"], event["user_id"])].add(utc_date(event["occurred_at"]))
    ranges = covered_ranges(accepted, as_of)
    out: dict[tuple[str, str, date, int], tuple[int, int]] = {}
    for grain in ("week", "month"):
        cohorts: dict[tuple[str, date], list[str]] = defaultdict(list)
        for user in accepted.get("users", ()):
            if _visible(user["signup_at"], as_of):
                cohorts[(user["tenant_id"], _grain_start(grain, utc_date(user["signup_at"])))].append(user["id"])
        starts = set(cohorts)
        if include_empty_cohorts:
            for tenant, (first, last) in ranges.items():
                start = _grain_start(grain, first)
                while start <= last:
                    starts.add((tenant, start))
                    start = _period_start(grain, start, 1)
        for tenant, start in starts:
            members = cohorts.get((tenant, start), [])
            retained: dict[int, int] = defaultdict(int)
            for user_id in members:
                periods = {_period_index(grain, start, day) for day in active_days.get((tenant, user_id), ())}
                for n in periods:
                    if 0 <= n <= MAX_PERIOD:
                        retained[n] += 1
            for n in range(MAX_PERIOD + 1):
                if _period_start(grain, start, n) > as_of:
                    break
                out[(tenant, grain, start, n)] = (len(members), retained[n])
    return out


# --------------------------------------------------------------------------- funnels


@dataclass(frozen=True)
class Funnel:
    name: str
    entity: str  # "user" (app events) or "lead" (CRM business events)
    steps: tuple[str, ...]
    window_days: int


ONBOARDING = Funnel(
    "onboarding",
    "user",
    (
        "app_open",
        "registration_start",
        "registration_complete",
        "session_started",  # first_session: a session starting at or after registration_complete
        "match_created",
        "message_sent",
        "subscription_view",
        "subscription_purchase",
    ),
    30,
)
SESSION_GAP = timedelta(minutes=30)
SALES = Funnel(
    "sales", "lead", ("lead_created", "lead_qualified", "proposal_sent", "proposal_accepted", "customer_created"), 180
)
FUNNELS: tuple[Funnel, ...] = (ONBOARDING, SALES)


class StepEvent(NamedTuple):
    tenant_id: str
    entity_id: str
    step: str
    at: datetime


def crm_business_events(accepted: Accepted) -> list[StepEvent]:
    """The CRM-derived business events of the ``sales`` funnel, entity = lead id."""
    out: list[StepEvent] = []
    leads = {(lead["tenant_id"], lead["id"]) for lead in accepted.get("leads", ())}
    for lead in accepted.get("leads", ()):
        for step, column in (("lead_created", "created_at"), ("lead_qualified", "qualified_at")):
            if lead[column] is not None:
                out.append(StepEvent(lead["tenant_id"], lead["id"], step, lead[column]))
    for proposal in accepted.get("proposals", ()):
        key = (proposal["tenant_id"], proposal["lead_id"])
        if key not in leads:
            continue
        if proposal["sent_at"] is not None:
            out.append(StepEvent(*key, "proposal_sent", proposal["sent_at"]))
        if proposal["status"] == "accepted" and proposal["decided_at"] is not None:
            out.append(StepEvent(*key, "proposal_accepted", proposal["decided_at"]))
    for customer in accepted.get("customers", ()):
        key = (customer["tenant_id"], customer["lead_id"])
        if customer["lead_id"] is not None and key in leads:
            out.append(StepEvent(*key, "customer_created", customer["created_at"]))
    return out


def session_starts(accepted: Accepted) -> list[StepEvent]:
    """A ``session_started`` event per session (docs/metrics.md "Session": a gap over 30 minutes starts one)."""
    times: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for event in accepted.get("events", ()):
        if event["user_id"] is not None and event["occurred_at"] is not None:
            times[(event["tenant_id"], event["user_id"])].append(event["occurred_at"])
    out: list[StepEvent] = []
    for (tenant, user), instants in times.items():
        previous = None
        for instant in sorted(set(instants)):
            if previous is None or instant - previous > SESSION_GAP:
                out.append(StepEvent(tenant, user, "session_started", instant))
            previous = instant
    return out


def _step_events(accepted: Accepted, funnel: Funnel) -> Iterable[StepEvent]:
    if funnel.entity == "lead":
        return crm_business_events(accepted)
    app = [
        StepEvent(e["tenant_id"], e["user_id"], e["event_type"], e["occurred_at"])
        for e in accepted.get("events", ())
        if e["user_id"] is not None
    ]
    return app + session_starts(accepted) if "session_started" in funnel.steps else app


def funnel_progress(accepted: Accepted, as_of: date, funnel: Funnel) -> dict[tuple[str, str], list[datetime]]:
    """{(tenant_id, entity_id): [time step 1 reached, time step 2 reached, ...]} for entities that entered."""
    times: dict[tuple[str, str], dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for event in _step_events(accepted, funnel):
        if event.step in funnel.steps and _visible(event.at, as_of):
            times[(event.tenant_id, event.entity_id)][event.step].append(event.at)
    window = timedelta(days=funnel.window_days)
    out: dict[tuple[str, str], list[datetime]] = {}
    for entity, by_step in times.items():
        if not by_step.get(funnel.steps[0]):
            continue
        reached = [min(by_step[funnel.steps[0]])]
        deadline = reached[0] + window
        for step in funnel.steps[1:]:
            candidates = sorted(by_step.get(step, ()))
            index = bisect_left(candidates, reached[-1])  # first step event at or after the previous step
            if index == len(candidates) or candidates[index] > deadline:
                break
            reached.append(candidates[index])
        out[entity] = reached
    return out


def funnel_counts(
    accepted: Accepted, as_of: date, funnels: Sequence[Funnel] = FUNNELS, *, zero_rows: bool = True
) -> dict[tuple[str, str, date, int], int]:
    """{(tenant_id, funnel_name, cohort_week, step_number): entities_reached} (steps numbered from 1)."""
    counts: dict[tuple[str, str, date, int], int] = defaultdict(int)
    first_week: dict[str, date] = {
        tenant: week_start(first) for tenant, (first, _) in covered_ranges(accepted, as_of).items()
    }
    for funnel in funnels:
        for (tenant, _), reached in funnel_progress(accepted, as_of, funnel).items():
            cohort_week = week_start(utc_date(reached[0]))
            first_week[tenant] = min(first_week.get(tenant, cohort_week), cohort_week)
            for step_number in range(1, len(reached) + 1):
                counts[(tenant, funnel.name, cohort_week, step_number)] += 1
    if not zero_rows:
        return dict(counts)
    out: dict[tuple[str, str, date, int], int] = {}
    for tenant, week in first_week.items():
        while week <= as_of:
            for funnel in funnels:
                for step_number in range(1, len(funnel.steps) + 1):
                    out[(tenant, funnel.name, week, step_number)] = 0
            week += timedelta(days=7)
    out.update(counts)
    return out


def funnel_avg_seconds(
    accepted: Accepted, as_of: date, funnels: Sequence[Funnel] = FUNNELS
) -> dict[tuple[str, str, date, int], Decimal]:
    """{(tenant_id, funnel_name, cohort_week, step_number): mean seconds from step k − 1 to k}, steps k ≥ 2
    that someone reached (each gap in whole milliseconds, the mean rounded half-up to 2 decimals)."""
    gaps: dict[tuple[str, str, date, int], list[Decimal]] = defaultdict(list)
    for funnel in funnels:
        for (tenant, _), reached in funnel_progress(accepted, as_of, funnel).items():
            cohort_week = week_start(utc_date(reached[0]))
            for index in range(1, len(reached)):
                seconds = Decimal(str((reached[index] - reached[index - 1]).total_seconds()))
                gaps[(tenant, funnel.name, cohort_week, index + 1)].append(seconds.quantize(Decimal("0.001")))
    return {
        key: mean(values, 2) for key, values in gaps.items()
    }


# --------------------------------------------------------------------------- cohort extras


def _cohort_members(accepted: Accepted, as_of: date, grain: str) -> dict[tuple[str, date], set[str]]:
    members: dict[tuple[str, date], set[str]] = defaultdict(set)
    for user in accepted.get("users", ()):
        if _visible(user["signup_at"], as_of):
            members[(user["tenant_id"], _grain_start(grain, utc_date(user["signup_at"])))].add(user["id"])
    return members


def _cohort_sums(
    accepted: Accepted, as_of: date, dated_amounts: Iterable[tuple[str, str, date, int]]
) -> dict[tuple[str, str, date, int], int]:
    """Sum (tenant, user, day, amount) into (tenant, grain, cohort_start, period_number) for periods 0..12."""
    amounts = list(dated_amounts)
    out: dict[tuple[str, str, date, int], int] = defaultdict(int)
    for grain in ("week", "month"):
        cohort_of = {
            (tenant, user): start
            for (tenant, start), users in _cohort_members(accepted, as_of, grain).items()
            for user in users
        }
        for tenant, user, day, amount in amounts:
            start = cohort_of.get((tenant, user))
            if start is None:
                continue
            n = _period_index(grain, start, day)
            if day >= start and 0 <= n <= MAX_PERIOD:
                out[(tenant, grain, start, n)] += amount
    return out


def retention_matches(accepted: Accepted, as_of: date) -> dict[tuple[str, str, date, int], Decimal | None]:
    """{(tenant_id, cohort_grain, cohort_start, period_number): avg_matches_per_user} over the cohort periods of
    :func:`retention_cohorts`: ``match_created`` events of cohort users in period n / cohort size (4 decimals)."""
    matches = _cohort_sums(
        accepted,
        as_of,
        (
            (e["tenant_id"], e["user_id"], utc_date(e["occurred_at"]), 1)
            for e in accepted.get("events", ())
            if e["user_id"] is not None and e["event_type"] == "match_created" and _visible(e["occurred_at"], as_of)
        ),
    )
    return {
        key: rate(matches.get(key, 0), size)
        for key, (size, _retained) in retention_cohorts(accepted, as_of).items()
    }


def cohort_ltv_to_date(accepted: Accepted, as_of: date) -> dict[tuple[str, str, date, int], Decimal | None]:
    """{cohort key: cumulative_revenue_per_user}: succeeded payments (status succeeded or refunded, on the date
    of settled_at, else created_at) of cohort users in periods 0..n / cohort size, rounded to the cent."""
    end = end_of_day(as_of)
    revenue = _cohort_sums(
        accepted,
        as_of,
        (
            (p["tenant_id"], p["user_id"], utc_date(p["settled_at"] or p["created_at"]), p["amount_cents"])
            for p in accepted.get("payments", ())
            if p["status"] in SUCCEEDED_PAYMENT and p["created_at"] < end and (p["settled_at"] or p["created_at"]) < end
        ),
    )
    out: dict[tuple[str, str, date, int], Decimal | None] = {}
    for (tenant, grain, start, n), (size, _retained) in retention_cohorts(accepted, as_of).items():
        total = sum(revenue.get((tenant, grain, start, k), 0) for k in range(n + 1))
        out[(tenant, grain, start, n)] = cents_to_units(Fraction(total, size)) if size else None
    return out


def cohort_benchmarks(accepted: Accepted, as_of: date) -> dict[tuple[str, str, int], dict[str, Any]]:
    """{(tenant_id, cohort_grain, period_number): the fct_cohort_benchmarks measures}, over the cohorts with
    signups of each grain and period (rates as the mart rounds them: 4 decimals)."""
    cohorts = retention_cohorts(accepted, as_of)
    ltv = cohort_ltv_to_date(accepted, as_of)
    groups: dict[tuple[str, str, int], list[tuple[date, int, int]]] = defaultdict(list)
    for (tenant, grain, start, n), (size, retained) in cohorts.items():
        groups.setdefault((tenant, grain, n), [])
        if size:
            groups[(tenant, grain, n)].append((start, size, retained))
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    for (tenant, grain, n), members in groups.items():
        if not members:
            out[(tenant, grain, n)] = {
                "cohorts": 0, "avg_retention_rate": None, "pooled_retention_rate": None,
                "median_retention_rate": None, "best_cohort_start": None, "best_retention_rate": None,
                "worst_cohort_start": None, "worst_retention_rate": None, "avg_cumulative_revenue_per_user": None,
            }
            continue
        rates = [(start, rate(retained, size)) for start, size, retained in members]
        values = [value for _, value in rates]
        best = min(rates, key=lambda item: (-item[1], item[0]))
        worst = min(rates, key=lambda item: (item[1], item[0]))
        median = percentile_cont([float(value) for value in values], 0.5)
        ltvs = [ltv[(tenant, grain, start, n)] for start, _, _ in members]
        out[(tenant, grain, n)] = {
            "cohorts": len(members),
            "avg_retention_rate": mean(values, 4),
            "pooled_retention_rate": rate(sum(m[2] for m in members), sum(m[1] for m in members)),
            "median_retention_rate": round_half_up(Decimal(str(median)), 4),
            "best_cohort_start": best[0],
            "best_retention_rate": best[1],
            "worst_cohort_start": worst[0],
            "worst_retention_rate": worst[1],
            "avg_cumulative_revenue_per_user": mean(ltvs, 2),
        }
    return out


# --------------------------------------------------------------------------- payments


def _milliseconds(delta: timedelta) -> float:
    return (delta // timedelta(microseconds=1)) / 1000


def _payment_day(attempts: list[Row]) -> dict[str, Any]:
    statuses = [p["status"] for p in attempts]
    succeeded = sum(status in SUCCEEDED_PAYMENT for status in statuses)
    failed = statuses.count("failed")
    latencies = [
        _milliseconds(p["settled_at"] - p["created_at"])
        for p in attempts
        if p["status"] in SUCCEEDED_PAYMENT and p["settled_at"] is not None
    ]
    return {
        "attempts": len(attempts),
        "succeeded": succeeded,
        "failed": failed,
        "pending": statuses.count("pending"),
        "success_rate": rate(succeeded, succeeded + failed),
        "latency_p95_ms": percentile_cont(latencies, 0.95),
    }


def payments_daily(
    accepted: Accepted, as_of: date, *, zero_rows: bool = True
) -> dict[tuple[str, date, str], dict[str, Any]]:
    """{(tenant_id, payment_date, method): {attempts, succeeded, failed, pending, success_rate, latency_p95_ms}}."""
    groups: dict[tuple[str, date, str], list[Row]] = defaultdict(list)
    for payment in accepted.get("payments", ()):
        if _visible(payment["created_at"], as_of):
            groups[(payment["tenant_id"], utc_date(payment["created_at"]), payment["method"])].append(payment)
    keys = set(groups)
    if zero_rows:
        methods: dict[str, set[str]] = defaultdict(set)  # the methods each tenant has used by as-of
        for tenant, _, method in groups:
            methods[tenant].add(method)
        keys |= {
            (tenant, day, method)
            for tenant, (first, last) in covered_ranges(accepted, as_of).items()
            for day in _days(first, last)
            for method in methods[tenant]
        }
    return {key: _payment_day(groups.get(key, [])) for key in sorted(keys)}
