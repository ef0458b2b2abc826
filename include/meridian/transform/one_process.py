"""``airflow dags test``: one process runs a DAG's tasks one after another, talking to an in-process API.

Under the scheduler a task talks to the running API server. Under ``airflow
dags test`` (the demo, the bench, the end-to-end tests) the Task SDK builds an
in-process execution API instead, lazily, on the first task's first request:
importing and assembling its FastAPI app, then starting it on that request,
takes seconds (3-10 s, up to 30 s on the loaded 2-core machine), and since the first task's start date is taken just before that
request, those seconds were counted in the first task of every DAG run
(``plan_transform``, ``prepare_warehouse``) though no pipeline work runs in
them. :func:`warm_in_process_api` builds the same cached API while the DAG
file is parsed, before the run starts: the process's wall time stays the same,
the run's tasks measure their own work.
"""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def runs_in_one_process(argv: list[str] | None = None) -> bool:
    """True under ``airflow dags test``: one process runs one task at a time and no triggerer runs."""
    args = sys.argv if argv is None else argv
    return any(Path(arg).name == "airflow" for arg in args[:1]) and args[1:3] == ["dags", "test"]


def warm_in_process_api(argv: list[str] | None = None) -> bool:
    """Under ``airflow dags test``, build the in-process execution API its tasks will use; True when built.

    The Task SDK keeps one such API per process (``in_process_api_server`` is cached), so the tasks get
    this one, already started by two read-only requests. Anywhere else (the dag-processor, a worker, the tests) it does nothing. A failure is only
    logged: the first task then builds the API itself, as before.
    """
    if not runs_in_one_process(argv):
        return False
    try:
        from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, in_process_api_server

        api = in_process_api_server()
        api.app  # noqa: B018 - the cached FastAPI app
        api.transport  # noqa: B018 - its event loop and ASGI bridge
        # the first request starts the app (its lifespan, the versioned routes), the first task-instance
        # request its metadata session: both read-only here (health, and a task instance that does not exist)
        client = InProcessTestSupervisor._api_client()
        client.get("health")
        client.get(f"task-instances/{uuid.uuid4()}/previous-successful-dagrun")
    except Exception:  # noqa: BLE001 - an Airflow without it: the first task builds it
        log.warning("could not build the in-process execution API ahead of the run", exc_info=True)
        return False
    return True
