"""The accepted events per tenant, event type and UTC day, kept by the checks as the builds add events.

The event checks (meridian.quality.checks) need, for the 29 days D-28 .. D,
the rows of ``staging.stg_app__events`` counted per (tenant_id, event_type,
day of occurred_at in UTC). Counting them from the view reads every event of
those days (3.2 M rows, 1.1 GB at 10 M events) on each run. This module keeps
those counts in ``audit.quality_event_counts`` and brings them up to date with
the events added since the last count, so a run reads what the builds added.

The marts hold no exact substitute: ``fct_event_counts_daily`` counts a late
event (older than the incremental window) only at the next full refresh,
while the view, and so the checks, count it from the run that lands it.

**What the view holds.** ``stg_app__events`` is ``base_app__events`` where
``is_current`` and ``occurred_at`` is before the view's as-of instant T (the
model's SQL). An incremental build only appends rows to the base table, each
stamped ``_transformed_at`` with its dbt invocation's start, and never
changes a row it holds (its doc: events are append-only). The counts kept,
from the day ``covered_from`` on, are those of the current rows with
``occurred_at <= V``, V being the latest event the view showed at the count
(a current row before T is visible, and none visible is after V), and every
row stamped at or before M, the largest ``_transformed_at`` then. Later, with
T not earlier, the view holds in addition exactly

- the current rows added since (``_transformed_at > M``) with
  ``occurred_at <= V`` (before T: visible; a late event of a day long
  closed), read from the base table by its ``_transformed_at`` index, and
- the view's rows after V (added since, or held before but stamped at or
  after the earlier T: a client clock ahead), read from the view by the
  ``occurred_at`` index; the latest of them is the new V.

Both are added in one statement, which also records the new M and V, so
every read sees one snapshot. The days before ``covered_from`` are not kept;
a check of an earlier window counts its missing days from the view once, in
the same statement.

**Counted again from the view** (one read of the window, as the checks did
before) when the counts may no longer be the view's: no count yet, or one of
another :data:`COUNTS_VERSION`; the base table is another table than the one
counted (a full refresh, from the DAG or a bare ``dbt build``, replaces it); a
transform build that was a full refresh started or ended after the count; the
digests of ``stg_app__events`` or ``base_app__events`` in the project state
of the last successful build differ from the count's (their SQL changed); the
view holds no event at or after V (an earlier instant: a backfill). A
tenant's purge (meridian.warehouse.deletion) deletes its rows here with those
of the base table; a forgotten user changes no count.

The builds that write the base table run one at a time (the transform DAG's
``max_active_runs=1``; a model task's retry starts after its build ended),
so no row stamped at or before M commits after a count. The stamps come from
the clock of the host dbt runs on; the hosts of one deployment keep one time
(the event models' ``touched_event_keys`` compares those stamps the same way).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg2.extensions
import psycopg2.extras

log = logging.getLogger(__name__)

EVENTS_VIEW = "staging.stg_app__events"
EVENTS_BASE = "staging.base_app__events"
COUNTS_TABLE = "audit.quality_event_counts"
STATE_TABLE = "audit.quality_event_counts_state"
# the project-state keys whose SQL decides what the view holds
COUNTED_MODELS = ("model.meridian.base_app__events", "model.meridian.stg_app__events")
# the base-table columns the counts follow (a table shaped otherwise is read through the view alone)
BASE_COLUMNS = ("tenant_id", "event_type", "occurred_at", "is_current", "_transformed_at")
# bumped when what a count row means changes: the counts of another version are made again
COUNTS_VERSION = 1

COUNTS_DDL = f"""
create table if not exists {COUNTS_TABLE} (
    tenant_id text,
    event_day date not null,
    event_type text,
    events bigint not null,
    constraint quality_event_counts_key unique nulls not distinct (event_day, tenant_id, event_type)
);
create table if not exists {STATE_TABLE} (
    -- one row
    only_row boolean primary key default true check (only_row),
    version integer not null,
    -- the base table counted (pg_class oid): a full refresh replaces it
    base_table oid,
    -- the SQL digests of COUNTED_MODELS in the project state of the last successful build
    models jsonb,
    -- the days from this one on are kept
    covered_from date not null,
    -- the largest _transformed_at counted (M) and the latest occurred_at the view showed (V); null: none
    counted_through timestamptz,
    visible_through timestamptz,
    counted_at timestamptz not null
);
"""

# Adds the view's rows that are not counted yet (module doc) to the counts of their day, from covered_from
# on, plus the view's rows of [extend_from, covered_from) when an earlier window needs them; records the new
# M and V. One statement: every read sees one snapshot. M, V and the days come as values, not from the state
# table, so that the planner sees how few rows lie after them and uses each index alone. (The view does not
# pass an `order by ... limit 1` down to the index: the new V is the latest of the rows read after the old.)
_ADD_NEW_EVENTS = f"""
with

