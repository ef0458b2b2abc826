"""Run dbt in-process for the transform DAG: one parse, then build (freshness without dbt) and docs.

One ``dbt build`` over the whole project (seeds, snapshots, models and their
data tests, in dependency order, tests right after their model so a failure
stops what depends on it) runs as one task: dbt's own parallelism and one parse
instead of a process per model, which is what keeps an incremental run short.
Every node's outcome is written to ``audit.dbt_node_results`` and shows in the
task log as dbt prints it; failed tests and stale sources become rows of
``audit.data_quality_alerts``. Unit tests are not part of pipeline runs: they
check the SQL, not the data, and run with the test suite (`make test`).
A full-refresh run runs every data test; an incremental run the selector
``incremental_run`` (dbt_project/selectors.yml): all models, the marts' grain
and row-invariant tests, batch accounting and the cross-model invariants.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID, settings
from meridian.transform.dbt_connections import connections_kept_open
from meridian.transform.freshness import measure_freshness
from meridian.transform.plan import TRANSFORM_RUNS_DDL, RunPlan
from meridian.transform.project_state import (
    describe_change,
    incremental_models_changed,
    manifest_facts,
    project_state,
)
from meridian.transform.selection import batches_seen

log = logging.getLogger(__name__)

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
INCREMENTAL_SELECTOR = "incremental_run"  # dbt_project/selectors.yml


class DbtBuildError(RuntimeError):
    """dbt build finished with failed nodes (named in the message)."""


def target_dir() -> Path:
    """Where dbt writes run_results, manifest and docs for pipeline runs (``DBT_TARGET_PATH`` overrides)."""
    return Path(os.environ.get("DBT_TARGET_PATH") or settings().state_dir / "dbt" / "target")


def docs_dir() -> Path:
    """The published docs site (index.html, manifest.json, catalog.json) the Airflow plugin serves."""
    return Path(os.environ.get("MERIDIAN_DBT_DOCS_DIR") or settings().state_dir / "dbt" / "docs")


def profile_env(conn_id: str = WAREHOUSE_CONN_ID) -> dict[str, str]:
    """MERIDIAN_WAREHOUSE_* for dbt_project/profiles.yml from the warehouse connection, plus PGTZ=UTC."""
    from meridian.airflow_env import dbt_profile_env

    env = dbt_profile_env({f"AIRFLOW_CONN_{conn_id.upper()}": db.dsn(conn_id)})
    env["PGTZ"] = "UTC"  # libpq sets the session time zone: marts are UTC calendar days
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    return env


@contextmanager
def _environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Dbt:
    """dbt in this process over the project, parsed once and reused for every command."""

    conn_id: str = WAREHOUSE_CONN_ID
    target: Path = field(default_factory=target_dir)
    manifest: Any = None

    def _args(self, command: list[str]) -> list[str]:
        project = str(settings().dbt_project_dir)
        return [*command, "--project-dir", project, "--profiles-dir", project, "--target-path", str(self.target)]

    def ensure_parsed(self, *, write_json: bool = True, callbacks: Sequence[Callable[[Any], None]] = ()) -> None:
        """Parse the project once (partial parsing reuses the previous parse when nothing changed).

        Vars are not passed to the parse: they only matter when SQL compiles, and a
        parse with other vars than the last one would not be partial. ``write_json``
        False: no manifest.json from the parse (the build writes its own; the
        parsed object is in ``self.manifest``); partial parsing's state is saved
        either way.
        """
        from dbt.cli.main import dbtRunner

        if self.manifest is not None:
            return
        self.target.mkdir(parents=True, exist_ok=True)
        with _environment(profile_env(self.conn_id)):
            parsed = dbtRunner(callbacks=list(callbacks)).invoke(
                self._args(["parse", *([] if write_json else ["--no-write-json"])]))
        if not parsed.success:
            raise DbtBuildError(f"dbt parse failed: {parsed.exception}")
        self.manifest = parsed.result

    def invoke(self, command: list[str], callbacks: Sequence[Callable[[Any], None]] = ()) -> Any:
        """``command`` over the parsed project; ``callbacks`` get every dbt event (dbtRunner's callbacks)."""
        from dbt.cli.main import dbtRunner

        self.ensure_parsed()
        log.info("dbt %s", " ".join(command))
        with _environment(profile_env(self.conn_id)), connections_kept_open():
            return dbtRunner(manifest=self.manifest, callbacks=list(callbacks)).invoke(self._args(command))

    def write_build_artifacts(self, result: Any) -> None:
        """run_results.json and manifest.json of a build invoked with ``--no-write-json``, as dbt writes them.

        The manifest is the parsed one the build ran on (dbt compiled its nodes in place); a build that
        produced no result (dbt could not start) writes neither.
        """
        from dbt.parser.manifest import write_manifest

        if result.result is None or not hasattr(result.result, "write"):
            return
        result.result.write(str(self.target / "run_results.json"))
        write_manifest(self.manifest, str(self.target))

    def read_artifact(self, name: str) -> dict:
        return json.loads((self.target / name).read_text())


def incremental_criteria() -> list[str]:
    """The ``incremental_run`` selector (dbt_project/selectors.yml) as ``--select`` criteria."""
    import yaml

    from meridian.transform.selection import selector_criteria

    selectors = yaml.safe_load((settings().dbt_project_dir / "selectors.yml").read_text())["selectors"]
    return selector_criteria(next(item for item in selectors if item["name"] == INCREMENTAL_SELECTOR)["definition"])


def build_args(plan: RunPlan) -> list[str]:
    args = ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(plan.dbt_vars())]
    if plan.full_refresh:
        # every data test: the weekly full refresh is also the full check of the data
        args.append("--full-refresh")
    elif plan.exclude or plan.include:
        # the selector's nodes and the tests over touched rows, less the nodes whose output cannot change
        # (meridian.transform.selection)
        args += ["--select", *incremental_criteria(), *plan.include, "--indirect-selection", "empty"]
        if plan.exclude:
            args += ["--exclude", *plan.exclude]
    else:
        # models over the late-arrival window plus the cheap mart and invariant tests (selectors.yml)
        args += ["--selector", INCREMENTAL_SELECTOR]
    return args


