"""``meridian tenant purge`` and ``meridian user forget`` on a real PostgreSQL, every schema at once.

Each test lands three tenants (``doomed`` is the one purged, ``acme`` and ``globex`` stay) into every
raw table of docs/sources.md and the event-file table, as extract_sources would (batches in audit.batches),
and builds beside them the shapes the other layers give those rows: staging base tables, a mart, a
materialized view, a snapshot, a history schema with a partitioned table, audit.quarantine records,
data-quality alerts, scheduled reports with deliveries (a foreign key without tenant_id), and a
security schema with hashed API keys, a tenant → role mapping and real login roles (one with a
row-level security policy, one shared with another tenant). The expected counts are what the test
landed, counted here from the landing plan, not from the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extras import Json

from meridian import db
from meridian.cli import main
from meridian.sources.schema import TABLES
from meridian.warehouse.bootstrap import ensure_warehouse
from meridian.warehouse.catalog import materialized_views, warehouse_tables
from meridian.warehouse.rebuild_requests import (
    clear_full_refresh_requests,
    pending_full_refresh,
    pending_full_refresh_requests,
    request_full_refresh,
)
from tests.conftest import private_warehouse

GONE, KEPT = "doomed", ("acme", "globex")
TENANTS = (GONE, *KEPT)
ROWS = {GONE: 3, "acme": 2, "globex": 1}  # rows per raw table and tenant
ROLES = ("meridian_bi_doomed", "meridian_api_doomed", "meridian_bi_shared", "meridian_bi_acme")
LOG_TABLES = ("audit.deletion_requests", "audit.full_refresh_requests")
VALUES = {"text": "x", "timestamptz": "2024-03-01T12:00:00Z", "integer": 1, "numeric": 0.5, "jsonb": Json({}),
          "char(3)": "USD", "char(2)": "US", "date": "2024-03-01", "bigint": 1}


@pytest.fixture(scope="module")
def server() -> Iterator[Path]:
    with private_warehouse("meridian-deletion-cli-test-") as base:
        yield base


def user_id(tenant: str, index: int) -> str:
    return f"usr_{tenant}_{index}"


def raw_row(table, tenant: str, index: int) -> dict:
    """One landed row of ``table`` for ``tenant``: its user is usr_<tenant>_<index>, its e-mail names it."""
    row = {name: VALUES[ctype] for name, ctype in table.columns}
    row["id"] = f"{table.name}_{tenant}_{index}"
    row["tenant_id"] = tenant
    if table.name == "organizations":
        row["id"] = tenant
    if table.name == "users":
        row["id"] = user_id(tenant, index)
        row["email"] = f"{user_id(tenant, index)}@mail.example"
    if "user_id" in row:
        row["user_id"] = user_id(tenant, index)
    if table.name == "events":  # a property naming the user, as a match event might
        row["properties"] = Json({"matched_with": user_id(tenant, index), "screen": "home"})
    return row


def build(conn) -> dict[str, int]:
    """Land the three tenants and build every layer; returns the rows of ``doomed`` per table, as landed."""
    expected: dict[str, int] = {}
    with conn.cursor() as cur:
        for schema in ("raw", "staging", "intermediate", "marts", "audit", "reporting", "history", "security",
                       "snapshots"):
            cur.execute(f"drop schema if exists {schema} cascade")
        for role in ROLES:
            cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
    conn.commit()
    ensure_warehouse(conn)
    with conn.cursor() as cur:
        # raw: one batch per source table holding every tenant's rows, as one extract run lands them
        for batch_id, table in enumerate(TABLES, start=1):
            landed = 0
            for tenant in TENANTS:
                for index in range(ROWS[tenant]):
                    row = raw_row(table, tenant, index)
                    if table.name == "organizations" and index:
                        row["name"] = f"version {index}"  # later versions of the organization
                    columns = [*row, "_batch_id", "_loaded_at"]
                    cur.execute(
                        sql.SQL("insert into {} ({}) values ({})").format(
                            sql.Identifier("raw", table.raw_table),
                            sql.SQL(", ").join(map(sql.Identifier, columns)),
                            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                        ),
                        [*row.values(), batch_id, "2024-03-02"],
                    )
                    landed += 1
            cur.execute(
                """insert into audit.batches (batch_id, source, table_name, as_of_date, as_of_at, window_end, landed,
                                              accepted, quarantined, duplicates, reconciled_at)
                   values (%s, %s, %s, '2024-03-01', '2024-03-02', '2024-03-02', %s, %s, 0, 0, now())""",
                (batch_id, table.source, table.name, landed, landed),
            )
            expected[f"raw.{table.raw_table}"] = ROWS[GONE]
        # a batch of the kept tenants alone: the purge must leave it as it is
        cur.execute(
            """insert into audit.batches (batch_id, source, table_name, as_of_date, as_of_at, window_end, landed,
                                          accepted, quarantined, duplicates, reconciled_at)
               values (50, 'app', 'users', '2024-03-01', '2024-03-02', '2024-03-02', 0, 0, 0, 0, now())"""
        )
        # audit.quarantine: landed records (below, a users record with its e-mail; here, lines that are no
        # JSON object, one of them naming the tenant)
        cur.execute("""create table audit.quarantine (source text, table_name text, record jsonb, reasons text[],
                                                      batch_id bigint, quarantined_at timestamptz)""")
        # event files: one file (batch 99) with lines of every tenant and lines that are no JSON object
        lines = 0
        for tenant in TENANTS:
            for index in range(ROWS[tenant]):
                record = {"id": f"file_event_{tenant}_{index}", "tenant_id": tenant,
                          "user_id": user_id(tenant, index), "event_type": "app_open"}
                cur.execute(
                    """insert into raw.app__event_files (_file_name, _line_number, _line, record, _batch_id, _loaded_at)
                       values ('events_2024-03-01.jsonl', %s, null, %s, 99, '2024-03-02')""",
                    (lines + 1, Json(record)),
                )
                lines += 1
        for text in ('{"id": "e9", "user_id": "usr_acme_0", "tenant_id": "acme"',  # cut short: no JSON object
                     '{"id": "e10", "tenant_id":"doomed", "user_id": "usr_doomed_0"',
                     '{"id": "e11", "user_id": "usr_acme_1", "tenant_id": "doomed.co"'):  # another tenant
            lines += 1
            cur.execute(
                """insert into raw.app__event_files (_file_name, _line_number, _line, record, _batch_id, _loaded_at)
                   values ('events_2024-03-01.jsonl', %s, %s, null, 99, '2024-03-02')""",
                (lines, text),
            )
            cur.execute("""insert into audit.quarantine values ('app', 'event_files', %s, '{invalid_json}', 99, now())""",
                        (Json({"file": "events_2024-03-01.jsonl", "line_number": lines, "line": text}),))
        cur.execute(
            """insert into audit.batches (batch_id, source, table_name, as_of_date, as_of_at, window_end, file_name,
                                          landed)
               values (99, 'app', 'event_files', '2024-03-01', '2024-03-02', '2024-03-02',
                       'events_2024-03-01.jsonl', %s)""",
            (lines,),
        )
        expected["raw.app__event_files"] = ROWS[GONE] + 1

        # staging base tables and a mart, as dbt builds them
        cur.execute("""create table staging.base_app__users as
                       select *, 'accepted'::text as row_status from raw.app__users""")
        cur.execute("""create table staging.base_app__organizations as
                       select * from raw.app__organizations""")
        cur.execute("insert into staging.base_app__organizations (id, tenant_id, _batch_id, _loaded_at) "
                    "values ('doomed', null, 1, now())")  # a version quarantined for its tenant_id: found by id
        cur.execute("""create table marts.fct_daily_active_users as
                       select tenant_id, date '2024-03-01' as activity_date, count(distinct user_id) as active_users
                       from raw.app__events group by tenant_id""")
        cur.execute("""create table marts.fct_mrr_movements as
                       select tenant_id, user_id, 100 as mrr_change from raw.billing__payments""")
        cur.execute("""create materialized view marts.mv_active_users as
                       select tenant_id, sum(active_users) as active_users from marts.fct_daily_active_users
                       group by tenant_id""")
        cur.execute("create schema snapshots")
        cur.execute("""create table snapshots.snp_crm__customers as
                       select *, now() as dbt_valid_from from raw.crm__customers""")
        # funnel progress keys users and leads alike: entity_id, with entity_type saying which
        cur.execute("""create table intermediate.int_funnel_progress as
                       select tenant_id, 'onboarding' as funnel_name, 'user' as entity_type, id as entity_id, 1 as step
                       from raw.app__users
                       union all select 'acme', 'sales', 'lead', %s, 1""", (user_id("acme", 0),))
        expected["intermediate.int_funnel_progress"] = ROWS[GONE]
        expected["staging.base_app__users"] = ROWS[GONE]
        expected["staging.base_app__organizations"] = ROWS[GONE] + 1
        expected["marts.fct_daily_active_users"] = 1
        expected["marts.fct_mrr_movements"] = ROWS[GONE]
        expected["snapshots.snp_crm__customers"] = ROWS[GONE]

        # history: another layer's schema, with a table partitioned by month
        # a table of the history layer shaped by hand beside the bootstrap's: the purge finds any table
        cur.execute("create schema if not exists history")
        cur.execute("""create table history.events_by_month (tenant_id text, id text, user_id text, occurred_at timestamptz)
                       partition by range (occurred_at)""")
        cur.execute("""create table history.events_by_month_2024_02 partition of history.events_by_month
                       for values from ('2024-02-01') to ('2024-03-01')""")
        cur.execute("""create table history.events_by_month_2024_03 partition of history.events_by_month
                       for values from ('2024-03-01') to ('2024-04-01')""")
        cur.execute("""insert into history.events_by_month
                       select tenant_id, id, user_id, occurred_at - interval '1 day' * (n % 2) * 15
                       from raw.app__events, generate_series(0, 1) as n""")
        expected["history.events_by_month"] = 2 * ROWS[GONE]

        for tenant in TENANTS:
            cur.execute(
                "insert into audit.quarantine values ('app', 'users', %s, '{currency_mismatch}', 2, now())",
                (Json({"id": user_id(tenant, 9), "tenant_id": tenant, "email": f"{user_id(tenant, 9)}@mail.example"}),),
            )
            cur.execute(
                "insert into audit.quarantine values ('billing', 'payments', %s, '{negative_amount}', 6, now())",
                (Json({"id": f"pay_{tenant}", "tenant_id": tenant, "user_id": user_id(tenant, 0)}),),
            )
        expected["audit.quarantine"] = 3
        for tenant in TENANTS:
            cur.execute(
                """insert into audit.data_quality_alerts (alert_type, table_name, message, severity, tenant_id)
                   values ('data_drop', 'app.events', %s, 'high', %s)""",
                (f"events of {tenant} dropped", tenant),
            )
        expected["audit.data_quality_alerts"] = 1

        # reporting: each tenant's schedule with a delivery (report_deliveries has no tenant_id)
        for tenant in TENANTS:
            cur.execute(
                """insert into reporting.scheduled_reports (tenant_id, name, recipients, next_run_at)
                   values (%s, 'Monthly', '{a@x.com}', '2024-04-01') returning id""",
                (tenant,),
            )
            report_id = cur.fetchone()[0]
            cur.execute(  # error names the tenant only so that the checks below can tell the rows apart
                """insert into reporting.report_deliveries (report_id, period_start, period_end, status, error)
                   values (%s, '2024-02-01', '2024-02-29', 'sent', %s), (%s, '2024-03-01', '2024-03-31', 'sent', %s)""",
                (report_id, f"of {tenant}", report_id, f"of {tenant}"),
            )
        expected["reporting.scheduled_reports"] = 1
        expected["reporting.report_deliveries"] = 2

        # security: hashed API keys, the tenant → role mapping, and the roles themselves
        # shaped by hand (the bootstrap's own security objects make way): the purge finds any table
        cur.execute("drop schema if exists security cascade")
        cur.execute("create schema security")
        cur.execute("create table security.api_keys (key_id bigserial primary key, tenant_id text not null, "
                    "key_hash text not null)")
        cur.execute("create table security.tenant_roles (role_name text not null, tenant_id text not null, "
                    "kind text not null default 'bi', created_at timestamptz default now(), "
                    "primary key (role_name, tenant_id))")
        for tenant in TENANTS:
            cur.execute("insert into security.api_keys (tenant_id, key_hash) values (%s, md5(%s)), (%s, md5(%s))",
                        (tenant, tenant + "1", tenant, tenant + "2"))
        mapping = [("meridian_bi_doomed", GONE), ("meridian_api_doomed", GONE), ("meridian_bi_shared", GONE),
                   ("meridian_bi_shared", "acme"), ("meridian_bi_acme", "acme"), ("meridian_bi_gone_long_ago", GONE)]
        cur.executemany("insert into security.tenant_roles (role_name, tenant_id) values (%s, %s)", mapping)
        for role in ROLES:
            cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
            cur.execute(sql.SQL("grant usage on schema marts to {}").format(sql.Identifier(role)))
            cur.execute(sql.SQL("grant select on marts.fct_daily_active_users to {}").format(sql.Identifier(role)))
        cur.execute("alter table marts.fct_daily_active_users enable row level security")
        cur.execute("""create policy doomed_only on marts.fct_daily_active_users to meridian_bi_doomed
                       using (tenant_id = 'doomed')""")
        expected["security.api_keys"] = 2
        expected["security.tenant_roles"] = 4
    conn.commit()
    # the bootstrap again, as the purge runs it: its own objects beside the ones shaped by hand above
    ensure_warehouse(conn)
    return expected


@pytest.fixture
def landed(server: Path) -> dict[str, int]:
    with db.connection("warehouse") as conn:
        return build(conn)


def fingerprints(conn, *leave_out: str) -> dict[str, tuple[int, str]]:
    """Per table and materialized view: the rows that mention none of ``leave_out``, as (count, md5)."""
    out = {}
    with conn.cursor() as cur:
        for table in [*warehouse_tables(conn), *materialized_views(conn)]:
            if table.key in LOG_TABLES:
                continue
            cur.execute(
                sql.SQL("select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "
                        "from {} as t where strpos(t::text, %s) = 0 and strpos(t::text, %s) = 0").format(table.ident),
                (leave_out[0], leave_out[-1]),
            )
            out[table.key] = cur.fetchone()
    return out


def mentions(conn, needle: str) -> dict[str, int]:
    """Per table and materialized view, the rows whose text holds ``needle`` anywhere (logs left out)."""
    found = {}
    with conn.cursor() as cur:
        for table in [*warehouse_tables(conn), *materialized_views(conn)]:
            if table.key in LOG_TABLES:
                continue
            cur.execute(sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(table.ident),
                        (needle,))
            rows = cur.fetchone()[0]
            if rows:
                found[table.key] = rows
    return found


def roles() -> set[str]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        # the tenant roles (not the group role every tenant role is a member of)
        cur.execute("select rolname from pg_roles where rolname like 'meridian\\_%' and rolname <> 'meridian_tenant_reader'")
        return {row[0] for row in cur.fetchall()}


def batches() -> dict[int, tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select batch_id, landed, accepted, quarantined, duplicates, reconciled_at is not null "
                    "from audit.batches")
        return {row[0]: row[1:] for row in cur.fetchall()}


def printed_counts(out: str) -> dict[str, int]:
    counts = {}
    for line in out.splitlines():
        key, _, value = line.partition(": ")
        if "." in key and " " not in key and value.isdigit():
            counts[key] = int(value)
    return counts


def test_without_yes_it_says_what_it_would_remove_and_changes_nothing(landed, capsys):
    with db.connection("warehouse") as conn:
        before = fingerprints(conn, "no row mentions this"), mentions(conn, GONE)
    assert main(["tenant", "purge", GONE]) == 2
    captured = capsys.readouterr()
    assert printed_counts(captured.out) == landed
    assert f"total: {sum(landed.values())} rows would be removed for tenant 'doomed'" in captured.out
    assert "roles to drop: meridian_api_doomed, meridian_bi_doomed" in captured.out
    assert "role kept (also mapped to acme): meridian_bi_shared" in captured.out
    assert "run `meridian tenant purge doomed --yes`" in captured.err
    with db.connection("warehouse") as conn:
        assert (fingerprints(conn, "no row mentions this"), mentions(conn, GONE)) == before
        assert pending_full_refresh(conn) is None
    assert roles() == set(ROLES)


def test_purge_removes_every_row_of_the_tenant_and_nothing_else(landed, capsys):
    with db.connection("warehouse") as conn:
        kept_before = fingerprints(conn, GONE)
    batches_before = batches()

    assert main(["tenant", "purge", GONE, "--yes"]) == 0
    out = capsys.readouterr().out
    assert printed_counts(out) == landed
    assert f"total: {sum(landed.values())} rows removed for tenant 'doomed'" in out
    assert "roles dropped: meridian_api_doomed, meridian_bi_doomed" in out
    assert "materialized views refreshed: marts.mv_active_users" in out

    with db.connection("warehouse") as conn:
        # not one row anywhere names the tenant, but for the line of tenant doomed.co (and its quarantine record)
        assert mentions(conn, GONE) == {"raw.app__event_files": 1, "audit.quarantine": 1}
        assert mentions(conn, '"doomed"') == {}
        kept_after = fingerprints(conn, GONE)
        # the other tenants' rows are exactly as they were (audit.batches is checked below)
        assert {k: v for k, v in kept_after.items() if k != "audit.batches"} == {
            k: v for k, v in kept_before.items() if k != "audit.batches"
        }
        with conn.cursor() as cur:
            cur.execute("select action, tenant_id, pseudonym, rows_changed, counts, roles_dropped, requested_by, "
                        "database_user, requested_at is not null, request_id from audit.deletion_requests")
            log = cur.fetchall()
            cur.execute("select _line from raw.app__event_files where record is null")
            lines = cur.fetchall()
        assert pending_full_refresh(conn) == f"tenant 'doomed' purged (deletion request {log[0][-1]}) (request 1)"
    (action, tenant, pseudonym, rows, counts, dropped, by, database_user, stamped, _) = log[0]
    assert (action, tenant, pseudonym, rows, counts) == ("tenant_purge", GONE, None, sum(landed.values()), landed)
    assert dropped == ["meridian_api_doomed", "meridian_bi_doomed"] and "@" in by and database_user == "postgres"
    assert stamped and len(log) == 1
    # of the lines that are no JSON object, the one naming the tenant went; the others stay
    assert sorted(line[0][:11] for line in lines) == ['{"id": "e11', '{"id": "e9"']

    assert roles() == {"meridian_bi_shared", "meridian_bi_acme"}
    # every batch adds up again once reconciled: landed is lowered by exactly the rows removed from raw
    after = batches()
    for batch_id, (landed_rows, accepted, quarantined, duplicates, reconciled) in batches_before.items():
        if batch_id == 50:
            assert after[batch_id] == (landed_rows, accepted, quarantined, duplicates, reconciled)
        else:
            removed = landed[f"raw.{TABLES[batch_id - 1].raw_table}"] if batch_id < 99 else landed["raw.app__event_files"]
            assert after[batch_id] == (landed_rows - removed, None, None, None, False)

    # the tenant is unknown now: a second purge says so
    assert main(["tenant", "purge", GONE, "--yes"]) == 2
    assert "unknown tenant 'doomed'" in capsys.readouterr().err


def test_a_role_that_owns_objects_stops_the_purge_before_anything_is_removed(landed, capsys):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("create table marts.doomed_scratch (n int)")
        cur.execute("alter table marts.doomed_scratch owner to meridian_bi_doomed")
    with db.connection("warehouse") as conn:
        before = fingerprints(conn, "no row mentions this")
    assert main(["tenant", "purge", GONE, "--yes"]) == 1
    err = capsys.readouterr().err
    assert "nothing was removed" in err and "'meridian_bi_doomed'" in err and "marts.doomed_scratch" in err
    assert "REASSIGN OWNED BY meridian_bi_doomed" in err
    with db.connection("warehouse") as conn:
        assert fingerprints(conn, "no row mentions this") == before
        assert pending_full_refresh(conn) is None
        with conn.cursor() as cur:
            cur.execute("select count(*) from audit.deletion_requests")
            assert cur.fetchone()[0] == 0
    assert roles() == set(ROLES)


FORGOTTEN = user_id("acme", 0)


def user_counts(conn) -> dict[str, list]:
    """Per table with user ids: rows and distinct users per tenant (what the marts count)."""
    counts = {}
    with conn.cursor() as cur:
        for table in warehouse_tables(conn):
            column = "user_id" if table.has("user_id") else "id" if table.name.endswith("users") and table.has("id") \
                else None
            if column and table.has("tenant_id"):
                cur.execute(sql.SQL("select tenant_id, count(*), count(distinct {}) from {} group by 1 order by 1")
                            .format(sql.Identifier(column), table.ident))
                counts[table.key] = cur.fetchall()
    return counts


def test_forget_replaces_the_user_everywhere_and_counts_stay(landed, capsys):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        # another tenant's row that happens to carry the same id is not the person: it stays; a row landed
        # without a tenant (quarantined as unknown_tenant) is: ids are unique across tenants at the source
        cur.execute("insert into raw.app__events (id, tenant_id, user_id, event_type, occurred_at, received_at, "
                    "_batch_id, _loaded_at) values ('ev_globex', 'globex', %s, 'app_open', now(), now(), 3, now()), "
                    "('ev_no_tenant', null, %s, 'app_open', now(), now(), 3, now())",
                    (FORGOTTEN, FORGOTTEN))
    with db.connection("warehouse") as conn:
        where_before = mentions(conn, FORGOTTEN)
        counts_before = user_counts(conn)
        others_before = fingerprints(conn, FORGOTTEN)

    assert main(["user", "forget", "acme", FORGOTTEN]) == 0
    out = capsys.readouterr().out
    pseudonym = out.split(" now carry ")[1].split()[0]
    assert pseudonym.startswith("forgotten_") and len(pseudonym) == len("forgotten_") + 16
    assert "not changed" not in out  # every column holding the user could take the pseudonym

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        # the id survives only in the other tenant's row and as a lead's id (a lead is not the user); every
        # other row that held it now holds the pseudonym
        assert mentions(conn, FORGOTTEN) == {"raw.app__events": 1, "intermediate.int_funnel_progress": 1}
        expected = dict(where_before)
        expected["raw.app__events"] -= 1
        expected["intermediate.int_funnel_progress"] -= 1
        assert mentions(conn, pseudonym) == expected
        assert printed_counts(out) == expected
        # the e-mail is gone with the id: from raw, staging and the quarantined record
        assert mentions(conn, f"{FORGOTTEN}@") == {}
        cur.execute("select email from raw.app__users where id = %s", (pseudonym,))
        assert cur.fetchall() == [(None,)]
        cur.execute("select record from audit.quarantine where record ->> 'id' = %s", (user_id("acme", 9),))
        assert cur.fetchone()[0]["email"] == f"{user_id('acme', 9)}@mail.example"  # another user keeps theirs
        cur.execute("select properties from raw.app__events where user_id = %s and tenant_id = 'acme'", (pseudonym,))
        assert cur.fetchall() == [({"matched_with": pseudonym, "screen": "home"},)]
        cur.execute("select _line from raw.app__event_files where _line like '{\"id\": \"e9\"%'")
        assert cur.fetchone()[0] == f'{{"id": "e9", "user_id": "{pseudonym}", "tenant_id": "acme"'
        cur.execute("select record ->> 'line' from audit.quarantine where record ->> 'line' like '{\"id\": \"e9\"%'")
        assert cur.fetchone()[0] == f'{{"id": "e9", "user_id": "{pseudonym}", "tenant_id": "acme"'
        cur.execute("select user_id from raw.app__events where id = 'ev_no_tenant'")
        assert cur.fetchone()[0] == pseudonym
        # counts stay: the same rows and the same number of distinct users per tenant, in every table
        assert user_counts(conn) == counts_before
        # rows that never named the user are untouched
        assert fingerprints(conn, FORGOTTEN, pseudonym) == others_before
        # logged by the pseudonym only, and the next run is asked to rebuild from the rewritten rows
        cur.execute("select action, tenant_id, pseudonym, rows_changed, counts, request_id from audit.deletion_requests")
        action, tenant, logged_pseudonym, rows, counts, request_id = cur.fetchone()
        assert (action, tenant, logged_pseudonym, rows, counts) == (
            "user_forget", "acme", pseudonym, sum(expected.values()), expected)
        cur.execute("select count(*) from audit.deletion_requests as t where strpos(t::text, %s) > 0", (FORGOTTEN,))
        assert cur.fetchone()[0] == 0
        assert pending_full_refresh(conn) == (
            f"a user of tenant 'acme' forgotten as {pseudonym} (deletion request {request_id}) (request 1)"
        )

    # the id is gone: forgetting it again finds nobody
    assert main(["user", "forget", "acme", FORGOTTEN]) == 2
    assert f"unknown user '{FORGOTTEN}'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "requests, clear_up_to, pending",
    [
        ([], None, None),
        (["tenant 'a' purged"], None, "tenant 'a' purged (request 1)"),
        (["tenant 'a' purged", "a user forgotten"], None, "tenant 'a' purged (request 1); a user forgotten (request 2)"),
        (["tenant 'a' purged", "a user forgotten"], 1, "a user forgotten (request 2)"),  # made while a run built
        (["tenant 'a' purged", "a user forgotten"], 2, None),
    ],
)
def test_full_refresh_requests_stay_pending_until_a_run_clears_them(server, requests, clear_up_to, pending):
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
        with conn.cursor() as cur:
            cur.execute("truncate audit.full_refresh_requests restart identity")
        for reason in requests:
            request_full_refresh(conn, reason)
        seen = [request.request_id for request in pending_full_refresh_requests(conn)]
        assert seen == list(range(1, len(requests) + 1))
        if clear_up_to is not None:
            assert clear_full_refresh_requests(conn, clear_up_to) == clear_up_to
        assert pending_full_refresh(conn) == pending


def test_a_full_refresh_request_needs_a_reason(server):
    with db.connection("warehouse") as conn:
        ensure_warehouse(conn)
        with pytest.raises(ValueError, match="needs a reason"):
            request_full_refresh(conn, "  ")
        with pytest.raises(psycopg2.errors.CheckViolation):
            with conn.cursor() as cur:
                cur.execute("insert into audit.full_refresh_requests (reason) values ('')")


def test_the_deletion_log_is_kept_by_a_purge_of_its_tenant(landed, capsys):
    """A purge logs itself under the tenant's id; a later purge of another tenant leaves that row alone."""
    assert main(["tenant", "purge", GONE, "--yes"]) == 0
    assert main(["tenant", "purge", "globex", "--yes"]) == 0
    capsys.readouterr()
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select tenant_id, counts ->> 'raw.app__users' from audit.deletion_requests order by request_id")
        assert cur.fetchall() == [(GONE, str(ROWS[GONE])), ("globex", str(ROWS["globex"]))]
        assert mentions(conn, "globex") == {}