seen_after as materialized (

    -- the view's rows after V: new, or come into range since (index range on occurred_at)
    select visible.tenant_id, visible.event_type, visible.occurred_at
    from {EVENTS_VIEW} as visible
    where
        (%(visible_through)s::timestamptz is null or visible.occurred_at > %(visible_through)s)
        and visible.occurred_at >= cast(%(covered_from)s as timestamp) at time zone 'UTC'

),

new_events as (

    select seen_after.tenant_id, seen_after.event_type, seen_after.occurred_at
    from seen_after

    union all

    -- current rows added since the count, up to V (index range on _transformed_at)
    select added.tenant_id, added.event_type, added.occurred_at
    from {EVENTS_BASE} as added
    where
        added._transformed_at > %(counted_through)s
        and added.is_current
        and added.occurred_at <= %(visible_through)s
        and added.occurred_at >= cast(%(covered_from)s as timestamp) at time zone 'UTC'

    union all

    -- the days before the kept ones that this window needs, counted whole
    select earlier.tenant_id, earlier.event_type, earlier.occurred_at
    from {EVENTS_VIEW} as earlier
    where
        earlier.occurred_at >= cast(%(extend_from)s as timestamp) at time zone 'UTC'
        and earlier.occurred_at < cast(%(covered_from)s as timestamp) at time zone 'UTC'

),

grouped as materialized (

    select cast(occurred_at at time zone 'UTC' as date) as event_day, tenant_id, event_type, count(*) as events
    from new_events
    group by 1, 2, 3

),

added as (

    insert into {COUNTS_TABLE} as counts (event_day, tenant_id, event_type, events)
    select event_day, tenant_id, event_type, events
    from grouped
    on conflict (event_day, tenant_id, event_type) do update set events = counts.events + excluded.events
    returning 1

),

marked as (

    update {STATE_TABLE}
    set
        covered_from = least(covered_from, %(extend_from)s),
        counted_through = (
            select stamped._transformed_at from {EVENTS_BASE} as stamped
            where stamped._transformed_at is not null
            order by stamped._transformed_at desc limit 1
        ),
        visible_through = greatest(visible_through, (select max(seen_after.occurred_at) from seen_after)),
        counted_at = clock_timestamp()
    returning 1

)

select
    (select count(*) from added),
    (select coalesce(sum(events), 0) from grouped),
    (select count(*) from marked)
"""


@dataclass(frozen=True)
class CountState:
    version: int
    base_table: int | None
    models: dict[str, str] | None
    covered_from: date
    counted_through: datetime | None
    visible_through: datetime | None
    counted_at: datetime


def _exists(cur: Any, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def can_keep_counts(conn: psycopg2.extensions.connection) -> bool:
    """Whether the view stands on a base table with the change stamp the counts follow (a dbt-built warehouse).

    A warehouse whose ``stg_app__events`` was shaped otherwise (e.g. a plain table) is read whole each time.
    """
    with conn.cursor() as cur:
        if not _exists(cur, EVENTS_VIEW) or not _exists(cur, EVENTS_BASE):
            return False
        cur.execute(
            "select count(*) from pg_attribute where attrelid = to_regclass(%s) and attname = any(%s) "
            "and not attisdropped",
            (EVENTS_BASE, list(BASE_COLUMNS)),
        )
        return cur.fetchone()[0] == len(BASE_COLUMNS)


def _state(cur: Any) -> CountState | None:
    cur.execute(f"select version, base_table, models, covered_from, counted_through, visible_through, counted_at "
                f"from {STATE_TABLE}")
    row = cur.fetchone()
    return CountState(*row) if row else None


def _built_models(cur: Any) -> dict[str, str] | None:
    """The digests of COUNTED_MODELS in the last successful build's project state (None without builds)."""
    if not _exists(cur, "audit.transform_runs"):
        return None
    cur.execute("select project_state from audit.transform_runs where status = 'success' "
                "and project_state is not null order by started_at desc limit 1")
    row = cur.fetchone()
    if row is None:
        return None
    return {name: row[0].get(name) for name in COUNTED_MODELS}