@dataclass(frozen=True)
class LastBuild:
    """The last successful build: its project state, when it started, the instant it built to, its batches,
    when it ended."""

    project_state: dict[str, str] | None = None
    started_at: Any = None
    as_of_at: Any = None
    batches_seen: dict[str, list[int]] | None = None
    ended_at: Any = None


def last_successful_build(cur: Any) -> LastBuild:
    cur.execute("select project_state, started_at, as_of_at, batches_seen, ended_at from audit.transform_runs "
                "where status = 'success' order by ended_at desc limit 1")
    row = cur.fetchone()
    return LastBuild(*row) if row else LastBuild()


def last_project_state(cur: Any) -> dict[str, str] | None:
    """The project state recorded by the last successful build (None: none recorded, or no build yet)."""
    return last_successful_build(cur).project_state


def select_incremental(plan: RunPlan, cur: Any, last: LastBuild, manifest: dict,
                       seen: dict[str, list[int]]) -> tuple[RunPlan, dict | None]:
    """The incremental plan with the nodes it leaves out (meridian.transform.selection), and the record of it."""
    from meridian.transform.selection import changed_sources, existing_nodes, select_nodes

    if plan.full_refresh:
        return plan, None
    changed = changed_sources(cur, manifest, seen, last.batches_seen, last.as_of_at, last.started_at)
    selection = select_nodes(manifest, last.project_state, changed, existing_nodes(cur, manifest))
    log.info("selection: %s", selection.describe())
    # the tests over touched rows read the rows written after the last successful build ended (a row of this run
    # or of a failed run since); without that instant they are not added
    include = selection.include() if last.ended_at is not None else ()
    return replace(plan, exclude=selection.exclude(), include=include,
                   tested_rows_since=last.ended_at), selection.record()


def full_refresh_if_project_changed(plan: RunPlan, previous: dict[str, str] | None, manifest: dict) -> RunPlan:
    """An incremental plan made a full refresh when the project changed under the incremental tables.

    The tables keep rows written by the last successful build's project; when an
    incremental model, or anything upstream of one, changed since (``previous``,
    see meridian.transform.project_state), an incremental run would fail on the
    changed columns or mix two definitions' rows.
    """
    if plan.full_refresh:
        return plan
    changed = incremental_models_changed(previous, manifest)
    if not changed:
        return plan
    reason = (describe_change(changed) if previous is not None
              else "the last successful build recorded no project state to compare with")
    log.warning("transform at %s: full refresh instead of %s: %s", plan.as_of_at.isoformat(), plan.reason, reason)
    return replace(plan, full_refresh=True, reason=f"{reason} (planned: {plan.reason})")


