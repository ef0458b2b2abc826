"""The demo's chain run by Airflow's services (``meridian demo --scheduler``), not by ``airflow dags test``.

The services (meridian.services) start with cron and asset scheduling off, so
no run of the wall clock's time interleaves with the demo's as-of date; the
three DAGs are then triggered in order through the REST API, each waited for
with its progress printed:

1. ``extract_sources`` with the conf ``as_of`` = the end of the as-of date;
2. ``transform_warehouse`` with the same conf;
3. the demo's report schedules are seeded, then ``deliver_reports`` with
   ``run_after`` = the start of the as-of date: its "now", so it delivers what was
   due then, as ``airflow dags test deliver_reports DATE`` does.

The consuming DAG is paused while its producer runs, so the asset events of the
demo's runs queue no second run for later. Every DAG ends unpaused: the next
``meridian ui`` runs the chain on its schedule. The runs show in the UI with
their task logs and real start and end times (metadata in the embedded
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime

from meridian import services
from meridian.runtime import to_instant

CHAIN = ("extract_sources", "transform_warehouse", "deliver_reports")


@dataclass
class ScheduledChain:
    """The demo's runs: run id, state, and the run's own seconds (start to end, from the metadata)."""

    url: str
    runs: dict[str, dict] = field(default_factory=dict)

    @property
    def seconds(self) -> dict[str, float]:
        return {dag_id: _seconds(run) for dag_id, run in self.runs.items()}

    @property
    def succeeded(self) -> bool:
        return all(run["state"] == "success" for run in self.runs.values()) and set(self.runs) == set(CHAIN)


def _seconds(run: dict) -> float:
    started = datetime.fromisoformat(run["start_date"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(run["end_date"].replace("Z", "+00:00"))
    return (ended - started).total_seconds()


def run_chain(handle: services.Services, as_of: date, *, before_delivery: Callable[[], None] | None = None,
              progress: Callable[[str], None] = print, timeout: float = 3600) -> ScheduledChain:
    """Trigger the three DAGs in order for ``as_of`` on running services and wait for each.

    ``before_delivery`` runs between the transform and the delivery (the demo seeds its report
    schedules there). Stops at the first run that fails, naming it.
    """
    client = handle.client()
    instant = to_instant(as_of).isoformat()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    chain = ScheduledChain(url=handle.url)
    for dag_id in CHAIN:
        # a run the previous services left running or queued (stopped mid-run) would hold max_active_runs
        # and, resumed, build the marts of its own as-of date into the demo's fresh warehouse
        for run in client.runs(dag_id):
            if run["state"] in ("running", "queued"):
                client.set_run_state(dag_id, run["dag_run_id"], "failed")
                progress(f"marked {dag_id} run {run['dag_run_id']}, left {run['state']} by earlier services, failed")
    for dag_id in CHAIN[1:]:
        client.set_paused(dag_id, True)
    for dag_id in CHAIN:
        if dag_id == "deliver_reports" and before_delivery is not None:
            before_delivery()
        client.set_paused(dag_id, False)
        if dag_id == "deliver_reports":
            start_of_day = datetime.combine(as_of, dtime.min, tzinfo=UTC).isoformat()
            run_id = client.trigger(dag_id, run_after=start_of_day, run_id=f"demo__{as_of}__{stamp}")
        else:
            run_id = client.trigger(dag_id, conf={"as_of": instant}, run_id=f"demo__{as_of}__{stamp}")
        progress(f"triggered {dag_id} run {run_id}")
        run = client.wait_for_run(dag_id, run_id, timeout=timeout, progress=lambda line: progress(f"  {line}"),
                                  alive=handle.check_alive)
        chain.runs[dag_id] = run
        if run["state"] != "success":
            failed = [ti["task_id"] for ti in client.task_instances(dag_id, run_id) if ti["state"] == "failed"]
            raise services.ServiceError(
                f"{dag_id} run {run_id} {run['state']} (failed tasks: {', '.join(failed) or 'none'}); "
                f"read their logs at {handle.url}/dags/{dag_id}/runs/{run_id}")
        progress(f"{dag_id} succeeded in {_seconds(run):.1f}s ({handle.url}/dags/{dag_id}/runs/{run_id})")
    return chain
