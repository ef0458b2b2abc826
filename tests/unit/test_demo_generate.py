"""Tests of the demo data generator (meridian.demo.generate).

They run against the session's throwaway embedded PostgreSQL (``warehouse_server``
in tests/conftest.py) and write event files only to temporary directories.
Rows are checked with a small rule checker of their own (bottom of the file),
independent of the generator's code.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meridian import db
from meridian.config import SOURCE_CONNECTIONS
from meridian.demo.generate import GenerationSummary, generate
from meridian.demo.tenants import plans_for, split_users, tenant_specs
from meridian.demo.timeline import Window, day_ms, iso
from meridian.sources.schema import ENUMS, EVENT_FILE_FIELDS, KNOWN_EVENT_TYPES, TABLES, SourceTable

SMALL = {"seed": 7, "tenants": 2, "users": 300, "days": 30, "end_date": date(2026, 10, 31)}
SPECS = {spec.name: spec for spec in TABLES}
PLAUSIBLE_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
RULES = ("unknown_tenant", "missing_required", "future_timestamp", "implausible_timestamp", "invalid_enum",
         "negative_amount", "currency_mismatch", "invalid_json", "orphan_reference")


def _table_rows(spec: SourceTable) -> list[dict[str, Any]]:
    with db.connection(SOURCE_CONNECTIONS[spec.source]) as conn, conn.cursor() as cur:
        cur.execute(f"select {', '.join(spec.column_names)} from public.{spec.name} order by id")
        return [dict(zip(spec.column_names, row, strict=True)) for row in cur.fetchall()]


def _checksums() -> dict[str, str]:
    sums = {}
    for spec in TABLES:
        with db.connection(SOURCE_CONNECTIONS[spec.source]) as conn, conn.cursor() as cur:
            cur.execute(f"select md5(coalesce(string_agg(t::text, E'\\n' order by t.id), '')) "
                        f"from public.{spec.name} t")
            sums[spec.qualified] = cur.fetchone()[0]
    return sums


def _file_lines(files: list[Path]) -> list[tuple[str, str]]:
    lines = []
    for path in sorted(files):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        lines += [(path.name, line) for line in data.decode("utf-8").split("\n") if line.strip()]
    return lines


@pytest.fixture(scope="module")
def small_run(warehouse_server: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One small generation and everything it wrote."""
    landing = tmp_path_factory.mktemp("landing")
    summary = generate(**SMALL, landing_dir=landing, progress=False)
    return {
        "summary": summary,
        "landing": landing,
        "rows": {spec.name: _table_rows(spec) for spec in TABLES},
        "lines": _file_lines(summary.event_files),
    }


# ---------------------------------------------------------------------------- pure helpers


def test_window_formats_like_isoformat() -> None:
    window = Window(date(2026, 5, 5), date(2026, 10, 31))
    for ms in (window.start_ms, window.now_ms - 1, day_ms(date(2024, 2, 29)) + 123_456_789, 0, 946_684_799_000):
        assert window.fmt(ms) == iso(ms) == datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    assert window.days == 180


def test_tenants_and_plans() -> None:
    specs = tenant_specs(5)
    assert [spec.id for spec in specs] == ["acme", "globex", "initech", "tenant_04", "tenant_05"]
    assert len({spec.currency for spec in specs}) == 5
    sizes = split_users(20_000, 3)
    assert sum(sizes) == 20_000 and sizes[0] > sizes[1] > sizes[2]
    for spec in specs:
        plans = plans_for(spec)
        assert 2 <= len(plans) <= 4
        assert {plan.interval for plan in plans} == {"month", "year"}
    with pytest.raises(ValueError, match="fewer than tenants"):
        split_users(2, 3)


# ---------------------------------------------------------------------------- generation


def test_summary_matches_the_databases(small_run: dict[str, Any]) -> None:
    summary: GenerationSummary = small_run["summary"]
    assert summary.tenants == ["acme", "globex"]
    assert (summary.start_date, summary.end_date) == (date(2026, 10, 2), date(2026, 10, 31))
    for spec in TABLES:
        assert summary.row_counts[spec.qualified] == len(small_run["rows"][spec.name]), spec.qualified
    assert summary.row_counts["landing.event_lines"] == len(small_run["lines"])
    assert summary.seconds > 0