def _failed_nodes(run_results: dict) -> list[str]:
    return [
        f"{result['unique_id']} ({result['status']})"
        for result in run_results.get("results", [])
        if result.get("status") in ("error", "fail", "runtime error")
    ]


def build_warehouse(
    plan: RunPlan,
    run_id: str,
    conn_id: str = WAREHOUSE_CONN_ID,
    *,
    callbacks: Sequence[Callable[[Any], None]] = (),
    links: Callable[[dict], Mapping[str, str]] | None = None,
    raise_on_failure: bool = True,
    artifacts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``dbt build`` for the plan, then the sources' freshness; results and alerts into audit.*.

    ``callbacks`` get the build's dbt events; ``links(manifest)`` gives each
    node's log URL for its alert. Raises DbtBuildError after recording, when
    any node failed, unless ``raise_on_failure`` is False (the summary's
    ``failed`` lists them; the model tasks report them). ``artifacts``, when
    given, gets the build's ``manifest`` and ``run_results`` as read here (None
    when dbt wrote none), so a caller does not read the files again.
    """
    from meridian.quality.dbt_results import record_dbt_artifact

    dbt = Dbt(conn_id=conn_id)
    invocation = f"{run_id}:{uuid.uuid4().hex[:12]}"
    parse_started = time.monotonic()
    # partial parsing: the project files are re-read only where they changed; no manifest.json written or read
    dbt.ensure_parsed(write_json=False)
    parsed = manifest_facts(dbt.manifest)
    parse_seconds = time.monotonic() - parse_started
    with db.connection(conn_id) as conn, conn.cursor() as cur:
        cur.execute(TRANSFORM_RUNS_DDL)
        last = last_successful_build(cur)
        seen = batches_seen(cur)  # before dbt reads anything: a batch landing after this counts as new next run
        plan = full_refresh_if_project_changed(plan, last.project_state, parsed)
        plan, selection = select_incremental(plan, cur, last, parsed, seen)
        cur.execute(
            "insert into audit.transform_runs (invocation_id, run_id, as_of_date, as_of_at, full_refresh, reason, "
            "late_arrival_days, status, selection, batches_seen) "
            "values (%s, %s, %s, %s, %s, %s, %s, 'running', %s, %s)",
            (invocation, run_id, plan.as_of, plan.as_of_at, plan.full_refresh, plan.reason, plan.late_arrival_days,
             json.dumps(selection) if selection is not None else None, json.dumps(seen)),
        )
    log.info("transform %s at %s: %s (late_arrival_days=%s)", "full refresh" if plan.full_refresh else "incremental",
             plan.as_of_at.isoformat(), plan.reason, plan.late_arrival_days)
    log.info("dbt parse: %.1fs", parse_seconds)
    for artifact in ("run_results.json", "manifest.json"):  # written below: none left from an earlier run
        (dbt.target / artifact).unlink(missing_ok=True)
    started = time.monotonic()
    # --no-write-json: dbt would also write graph.gpickle (every node serialized, before the first node runs), a
    # file nothing reads; the two artifacts the run reads are written here, as dbt writes them
    result = dbt.invoke([*build_args(plan), "--no-write-json"], callbacks=callbacks)
    build_seconds = time.monotonic() - started
    dbt.write_build_artifacts(result)
    run_results = dbt.read_artifact("run_results.json") if (dbt.target / "run_results.json").exists() else {}
    failed = _failed_nodes(run_results)
    if result.exception is not None and not run_results:
        failed.append(f"dbt build: {result.exception}")

    manifest_file = dbt.target / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    if artifacts is not None:
        artifacts.update(manifest=manifest, run_results=run_results or None)
    # the sources' freshness queries from the same manifest, in this process: no second dbt invocation
    freshness_started = time.monotonic()
    freshness_results = {}
    if manifest is not None:
        with db.connection(conn_id) as conn:
            freshness_results = measure_freshness(conn, manifest)
    else:
        log.warning("source freshness not measured: dbt wrote no manifest to %s", manifest_file)
    freshness_seconds = time.monotonic() - freshness_started

    raised = 0
    if run_results:
        recorded = record_dbt_artifact(run_results, run_id=run_id, as_of=plan.as_of, command="build",
                                       manifest=manifest, conn_id=conn_id,
                                       links=links(manifest) if links and manifest else None)
        raised += recorded["new_alerts"]
    if freshness_results:
        recorded = record_dbt_artifact(freshness_results, run_id=run_id, as_of=plan.as_of,
                                       command="source freshness", manifest=manifest, conn_id=conn_id)
        raised += recorded["new_alerts"]
    with db.connection(conn_id) as conn, conn.cursor() as cur:
        cur.execute(
            "update audit.transform_runs set status = %s, ended_at = clock_timestamp(), nodes = %s, "
            "failures = %s, seconds = %s, project_state = %s where invocation_id = %s",
            ("failed" if failed else "success", len(run_results.get("results", [])), len(failed),
             round(build_seconds, 3), json.dumps(project_state(parsed)), invocation),
        )
        if not failed and plan.serves_requests_up_to is not None:
            from meridian.warehouse.rebuild_requests import clear_full_refresh_requests

            clear_full_refresh_requests(conn, plan.serves_requests_up_to)
    summary = {
        **plan.as_dict(),
        "invocation_id": invocation,
        "nodes": len(run_results.get("results", [])),
        "failed": failed,
        "parse_seconds": round(parse_seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "freshness_seconds": round(freshness_seconds, 1),
        "alerts_raised": raised,
        "selection": selection,
    }
    log.info("dbt build: %s nodes in %.1fs, %s failed; source freshness %.1fs; %s new alert(s)",
             summary["nodes"], build_seconds, len(failed), freshness_seconds, raised)
    if failed and raise_on_failure:
        raise DbtBuildError(f"dbt build failed for {len(failed)} node(s): {', '.join(failed[:20])}")
    return summary


def _manifest_checksum(manifest_file: Path) -> str:
    manifest = json.loads(manifest_file.read_text())
    # the nodes' checksums and the project's files, not the generation time
    nodes = {uid: node.get("checksum", {}).get("checksum") for uid, node in manifest.get("nodes", {}).items()}
    for section in ("sources", "exposures", "macros"):
        nodes.update({uid: json.dumps(item.get("description", ""), sort_keys=True) + json.dumps(
            item.get("config", item.get("meta", {})), sort_keys=True, default=str)
            for uid, item in manifest.get(section, {}).items()})
    return hashlib.sha256(json.dumps(nodes, sort_keys=True).encode()).hexdigest()


def docs_due(published: Path, built_manifest: Path, *, force: bool = False) -> str | None:
    """Why the docs in ``published`` must be generated again, or None when they are up to date.

    ``built_manifest`` is the manifest of the project as the run parsed it; the
    published docs carry the checksum of the manifest they were generated from.
    """
    stamp = published / ".project-checksum"
    if force:
        return "forced"
    if not all((published / name).exists() for name in DOCS_FILES) or not stamp.exists():
        return "no docs published yet"
    if _manifest_checksum(built_manifest) != stamp.read_text().strip():
        return "the project changed since the docs were generated"
    return None


def generate_docs(plan: RunPlan, conn_id: str = WAREHOUSE_CONN_ID, *, force: bool = False) -> dict[str, Any]:
    """``dbt docs generate`` into the published docs folder when due.

    Due when forced, when no docs are published yet, or when the project
    changed since they were: the manifest the run's build parsed (its node
    checksums) differs from the one the docs were generated from. A run whose
    project did not change keeps the published docs, full refresh or not: the
    catalog's tables and columns come from the project, not from the data.
    """
    published = docs_dir()
    dbt = Dbt(conn_id=conn_id, target=target_dir().parent / "docs-target")
    stamp = published / ".project-checksum"
    built_manifest = target_dir() / "manifest.json"
    if not force and not built_manifest.exists():
        dbt.ensure_parsed()
        built_manifest = dbt.target / "manifest.json"
    reason = docs_due(published, built_manifest, force=force)
    if reason is None:
        log.info("dbt docs are up to date in %s", published)
        return {"generated": False, "docs_dir": str(published)}
    started = time.monotonic()
    result = dbt.invoke(["docs", "generate", "--vars", json.dumps(plan.dbt_vars())])
    if not result.success:
        raise DbtBuildError(f"dbt docs generate failed: {result.exception}")
    published.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:
        shutil.copyfile(dbt.target / name, published / f".{name}.tmp")
        os.replace(published / f".{name}.tmp", published / name)
    stamp.write_text(_manifest_checksum(dbt.target / "manifest.json"))
    seconds = time.monotonic() - started
    log.info("dbt docs generated (%s) in %.1fs into %s", reason, seconds, published)
    return {"generated": True, "reason": reason, "seconds": round(seconds, 1), "docs_dir": str(published)}