def _recount_reason(cur: Any, state: CountState | None, base_table: int, models: dict[str, str] | None) -> str | None:
    """Why the counts must be made again from the view (module doc), or None when they can be brought up to date."""
    if state is None:
        return "no counts yet"
    if state.version != COUNTS_VERSION:
        return f"counts of version {state.version}, this code keeps version {COUNTS_VERSION}"
    if state.base_table != base_table:
        return f"{EVENTS_BASE} is another table than the one counted (rebuilt)"
    if state.models != models:
        return f"the SQL of {' or '.join(COUNTED_MODELS)} changed since the count"
    if _exists(cur, "audit.transform_runs"):
        # a full refresh that ended after the count (or started after it and has not ended): it may have
        # built the view at another instant; one that replaced the base table is caught above as well
        cur.execute("select invocation_id from audit.transform_runs where full_refresh "
                    "and (started_at >= %s or ended_at >= %s) limit 1", (state.counted_at, state.counted_at))
        full = cur.fetchone()
        if full is not None:
            return f"full refresh {full[0]} since the count"
    if state.visible_through is not None:
        cur.execute(f"select exists (select 1 from {EVENTS_VIEW} where occurred_at >= %s)", (state.visible_through,))
        if not cur.fetchone()[0]:
            return f"the view holds no event at or after the latest counted one ({state.visible_through})"
    return None


def refresh_event_counts(conn: psycopg2.extensions.connection, first_day: date) -> dict[str, Any]:
    """Bring ``audit.quality_event_counts`` up to date with the view, keeping every day from ``first_day`` on.

    Call only when :func:`can_keep_counts`. Writes in the caller's transaction (no commit).
    """
    with conn.cursor() as cur:
        cur.execute(COUNTS_DDL)
        cur.execute("select to_regclass(%s)::oid", (EVENTS_BASE,))
        base_table = cur.fetchone()[0]
        models = _built_models(cur)
        state = _state(cur)
        reason = _recount_reason(cur, state, base_table, models)
        if reason is not None:
            # everything from first_day on is counted from the view: no row counted (M null), none seen (V null)
            log.info("event counts made again from %s, from %s on: %s", EVENTS_VIEW, first_day, reason)
            cur.execute(f"delete from {COUNTS_TABLE}")
            cur.execute(
                f"""
                insert into {STATE_TABLE} (version, base_table, models, covered_from, counted_through,
                                           visible_through, counted_at)
                values (%(version)s, %(base)s, %(models)s, %(first)s, null, null, clock_timestamp())
                on conflict (only_row) do update set
                    version = excluded.version, base_table = excluded.base_table, models = excluded.models,
                    covered_from = excluded.covered_from, counted_through = excluded.counted_through,
                    visible_through = excluded.visible_through, counted_at = excluded.counted_at
                """,
                {"version": COUNTS_VERSION, "base": base_table, "first": first_day,
                 "models": psycopg2.extras.Json(models) if models is not None else None},
            )
            state = _state(cur)
        cur.execute(_ADD_NEW_EVENTS, {
            "counted_through": state.counted_through,
            "visible_through": state.visible_through,
            "covered_from": state.covered_from,
            "extend_from": min(first_day, state.covered_from),
        })
        groups, events, _ = cur.fetchone()
    summary = {"recounted": reason, "groups": groups, "events": int(events)}
    log.info("event counts brought up to date: %s event(s) in %s (day, tenant, type) group(s) added%s",
             summary["events"], groups, f" (counted again: {reason})" if reason else "")
    return summary


def window_event_counts(conn: psycopg2.extensions.connection, first_day: date, last_day: date) -> list[tuple]:
    """(tenant_id, event_type, day, events) of the kept counts for the days ``first_day`` .. ``last_day``."""
    with conn.cursor() as cur:
        cur.execute(
            f"select tenant_id, event_type, event_day, events from {COUNTS_TABLE} "
            "where event_day >= %s and event_day <= %s",
            (first_day, last_day),
        )
        return [(tenant, event_type, day, int(events)) for tenant, event_type, day, events in cur.fetchall()]