def test_generation_is_deterministic(warehouse_server: dict[str, str], tmp_path: Path) -> None:
    def run(seed: int, landing: Path) -> tuple[dict[str, str], dict[str, str]]:
        summary = generate(**{**SMALL, "seed": seed}, landing_dir=landing, progress=False)
        files = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in summary.event_files}
        return _checksums(), files

    first = run(7, tmp_path / "a")
    second = run(7, tmp_path / "b")
    assert first == second
    other_tables, other_files = run(8, tmp_path / "c")
    assert other_tables["app.events"] != first[0]["app.events"]
    assert other_files != first[1]


def test_regeneration_replaces_rows_and_files(warehouse_server: dict[str, str], tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "archive").mkdir(parents=True)
    stale = [landing / "events_acme_2020-01-01.jsonl", landing / "archive" / "events_old.jsonl.gz",
             landing / "archive" / "events_old.jsonl.0123456789ab.gz"]
    for path in stale:
        path.write_text("{}\n")
    keep = landing / "README.txt"
    keep.write_text("not an event file")
    summary = generate(**{**SMALL, "users": 120, "days": 10}, landing_dir=landing, progress=False)
    assert not any(path.exists() for path in stale) and keep.exists()
    assert sorted(landing.glob("*.jsonl*")) == summary.event_files
    for spec in TABLES:
        assert summary.row_counts[spec.qualified] == len(_table_rows(spec))
    assert not list(tmp_path.glob(".landing-demo-*")), "the staging directory is removed"


def test_event_files(small_run: dict[str, Any]) -> None:
    summary: GenerationSummary = small_run["summary"]
    names = [path.name for path in summary.event_files]
    assert all(re.fullmatch(r"events_(acme|globex)_2026-\d\d-\d\d\.jsonl(\.gz)?", name) for name in names)
    assert any(name.endswith(".gz") for name in names) and any(name.endswith(".jsonl") for name in names)
    days = {re.search(r"\d{4}-\d\d-\d\d", name).group() for name in names}  # type: ignore[union-attr]
    assert {"2026-10-30", "2026-10-31"} <= days
    objects = [json.loads(line) for _, line in small_run["lines"] if _json_object(line)]
    assert all(list(obj) == list(EVENT_FILE_FIELDS) for obj in objects if obj.get("tenant_id") in ("acme", "globex")
               and "id" in obj and "event_type" in obj and "occurred_at" in obj and "received_at" in obj)
    assert all(datetime.fromisoformat(obj["occurred_at"]).utcoffset() == timedelta(0)
               for obj in objects if obj.get("occurred_at"))
    events = small_run["rows"]["events"]
    last_two_days = datetime(2026, 10, 30, tzinfo=UTC)
    assert not [row for row in events if row["received_at"] and row["received_at"] >= last_two_days]
    assert any(datetime.fromisoformat(obj["received_at"]) >= last_two_days for obj in objects
               if obj.get("received_at"))
    share = len(objects) / (len(objects) + len(events))
    assert 0.1 < share < 0.4, share


def test_duplicates_and_late_events(small_run: dict[str, Any]) -> None:
    events = {row["id"]: row for row in small_run["rows"]["events"]}
    file_ids = Counter(obj["id"] for obj in _file_objects(small_run) if obj.get("id"))
    in_both = [event_id for event_id in file_ids if event_id in events]
    twice_in_files = [event_id for event_id, count in file_ids.items() if count > 1]
    assert in_both and twice_in_files
    by_id = {obj["id"]: obj for obj in _file_objects(small_run) if obj.get("id") in set(in_both)}
    for event_id in in_both:
        assert _db_event_as_json(events[event_id]) == by_id[event_id], "a duplicate has identical content"
    late = [row for row in events.values() if row["occurred_at"] and row["received_at"]
            and timedelta(days=2) <= row["received_at"] - row["occurred_at"] <= timedelta(days=5)]
    assert late


