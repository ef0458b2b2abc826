"""What one ``dbt build`` did to each model, kept per run for the model's own task.

The producer (``build_models``) runs one ``dbt build`` and then writes one row
per model of the project to ``audit.dbt_model_reports``: the model's status,
its data tests (a generic test belongs to the model it is attached to, a
singular test to the deepest model it reads), the model's and its tests'
lines of the dbt log (start, result with rows and timing, errors) and what is
needed to build the model again alone (the run's vars, full refresh or not).
A model the run did not select gets a row with status ``not selected``.
Rows older than KEEP_DAYS are deleted by the next build.

The model's task (meridian.transform.model_tasks) reads its row, prints the
lines into its own log and ends with the model's outcome. ``consumed_try``
records which try of the task reported the row: a later try of the same task
(a retry, or the task cleared in the UI) builds the model again instead.

Failed models and tests raise ``test_failure`` alerts through
:func:`meridian.quality.dbt_results.record_dbt_artifact` with the URL of the
model's task in the Airflow UI; :func:`notify_model_alerts` mails the alerts of
one model's nodes once (the alert's ``dedup_key`` and ``notified_at`` keep a
retry that fails again from mailing the same run and node twice).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

import psycopg2.extensions
import psycopg2.extras

from meridian.config import airflow_port

DAG_ID = "transform_warehouse"
FAILED_MODEL = ("error", "runtime error")
FAILED_TEST = ("fail", "error", "runtime error")
NOT_SELECTED = "not selected"
LOG_LIMIT = 200_000  # characters of dbt lines kept per model
KEEP_DAYS = 7  # reports older than this are deleted by the next build (a retry comes within hours)

MODEL_REPORTS_DDL = """
create table if not exists audit.dbt_model_reports (
    run_id text not null,
    invocation_id text not null,
    model text not null,
    unique_id text not null,
    status text not null,
    failed boolean not null,
    message text,
    tests jsonb not null default '[]',
    log text not null default '',
    as_of_date date,
    full_refresh boolean not null,
    dbt_vars jsonb not null,
    consumed_try integer,
    reported_at timestamptz not null default clock_timestamp(),
    primary key (invocation_id, model)
);
create index if not exists dbt_model_reports_run on audit.dbt_model_reports (run_id, model, reported_at desc);
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NodeLines:
    """A dbtRunner callback keeping each node's log lines (info and above), by unique id."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = defaultdict(list)

    def __call__(self, event: Any) -> None:
        info = event.info
        if info.level not in ("info", "warn", "error"):
            return
        node_info = getattr(event.data, "node_info", None)
        unique_id = getattr(node_info, "unique_id", "") if node_info is not None else ""
        if not unique_id or not info.msg:
            return
        stamp = info.ts.ToDatetime().strftime("%H:%M:%S")
        self.lines[unique_id].append(f"{stamp}  {_ANSI.sub('', str(info.msg))}")


@dataclass
class ModelReport:
    model: str
    unique_id: str
    status: str
    message: str | None = None
    tests: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_MODEL or any(test["status"] in FAILED_TEST for test in self.tests)

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    def nodes(self) -> list[str]:
        return [self.unique_id, *(test["unique_id"] for test in self.tests)]

    def failures(self) -> list[str]:
        """``<node> (<status>): <message>`` of the model and tests that failed."""
        found = []
        if self.status in FAILED_MODEL:
            found.append(f"model {self.model} ({self.status}): {self.message or 'no message'}")
        for test in self.tests:
            if test["status"] in FAILED_TEST:
                found.append(f"test {test['name']} ({test['status']}): {test.get('message') or 'no message'}")
        return found


def _model_depths(nodes: Mapping[str, Any]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def of(unique_id: str) -> int:
        if unique_id not in depth:
            depth[unique_id] = 0  # a cycle would stop here; dbt refuses cycles anyway
            parents = [p for p in nodes[unique_id]["depends_on"]["nodes"] if p.startswith("model.") and p in nodes]
            depth[unique_id] = 1 + max(map(of, parents)) if parents else 0
        return depth[unique_id]

    for unique_id, node in nodes.items():
        if node.get("resource_type") == "model":
            of(unique_id)
    return depth


def test_owners(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Data test unique id → the model unique id whose task reports it (module doc)."""
    nodes = manifest.get("nodes") or {}
    depth = _model_depths(nodes)
    owners = {}
    for unique_id, node in nodes.items():
        if node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node")
        if attached and attached in depth:
            owners[unique_id] = attached
            continue
        parents = [p for p in (node.get("depends_on") or {}).get("nodes") or [] if p in depth]
        if parents:
            owners[unique_id] = max(parents, key=lambda p: (depth[p], p))
    return owners


