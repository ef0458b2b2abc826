"""Data-quality checks over the warehouse for one as-of date (docs/metrics.md, Operations).

Each check returns :class:`meridian.warehouse.alerts.Alert` objects;
:func:`run_data_quality_checks` runs them all after the dbt build and records
the alerts (``dedup_key`` makes a rerun of the same as-of date a no-op).
Days are UTC calendar days; D is the as-of date.

``quarantine`` (:func:`quarantine_alerts`)
    Per source table, over the batches loaded by D's run (``audit.batch_outcomes``
    where ``as_of_date = D``): quarantined / landed rows. Above
    ``settings().quarantine_alert_rate`` (``MERIDIAN_QUARANTINE_ALERT_RATE``,
    default 0.02) → ``high``. No minimum batch size: one bad row in a
    three-row batch is a third of what arrived. Key ``quarantine:D:<table>``.

``new_event_type`` (:func:`event_alerts`)
    An event type outside :data:`meridian.sources.schema.KNOWN_EVENT_TYPES` in
    the accepted events (``staging.stg_app__events``) that occurred in the 29
    days D-28 .. D → ``low`` (docs/sources.md: the events are accepted and counted
    under their own type; the alert names the type so it can be added). Once per
    type ever: key ``new_event_type:<type>``, whichever tenants send it.

``missing_data`` (:func:`event_alerts`)
    A tenant with no accepted event occurring on D that had at least one on
    any of the 7 days before (D-7 .. D-1) → ``high``. Key ``missing_data:D:<tenant>:events``.

``data_spike`` / ``data_drop`` (:func:`event_alerts`, :func:`payment_alerts`)
    Per tenant, the count on D of accepted events (by ``occurred_at``) and of
    payments (rows of ``staging.stg_billing__payments`` by ``created_at``, every
    status: attempts) against the trailing 28 days D-28 .. D-1. The history
    starts at the tenant's first day with a count in that window and runs to
    D-1 with days without rows counted as 0; it must be at least
    :data:`MIN_HISTORY_DAYS` (14) days long, its mean at least
    :data:`MIN_MEAN_PER_DAY` (5; below that one payment more is already 3 sd
    away: noise, not an anomaly) and its sample standard deviation above 0,
    else the tenant is not judged for that metric. A count above mean + 3 sd →
    ``data_spike`` (``medium``), below mean - 3 sd → ``data_drop``
    (``high``); ``threshold`` holds the bound crossed, ``actual_value`` the
    count. Key ``<type>:D:<tenant>:<events|payments>``. A tenant with no
    events at all on D can raise both ``missing_data`` and ``data_drop``.

Cost: the event checks read per-tenant daily counts by event type that
``audit.quality_event_counts`` keeps (meridian.quality.event_counts): each
run adds the events the builds added since the last one, so it reads the new
events, not the 29 days (a warehouse whose view is not over the dbt base
table is scanned over the window instead). The payment check scans the
payments of the 29 days (``stg_billing__payments`` is small, and its mutable
rows carry no change stamp to follow). The statistics are computed here. A
check whose relation does not exist yet (no dbt build ran) is skipped with a
warning.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import psycopg2.extensions

from meridian.config import settings
from meridian.quality import event_counts
from meridian.sources.schema import KNOWN_EVENT_TYPES
from meridian.warehouse.alerts import Alert, record_alerts

log = logging.getLogger(__name__)

TRAILING_DAYS = 28
MIN_HISTORY_DAYS = 14
MIN_MEAN_PER_DAY = 5.0
SIGMAS = 3.0
MISSING_LOOKBACK_DAYS = 7

EVENTS_RELATION = "staging.stg_app__events"
PAYMENTS_RELATION = "staging.stg_billing__payments"
BATCH_OUTCOMES_RELATION = "audit.batch_outcomes"


@dataclass(frozen=True)
class Window:
    """The days a check reads: D-28 .. D, as a half-open UTC timestamp range."""

    as_of: date

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=TRAILING_DAYS)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.as_of + timedelta(days=1), time(), tzinfo=UTC)


def relation_exists(conn: psycopg2.extensions.connection, relation: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (relation,))
        return bool(cur.fetchone()[0])


# --- the rules, on per-tenant daily counts -------------------------------------------------------------------------

def volume_alerts(
    daily_counts: Mapping[str, Mapping[date, int]],
    as_of: date,
    *,
    metric: str,
    table_name: str,
) -> list[Alert]:
    """``data_spike`` / ``data_drop`` per tenant from {tenant: {day: count}} (the 3-sd rule, module doc)."""
    alerts = []
    history_days = [as_of - timedelta(days=offset) for offset in range(TRAILING_DAYS, 0, -1)]
    for tenant_id, counts in sorted(daily_counts.items()):
        first = next((day for day in history_days if counts.get(day, 0) > 0), None)
        if first is None:
            continue
        history = [counts.get(day, 0) for day in history_days if day >= first]
        if len(history) < MIN_HISTORY_DAYS:
            continue
        mean = statistics.fmean(history)
        sd = statistics.stdev(history)
        if mean < MIN_MEAN_PER_DAY or sd <= 0:
            continue
        actual = counts.get(as_of, 0)
        upper, lower = mean + SIGMAS * sd, mean - SIGMAS * sd
        if actual > upper:
            alert_type, severity, bound, side = "data_spike", "medium", upper, "above"
        elif actual < lower:
            alert_type, severity, bound, side = "data_drop", "high", lower, "below"
        else:
            continue
        alerts.append(Alert(
            alert_type=alert_type,
            message=(
                f"{tenant_id}: {actual} {metric} on {as_of}, {side} the trailing {len(history)}-day mean "
                f"{mean:.1f} {'+' if side == 'above' else '-'} {SIGMAS:g} sd ({sd:.1f}) = {bound:.1f}"
            ),
            severity=severity,
            table_name=table_name,
            threshold=round(bound, 2),
            actual_value=actual,
            tenant_id=tenant_id,
            as_of_date=as_of,
            dedup_key=f"{alert_type}:{as_of.isoformat()}:{tenant_id}:{metric}",
        ))
    return alerts


def missing_data_alerts(
    daily_counts: Mapping[str, Mapping[date, int]], as_of: date, *, table_name: str = EVENTS_RELATION
) -> list[Alert]:
    """``missing_data`` for each tenant with no events on ``as_of`` and some on one of the 7 days before."""
    alerts = []
    week_before = [as_of - timedelta(days=offset) for offset in range(1, MISSING_LOOKBACK_DAYS + 1)]
    for tenant_id, counts in sorted(daily_counts.items()):
        if counts.get(as_of, 0) > 0:
            continue
        active_days = [day for day in week_before if counts.get(day, 0) > 0]
        if not active_days:
            continue
        last = max(active_days)
        alerts.append(Alert(
            alert_type="missing_data",
            message=(
                f"{tenant_id}: no accepted events on {as_of}; it had events on {len(active_days)} of the "
                f"{MISSING_LOOKBACK_DAYS} days before (last {last}: {counts[last]})"
            ),
            severity="high",
            table_name=table_name,
            threshold=1,
            actual_value=0,
            tenant_id=tenant_id,
            as_of_date=as_of,
            dedup_key=f"missing_data:{as_of.isoformat()}:{tenant_id}:events",
        ))
    return alerts


def new_event_type_alerts(
    type_counts: Iterable[tuple[str, str, date, int]],
    as_of: date,
    *,
    known: Iterable[str] = KNOWN_EVENT_TYPES,
    table_name: str = EVENTS_RELATION,
) -> list[Alert]:
    """``new_event_type`` once per type outside ``known``, from (tenant, event_type, day, count) rows."""
    known_types = set(known)
    seen: dict[str, dict] = {}
    for tenant_id, event_type, day, count in type_counts:
        if event_type in known_types or event_type is None:
            continue
        entry = seen.setdefault(event_type, {"tenants": set(), "first": day, "events": 0})
        entry["tenants"].add(tenant_id)
        entry["first"] = min(entry["first"], day)
        entry["events"] += count
    alerts = []
    for event_type, entry in sorted(seen.items()):
        tenants = sorted(entry["tenants"])
        alerts.append(Alert(
            alert_type="new_event_type",
            message=(
                f"event type {event_type!r} is not a known event type: {entry['events']} accepted events from "
                f"{', '.join(tenants)} since {entry['first']} (add it to KNOWN_EVENT_TYPES and the metrics "
                "that should count it)"
            ),
            severity="low",
            table_name=table_name,
            column_name="event_type",
            actual_value=entry["events"],
            tenant_id=tenants[0] if len(tenants) == 1 else None,
            as_of_date=as_of,
            dedup_key=f"new_event_type:{event_type}",
        ))
    return alerts


# --- the checks, reading the warehouse -----------------------------------------------------------------------------

def _window_counts(conn: psycopg2.extensions.connection, as_of: date, relation: str, what: str,
                   sql: str) -> list[tuple] | None:
    """The rows of ``sql`` (counts per day, bound to the check window of ``as_of``: its start, its end);
    None, with a warning, while ``relation`` does not exist."""
    if not relation_exists(conn, relation):
        log.warning("%s does not exist (no dbt build yet): %s checks skipped", relation, what)
        return None
    window = Window(as_of)
    with conn.cursor() as cur:
        cur.execute(sql, (window.start, window.end))
        return cur.fetchall()


EVENT_WINDOW_SQL = f"""
    select tenant_id, event_type, cast(occurred_at at time zone 'UTC' as date) as event_day, count(*)
    from {EVENTS_RELATION}
    where occurred_at >= %s and occurred_at < %s
    group by 1, 2, 3
    """


def event_window_counts(conn: psycopg2.extensions.connection, as_of: date) -> list[tuple] | None:
    """(tenant_id, event_type, day, count) of the accepted events of D-28 .. D; None while there are no events.

    From the counts kept in audit (meridian.quality.event_counts: the events the
    builds added since the last check are read, not the 29 days) when the view
    stands on the base table they follow, else by a scan of the window.
    """
    if not relation_exists(conn, EVENTS_RELATION):
        log.warning("%s does not exist (no dbt build yet): event checks skipped", EVENTS_RELATION)
        return None
    if event_counts.can_keep_counts(conn):
        window = Window(as_of)
        event_counts.refresh_event_counts(conn, window.first_day)
        return event_counts.window_event_counts(conn, window.first_day, as_of)
    return _window_counts(conn, as_of, EVENTS_RELATION, "event", EVENT_WINDOW_SQL)


def event_alerts(conn: psycopg2.extensions.connection, as_of: date) -> list[Alert]:
    """``new_event_type``, ``missing_data`` and event ``data_spike``/``data_drop`` from the counts of D-28 .. D."""
    rows = event_window_counts(conn, as_of)
    return [] if rows is None else event_alerts_from_counts(rows, as_of)


def event_alerts_from_counts(rows: Iterable[tuple[str, str, date, int]], as_of: date) -> list[Alert]:
    """The event alerts of ``as_of`` from its window's (tenant_id, event_type, day, count) rows."""
    rows = list(rows)
    daily: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for tenant_id, _event_type, day, count in rows:
        daily[tenant_id][day] += count
    return [
        *new_event_type_alerts(rows, as_of),
        *missing_data_alerts(daily, as_of),
        *volume_alerts(daily, as_of, metric="events", table_name=EVENTS_RELATION),
    ]