def test_every_bad_input_kind_is_present(small_run: dict[str, Any]) -> None:
    found, by_table = _rule_hits(small_run)
    assert set(RULES) <= set(found), f"missing: {set(RULES) - set(found)}"
    assert found["multiple_rules"] > 0
    assert by_table["event_file_lines"] > 0, "event-file lines that are not JSON objects"
    assert {row["properties"].__class__ for row in small_run["rows"]["events"]} > {dict}, "non-object properties"
    rows = sum(len(table_rows) for table_rows in small_run["rows"].values()) + len(small_run["lines"])
    assert sum(by_table.values()) / rows < 0.03


def test_bad_input_rates_stay_small(small_run: dict[str, Any]) -> None:
    anomalies = small_run["summary"].anomalies
    events = small_run["summary"].row_counts["app.events"] + small_run["summary"].row_counts["landing.event_lines"]
    bad_events = sum(count for key, count in anomalies.items() if key.startswith("events.")
                     and key.split(".")[1] in ("unknown_tenant", "missing_required", "future_timestamp",
                                               "implausible_timestamp", "invalid_json", "invalid_json_line",
                                               "multiple"))
    assert 0 < bad_events / events < 0.02


def test_counts_and_shapes_are_plausible(small_run: dict[str, Any]) -> None:
    rows, ctx = small_run["rows"], _context(small_run)
    good = {name: [row for row in table_rows if not _row_reasons(name, row, ctx)]
            for name, table_rows in rows.items()}
    users = good["users"]
    assert len(users) == 300
    tenant_users = Counter(row["tenant_id"] for row in users)
    assert tenant_users["acme"] > tenant_users["globex"] > 0
    target = 2_000_000 * 300 / 20_000 * 30 / 180
    all_events = len(rows["events"]) + len(small_run["lines"])
    assert 0.6 * target < all_events < 1.4 * target
    assert {row["event_type"] for row in good["events"]} >= set(KNOWN_EVENT_TYPES) - {"video_call_started"}
    for name in ("plans", "subscription_events", "payments", "webhook_deliveries", "sales_reps", "leads",
                 "customers", "tournaments", "tournament_entries"):
        assert {row["tenant_id"] for row in good[name]} == {"acme", "globex"}, name
    orgs = {row["id"]: row for row in rows["organizations"]}
    assert set(orgs) == {"acme", "globex"} and all(row["tenant_id"] == row["id"] for row in orgs.values())
    assert orgs["acme"]["currency"] != orgs["globex"]["currency"]


def test_timestamps_are_ordered_and_in_the_window(small_run: dict[str, Any]) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for name, table_rows in small_run["rows"].items():
        spec = SPECS[name]
        timestamps = [column for column, ctype in spec.columns if ctype == "timestamptz"]
        for row in table_rows:
            values = [row[column] for column in timestamps if row[column] is not None]
            if _row_reasons(name, row, _context(small_run)):
                continue
            assert all(PLAUSIBLE_SINCE <= value < now for value in values), (name, row["id"])
            created = row.get("created_at") or row.get("signup_at") or row.get("registered_at")
            if "updated_at" in row and created is not None:
                assert row["updated_at"] >= created, (name, row["id"])