def build_reports(manifest: Mapping[str, Any], run_results: Mapping[str, Any],
                  lines: Mapping[str, list[str]]) -> dict[str, ModelReport]:
    """A report per model of the manifest (by model name) from one build's results and log lines."""
    nodes = manifest.get("nodes") or {}
    results = {result["unique_id"]: result for result in run_results.get("results") or []}
    reports = {}
    for unique_id, node in nodes.items():
        if node.get("resource_type") != "model":
            continue
        result = results.get(unique_id)
        reports[unique_id] = ModelReport(
            model=node["name"], unique_id=unique_id,
            status=str(result["status"]) if result else NOT_SELECTED,
            message=str(result.get("message")) if result and result.get("message") is not None else None,
            log="\n".join(lines.get(unique_id, [])),
        )
    for test_id, owner in sorted(test_owners(manifest).items()):
        result = results.get(test_id)
        if result is None:
            continue
        report = reports[owner]
        report.tests.append({
            "unique_id": test_id, "name": nodes[test_id]["name"], "status": str(result["status"]),
            "failures": result.get("failures"), "message": result.get("message"),
        })
        if lines.get(test_id):
            report.log = "\n".join(filter(None, [report.log, *lines[test_id]]))
    return {report.model: report for report in reports.values()}


def airflow_base_url() -> str:
    """The Airflow UI's base URL: ``[api] base_url``, else http://127.0.0.1:<``[api] port``>."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback=None)
    if base:
        return base.rstrip("/")
    return f"http://127.0.0.1:{conf.get('api', 'port', fallback=None) or airflow_port()}"


def task_url(run_id: str, task_id: str, dag_id: str = DAG_ID, *, base_url: str | None = None) -> str:
    """The task's page (and log) in this run, in the Airflow UI (``base_url``: :func:`airflow_base_url`)."""
    base = base_url or airflow_base_url()
    return f"{base}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"


def alert_links(manifest: Mapping[str, Any], run_id: str) -> dict[str, str]:
    """Every model's and data test's unique id → the URL of the model task that reports it in this run."""
    nodes = manifest.get("nodes") or {}
    owners = {uid: uid for uid, node in nodes.items() if node.get("resource_type") == "model"}
    owners.update(test_owners(manifest))
    base = airflow_base_url()  # read once, not once per node (~560)
    return {uid: task_url(run_id, nodes[owner]["name"], base_url=base) for uid, owner in owners.items()}


def write_reports(conn: psycopg2.extensions.connection, reports: Iterable[ModelReport], *, run_id: str,
                  invocation_id: str, as_of: date | None, full_refresh: bool, dbt_vars: Mapping[str, Any],
                  consumed_try: int | None = None) -> int:
    """Upsert the reports of one invocation; returns how many. Does not commit."""
    rows = [
        (run_id, invocation_id, report.model, report.unique_id, report.status, report.failed, report.message,
         json.dumps(report.tests, default=str), report.log[-LOG_LIMIT:], as_of, full_refresh,
         json.dumps(dict(dbt_vars), default=str), consumed_try)
        for report in reports
    ]
    with conn.cursor() as cur:
        cur.execute(MODEL_REPORTS_DDL)
        psycopg2.extras.execute_values(
            cur,
            """
            insert into audit.dbt_model_reports (run_id, invocation_id, model, unique_id, status, failed, message,
                tests, log, as_of_date, full_refresh, dbt_vars, consumed_try)
            values %s
            on conflict (invocation_id, model) do update set
                status = excluded.status, failed = excluded.failed, message = excluded.message,
                tests = excluded.tests, log = excluded.log, reported_at = clock_timestamp()
            """,
            rows,
        )
    return len(rows)


def forget_old_reports(conn: psycopg2.extensions.connection, keep_days: int = KEEP_DAYS) -> int:
    """Delete the reports older than ``keep_days`` (the model tasks' logs keep their lines); returns how many."""
    with conn.cursor() as cur:
        cur.execute(MODEL_REPORTS_DDL)
        cur.execute("delete from audit.dbt_model_reports where reported_at < clock_timestamp() - %s * interval '1 day'",
                    (keep_days,))
        return cur.rowcount