def payment_alerts(conn: psycopg2.extensions.connection, as_of: date) -> list[Alert]:
    """Payment ``data_spike``/``data_drop``: payment rows per tenant and created_at day, D vs D-28 .. D-1."""
    rows = _window_counts(conn, as_of, PAYMENTS_RELATION, "payment", f"""
        select tenant_id, cast(created_at at time zone 'UTC' as date) as payment_day, count(*)
        from {PAYMENTS_RELATION}
        where created_at >= %s and created_at < %s
        group by 1, 2
        """)
    if rows is None:
        return []
    daily: dict[str, dict[date, int]] = defaultdict(dict)
    for tenant_id, day, count in rows:
        daily[tenant_id][day] = count
    return volume_alerts(daily, as_of, metric="payments", table_name=PAYMENTS_RELATION)


def quarantine_alerts(
    conn: psycopg2.extensions.connection, as_of: date, *, threshold: float | None = None
) -> list[Alert]:
    """``quarantine`` per source table whose as-of batches quarantined more than ``threshold`` of their rows."""
    rate = settings().quarantine_alert_rate if threshold is None else threshold
    if not relation_exists(conn, BATCH_OUTCOMES_RELATION):
        log.warning("%s does not exist (no dbt build yet): quarantine check skipped", BATCH_OUTCOMES_RELATION)
        return []
    with conn.cursor() as cur:
        cur.execute(
            f"""
            select source, table_name, count(*) as batches,
                   sum(coalesce(landed, classified)) as landed, sum(quarantined) as quarantined
            from {BATCH_OUTCOMES_RELATION}
            where as_of_date = %s
            group by source, table_name
            order by source, table_name
            """,
            (as_of,),
        )
        rows = cur.fetchall()
    alerts = []
    for source, table_name, batches, landed, quarantined in rows:
        if not landed or not quarantined:
            continue
        share = float(quarantined) / float(landed)
        if share <= rate:
            continue
        raw_table = f"raw.{source}__{table_name}"
        alerts.append(Alert(
            alert_type="quarantine",
            message=(
                f"{source}.{table_name}: {quarantined} of {landed} rows landed on {as_of} ({batches} batch"
                f"{'es' if batches != 1 else ''}) were quarantined ({share:.1%}, above {rate:.1%}); "
                "see audit.quarantine for the rows and reasons"
            ),
            severity="high",
            table_name=raw_table,
            threshold=rate,
            actual_value=round(share, 4),
            as_of_date=as_of,
            dedup_key=f"quarantine:{as_of.isoformat()}:{raw_table}",
        ))
    return alerts


def run_data_quality_checks(
    conn: psycopg2.extensions.connection,
    as_of: date,
    *,
    quarantine_threshold: float | None = None,
    volume: bool = True,
) -> list[Alert]:
    """Run every check for ``as_of`` and record the alerts; returns all alerts found (new or already recorded).

    Recording is deduplicated (each alert's ``dedup_key``), so rerunning an
    as-of date records nothing twice. ``volume`` False leaves out the checks
    that read the events and payments (new event types, missing data, spikes
    and drops): for a caller that knows they would find what an earlier run
    for the same date already recorded (meridian.transform.quality). Does not
    commit: call it inside ``db.connection(...)`` (commits on success) or
    commit yourself.
    """
    alerts = [
        *quarantine_alerts(conn, as_of, threshold=quarantine_threshold),
        *(event_alerts(conn, as_of) if volume else []),
        *(payment_alerts(conn, as_of) if volume else []),
    ]
    recorded = record_alerts(conn, alerts)
    log.info(
        "data-quality checks for %s: %s alert(s), %s new; %s",
        as_of, len(alerts), recorded, ", ".join(f"{a.alert_type}/{a.severity}: {a.message}" for a in alerts) or "none",
    )
    return alerts
