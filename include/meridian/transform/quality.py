"""The data-quality step of the transform DAG: the SQL checks, then mail for high/critical alerts.

The event and payment checks (new event types, missing data, spikes and
drops) read the per-day event counts kept in ``audit.quality_event_counts``
(brought up to date with the events the builds added:
meridian.quality.event_counts) and 29 days of
``staging.stg_billing__payments``. Their reads are skipped when nothing they
read changed since the last check of the same closed day
(:func:`volume_inputs_unchanged`): they would find exactly the alerts that
check recorded. The quarantine check (one small table) always runs, and so does
the mail of alerts not mailed yet. Each run is kept in
``audit.quality_check_runs``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)

QUALITY_CHECK_RUNS_DDL = """
create table if not exists audit.quality_check_runs (
    checked_at timestamptz not null default clock_timestamp(),
    as_of_date date not null,
    -- the checks' code and settings (check_inputs)
    inputs jsonb not null,
    -- the last transform build (audit.transform_runs.invocation_id) when the check ran
    after_build text,
    volume_skipped boolean not null
);
create index if not exists quality_check_runs_checked_at on audit.quality_check_runs (checked_at);
"""


def check_inputs() -> dict[str, Any]:
    """What decides the checks' result besides the data: their code and the known event types."""
    from meridian.quality import checks, event_counts
    from meridian.sources.schema import KNOWN_EVENT_TYPES

    code = hashlib.sha256()
    for module in (checks, event_counts):
        code.update(Path(module.__file__).read_bytes())
    return {"code": code.hexdigest(), "known_event_types": sorted(KNOWN_EVENT_TYPES)}


def _last_build(cur: Any) -> str | None:
    cur.execute("select invocation_id from audit.transform_runs order by started_at desc limit 1")
    row = cur.fetchone()
    return row[0] if row else None


def volume_inputs_unchanged(cur: Any, as_of: date, inputs: dict[str, Any]) -> str | None:
    """Why the event and payment checks can be skipped for ``as_of``, or None when they must read.

    They can when the last check checked the same day with the same code and
    settings after a successful transform build, and every build since
    - succeeded (a failed one, and a model task's retry after it, may have
      written part of its models),
    - was incremental (a full refresh rewrites every table),
    - built the project that build built (its recorded project state),
    - found no raw or history source with new visible rows (its selection's
      ``changed_sources`` holds only ``audit`` tables, which the pipeline writes
      every run: meridian.transform.selection.changed_sources).
    Then the staging rows of the checked days are the ones that check read: an
    incremental model rebuilds its window equal to a full refresh of the same
    inputs, and the days checked end before the run's instant (the last closed
    day), so a later instant over the same visible rows shows the same rows.
    """
    cur.execute("select to_regclass('audit.transform_runs') is not null")
    if not cur.fetchone()[0]:
        return None
    cur.execute("select as_of_date, inputs, after_build from audit.quality_check_runs "
                "order by checked_at desc limit 1")
    last = cur.fetchone()
    if last is None or last[0] != as_of or last[1] != inputs or last[2] is None:
        return None
    cur.execute("select started_at, project_state, status from audit.transform_runs where invocation_id = %s",
                (last[2],))
    followed = cur.fetchone()
    if followed is None or followed[1] is None or followed[2] != "success":
        return None
    cur.execute("select full_refresh, selection, project_state, status from audit.transform_runs "
                "where started_at > %s order by started_at", (followed[0],))
    builds = cur.fetchall()
    for full_refresh, selection, state, status in builds:
        if status != "success" or full_refresh or selection is None or state != followed[1]:
            return None
        if any(not name.startswith("audit.") for name in selection.get("changed_sources", [])):
            return None
    return (f"the last check was of the same day and {len(builds)} build(s) since found no new source rows "
            "and the same project")


def check_and_notify(as_of: date, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    """Run the checks (alerts recorded) and mail the high/critical alerts not mailed yet.

    The event and payment checks are skipped when what they read did not change
    since the last check of ``as_of`` (module doc). A mail server that cannot be
    reached does not fail the run: the alerts are recorded, stay un-notified
    (``notified_at`` null) and go out with the next run's mail; the failure is
    logged as a warning and returned.
    """
    from meridian.quality.checks import run_data_quality_checks
    from meridian.quality.notify import notify_alerts
    from meridian.smtp import SendError, SmtpConfigError

    inputs = check_inputs()
    with db.connection(conn_id) as conn:
        with conn.cursor() as cur:
            cur.execute(QUALITY_CHECK_RUNS_DDL)
            skip = volume_inputs_unchanged(cur, as_of, inputs)
            after_build = _last_build(cur)
        if skip:
            log.info("event and payment checks for %s skipped: %s", as_of, skip)
        alerts = run_data_quality_checks(conn, as_of, volume=skip is None)
        with conn.cursor() as cur:
            cur.execute("insert into audit.quality_check_runs (as_of_date, inputs, after_build, volume_skipped) "
                        "values (%s, %s, %s, %s)", (as_of, json.dumps(inputs), after_build, skip is not None))
    notify_error = None
    notified = 0
    try:
        with db.connection(conn_id) as conn:
            notified = notify_alerts(conn, as_of=as_of)
    except (SendError, SmtpConfigError, OSError) as exc:
        notify_error = str(exc)
        log.warning("alert mail not sent (the alerts stay recorded and go out with the next run): %s", exc)
    by_type: dict[str, int] = {}
    for alert in alerts:
        by_type[alert.alert_type] = by_type.get(alert.alert_type, 0) + 1
    log.info("data quality at %s: %s alert(s) %s; %s emailed", as_of, len(alerts), by_type, notified)
    return {"alerts": len(alerts), "by_type": by_type, "notified": notified, "notify_error": notify_error,
            "volume_skipped": skip}