def test_lifecycles_are_consistent(small_run: dict[str, Any]) -> None:
    ctx = _context(small_run)
    good = {name: [row for row in table_rows if not _row_reasons(name, row, ctx)]
            for name, table_rows in small_run["rows"].items()}
    transitions = defaultdict(list)
    for row in sorted(good["subscription_events"], key=lambda r: (r["occurred_at"], r["received_at"], r["id"])):
        transitions[row["subscription_id"]].append((row["event_type"], row["status"]))
    allowed = {
        None: {("created", "trialing")},
        "trialing": {("activated", "active"), ("past_due", "past_due"), ("canceled", "canceled")},
        "active": {("past_due", "past_due"), ("canceled", "canceled"), ("plan_changed", "active"),
                   ("quantity_changed", "active")},
        "past_due": {("activated", "active"), ("canceled", "canceled")},
        "canceled": {("reactivated", "active")},
    }
    for steps in transitions.values():
        status = None
        for step in steps:
            assert step in allowed[status], steps
            status = step[1]
    invoices = defaultdict(list)
    for row in good["payments"]:
        invoices[row["invoice_id"]].append(row)
    for attempts in invoices.values():
        attempts.sort(key=lambda r: r["attempt_number"])
        assert [row["attempt_number"] for row in attempts] == list(range(1, len(attempts) + 1))
        assert all(row["status"] == "failed" and row["failure_reason"] for row in attempts[:-1])
        for row in attempts:
            assert (row["settled_at"] is not None) == (row["status"] in ("succeeded", "refunded"))
            if row["settled_at"] is not None:
                assert row["settled_at"] >= row["created_at"]
    refunded = {row["payment_id"] for row in good["refunds"]}
    assert refunded == {row["id"] for row in good["payments"] if row["status"] == "refunded"}
    for lead in good["leads"]:
        status = lead["status"]
        assert (lead["first_contact_at"] is not None) == (status != "new")
        assert (lead["qualified_at"] is not None) == (status in ("qualified", "converted"))
        assert (lead["converted_at"] is not None) == (status == "converted")
    for proposal in good["proposals"]:
        assert (proposal["decided_at"] is not None) == (proposal["status"] in ("accepted", "rejected", "expired"))
        assert 0 <= proposal["win_probability"] <= 1
    for tournament in good["tournaments"]:
        assert (tournament["ended_at"] is not None) == (tournament["status"] == "completed")
    placements = defaultdict(list)
    for entry in good["tournament_entries"]:
        if entry["placement"] is not None:
            placements[entry["tournament_id"]].append(entry["placement"])
    assert placements and all(sorted(p) == list(range(1, len(p) + 1)) for p in placements.values())


def test_sessions_and_funnel(small_run: dict[str, Any]) -> None:
    ctx = _context(small_run)
    events = [row for row in small_run["rows"]["events"] if not _row_reasons("events", row, ctx)]
    events += [_typed_event(obj) for obj in _file_objects(small_run)
               if not _row_reasons("events", _typed_event(obj), ctx)]
    unique = {row["id"]: row for row in events}
    by_user = defaultdict(list)
    for row in unique.values():
        if row["user_id"]:
            by_user[row["user_id"]].append(row)
    for user_events in by_user.values():
        user_events.sort(key=lambda r: (r["occurred_at"], r["id"]))
        for previous, current in zip(user_events, user_events[1:], strict=False):
            gap = current["occurred_at"] - previous["occurred_at"]
            if current["session_id"] == previous["session_id"]:
                assert gap < timedelta(minutes=30)
            else:
                assert gap > timedelta(minutes=30)
    steps = ("app_open", "registration_start", "registration_complete", "match_created", "message_sent",
             "subscription_view", "subscription_purchase")
    reached = [len({row["user_id"] for row in unique.values() if row["event_type"] == step and row["user_id"]})
               for step in steps]
    assert reached == sorted(reached, reverse=True) and reached[-1] > 0, reached
    assert all(isinstance(row["properties"], dict) for row in unique.values())