@dataclass(frozen=True)
class StoredReport:
    report: ModelReport
    invocation_id: str
    as_of: date | None
    full_refresh: bool
    dbt_vars: dict[str, Any]
    consumed_try: int | None


_REPORT_COLUMNS = ("model, unique_id, status, message, tests, log, invocation_id, as_of_date, full_refresh, "
                   "dbt_vars, consumed_try")


def _stored(row: tuple) -> StoredReport:
    report = ModelReport(model=row[0], unique_id=row[1], status=row[2], message=row[3], tests=list(row[4]),
                         log=row[5])
    return StoredReport(report, row[6], row[7], bool(row[8]), dict(row[9]), row[10])


def _exists(cur: psycopg2.extensions.cursor) -> bool:
    cur.execute("select to_regclass('audit.dbt_model_reports') is not null")
    return bool(cur.fetchone()[0])


def latest_report(conn: psycopg2.extensions.connection, run_id: str, model: str) -> StoredReport | None:
    """The newest report of ``model`` in the run (the last build or rebuild of it), or None."""
    with conn.cursor() as cur:
        if not _exists(cur):
            return None
        cur.execute(f"select {_REPORT_COLUMNS} from audit.dbt_model_reports where run_id = %s and model = %s "
                    "order by reported_at desc limit 1", (run_id, model))
        row = cur.fetchone()
    return _stored(row) if row else None


def latest_reports(conn: psycopg2.extensions.connection, run_id: str) -> dict[str, StoredReport]:
    """The newest report of every model in the run, by model name."""
    with conn.cursor() as cur:
        if not _exists(cur):
            return {}
        cur.execute(f"select distinct on (model) {_REPORT_COLUMNS} from audit.dbt_model_reports "
                    "where run_id = %s order by model, reported_at desc", (run_id,))
        return {row[0]: _stored(row) for row in cur.fetchall()}


def consume(conn: psycopg2.extensions.connection, run_id: str, model: str, invocation_id: str,
            try_number: int) -> bool:
    """Mark the report as reported by ``try_number``; False when another try took it first. Does not commit."""
    with conn.cursor() as cur:
        cur.execute(
            "update audit.dbt_model_reports set consumed_try = %s "
            "where run_id = %s and model = %s and invocation_id = %s and consumed_try is null",
            (try_number, run_id, model, invocation_id),
        )
        return cur.rowcount == 1


def consume_many(conn: psycopg2.extensions.connection, run_id: str,
                 claims: Mapping[str, tuple[str, int]]) -> set[str]:
    """:func:`consume` for many models in one statement: model → (invocation id, try number).

    Returns the models whose report the given try took (the others were taken first). Does not commit.
    """
    if not claims:
        return set()
    rows = [(run_id, model, invocation_id, try_number) for model, (invocation_id, try_number) in claims.items()]
    with conn.cursor() as cur:
        taken = psycopg2.extras.execute_values(
            cur,
            """
            update audit.dbt_model_reports as report set consumed_try = claim.try_number
            from (values %s) as claim (run_id, model, invocation_id, try_number)
            where report.run_id = claim.run_id and report.model = claim.model
                and report.invocation_id = claim.invocation_id and report.consumed_try is null
            returning report.model
            """,
            rows, template="(%s, %s, %s, %s::integer)", page_size=len(rows), fetch=True,
        )
    return {model for (model,) in taken}


def consume_first(conn: psycopg2.extensions.connection, run_id: str, models: list[str]) -> int:
    """Mark the run's unreported reports of ``models`` as reported by their first try. Does not commit."""
    with conn.cursor() as cur:
        cur.execute("update audit.dbt_model_reports set consumed_try = 1 "
                    "where run_id = %s and model = any(%s) and consumed_try is null", (run_id, models))
        return cur.rowcount


def notify_model_alerts(conn: psycopg2.extensions.connection, report: ModelReport, as_of: date | None) -> int:
    """Mail the not yet notified high/critical alerts of the model's nodes (the model and its tests)."""
    from meridian.quality.notify import notify_alerts

    return notify_alerts(conn, as_of=as_of, nodes=report.nodes())