def test_cli_prints_the_summary(
    warehouse_server: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from meridian.demo.__main__ import main

    code = main(["--seed", "3", "--users", "60", "--days", "5", "--tenants", "1", "--landing-dir", str(tmp_path),
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "tenants acme" in out and "app.events" in out and "event files:" in out
    assert main(["--days", "1", "--no-progress"]) == 1


# ---------------------------------------------------------------------------- an independent rule checker


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _file_objects(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for _, line in run["lines"] if _json_object(line)]


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _typed_event(obj: dict[str, Any]) -> dict[str, Any]:
    row = {name: obj.get(name) for name in EVENT_FILE_FIELDS}
    row["occurred_at"], row["received_at"] = _parse_ts(row["occurred_at"]), _parse_ts(row["received_at"])
    return row


def _db_event_as_json(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for column in ("occurred_at", "received_at"):
        out[column] = row[column].isoformat(timespec="milliseconds")
    return out


def _context(run: dict[str, Any]) -> dict[str, Any]:
    rows = run["rows"]
    return {
        "currency": {row["id"]: row["currency"] for row in rows["organizations"]},
        "parents": {"payments": {row["id"] for row in rows["payments"]},
                    "tournaments": {row["id"] for row in rows["tournaments"]},
                    "leads": {row["id"] for row in rows["leads"]}},
    }


REFERENCES = {"refunds": ("payment_id", "payments"), "tournament_entries": ("tournament_id", "tournaments"),
              "proposals": ("lead_id", "leads")}


def _row_reasons(table: str, row: dict[str, Any], ctx: dict[str, Any]) -> set[str]:
    spec = SPECS[table]
    reasons = set()
    if row.get("tenant_id") not in ctx["currency"]:
        reasons.add("unknown_tenant")
    if any(row.get(column) in (None, "") for column in spec.required):
        reasons.add("missing_required")
    if table == "events" and row.get("occurred_at") and row.get("received_at"):
        if row["occurred_at"] > row["received_at"] + timedelta(days=1):
            reasons.add("future_timestamp")
    for column, ctype in spec.columns:
        value = row.get(column)
        if ctype == "timestamptz" and value is not None and value < PLAUSIBLE_SINCE:
            reasons.add("implausible_timestamp")
        allowed = ENUMS.get((table, column))
        if allowed and value is not None and value not in allowed:
            reasons.add("invalid_enum")
    if isinstance(row.get("amount_cents"), int) and row["amount_cents"] < 0:
        reasons.add("negative_amount")
    if "currency" in row and row["tenant_id"] in ctx["currency"] and row["currency"]:
        if row["currency"] != ctx["currency"][row["tenant_id"]]:
            reasons.add("currency_mismatch")
    if table == "events" and row.get("properties") is not None and not isinstance(row["properties"], dict):
        reasons.add("invalid_json")
    if table in REFERENCES:
        column, parent = REFERENCES[table]
        if row.get(column) and row[column] not in ctx["parents"][parent]:
            reasons.add("orphan_reference")
    return reasons


def _rule_hits(run: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """(rows hit per rule code plus "multiple_rules", bad rows per table) over table rows and file lines."""
    ctx = _context(run)
    hits: Counter[str] = Counter()
    by_table: Counter[str] = Counter()
    candidates = [(name, row) for name, table_rows in run["rows"].items() for row in table_rows]
    candidates += [("events", _typed_event(obj)) for obj in _file_objects(run)]
    for name, row in candidates:
        reasons = _row_reasons(name, row, ctx)
        hits.update(reasons)
        if len(reasons) > 1:
            hits["multiple_rules"] += 1
        if reasons:
            by_table[name] += 1
    not_objects = sum(1 for _, line in run["lines"] if not _json_object(line))
    hits["invalid_json"] += not_objects
    by_table["event_file_lines"] += not_objects
    return hits, by_table


def test_marketing_spend_covers_every_paid_channel_every_day(small_run: dict[str, Any]) -> None:
    """One spend row per tenant, paid channel and covered day, in the tenant's currency; organic costs nothing."""
    from meridian.demo.app import CHANNELS
    from meridian.demo.marketing import COST_PER_SIGNUP_USD_CENTS

    ctx = _context(small_run)
    good = [row for row in small_run["rows"]["marketing_spend"] if not _row_reasons("marketing_spend", row, ctx)]
    assert set(COST_PER_SIGNUP_USD_CENTS) == {name for name, _ in CHANNELS} - {"organic"}
    days = {date(2026, 10, 2) + timedelta(days=n) for n in range(30)}
    cells = Counter((row["tenant_id"], row["channel"], row["spend_date"]) for row in good)
    assert set(cells) == {(tenant, channel, day) for tenant in ("acme", "globex")
                          for channel in COST_PER_SIGNUP_USD_CENTS for day in days}
    assert set(cells.values()) == {1}
    assert all(row["amount_cents"] > 0 and row["currency"] == ctx["currency"][row["tenant_id"]] for row in good)
    # spend follows the signups: the channels that bring more users cost more in total
    spend = Counter()
    for row in good:
        spend[row["channel"]] += row["amount_cents"]
    assert spend["paid_social"] > spend["email"] and spend["paid_search"] > spend["email"]
    bad = len(small_run["rows"]["marketing_spend"]) - len(good)
    assert 0 < bad < 0.05 * len(good)  # the demo's bad spend rows, quarantined by staging
