"""Airflow's REST API (``/api/v2``) as the admin user of the local services (:mod:`meridian.services`).

``meridian demo --scheduler`` and ``meridian ui`` use it to pause, unpause and
trigger the DAGs and to wait for their runs; a timeout or a refused
connection (a busy machine) is retried with a growing pause, anything else
raises :class:`ServiceError` with the call and the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ADMIN_USER = "admin"
FINISHED = {"success", "failed"}
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise


class ServiceError(RuntimeError):
    """A service did not start or died; the message names it and its log."""


@dataclass
class Client:
    """The Airflow REST API (``/api/v2``) as the admin user."""

    url: str
    password: str
    _token: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None, timeout: float = 60,
                 attempts: int = 4) -> Any:
        """One REST call; a timeout or a refused connection (a busy machine) is retried with a growing pause."""
        import httpx

        for attempt in range(1, attempts + 1):
            try:
                return self._send(method, path, body, timeout)
            except httpx.TransportError as exc:
                if attempt == attempts:
                    raise ServiceError(f"{method} {self.url}/api/v2{path} failed {attempts} times: {exc!r}") from exc
                time.sleep(2 * attempt)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, body: dict | None, timeout: float) -> Any:
        import httpx

        if self._token is None:
            response = httpx.post(f"{self.url}/auth/token", json={"username": ADMIN_USER, "password": self.password},
                                  timeout=timeout)
            if response.status_code >= 300:
                raise ServiceError(f"login as {ADMIN_USER} at {self.url} failed: {response.status_code} {response.text}")
            self._token = response.json()["access_token"]
        response = httpx.request(method, f"{self.url}/api/v2{path}", json=body, timeout=timeout,
                                 headers={"Authorization": f"Bearer {self._token}"})
        if response.status_code >= 300:
            raise ServiceError(f"{method} /api/v2{path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def dags(self) -> dict[str, dict]:
        return {dag["dag_id"]: dag for dag in self._request("GET", "/dags?limit=100")["dags"]}

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request("PATCH", f"/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, *, conf: dict | None = None, run_after: str | None = None,
                run_id: str | None = None) -> str:
        """Trigger a manual run (no logical date, so a rerun never collides); returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_after:
            body["run_after"] = run_after
        if run_id:
            body["dag_run_id"] = run_id
        return self._request("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._request("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def runs(self, dag_id: str) -> list[dict]:
        return self._request("GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after&limit=100")["dag_runs"]

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        self._request("PATCH", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}", {"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000"
        return self._request("GET", path)["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float = 1800,
                     progress: Callable[[str], None] | None = None, alive: Callable[[], None] | None = None) -> dict:
        """Poll a run until it succeeds or fails; ``progress`` gets a line whenever the task counts change."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            run = self.run(dag_id, run_id)
            if progress:
                states: dict[str, int] = {}
                for instance in self.task_instances(dag_id, run_id):
                    state = instance.get("state") or "waiting"
                    states[state] = states.get(state, 0) + 1
                line = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
                if line != last:
                    progress(f"{dag_id} {run['state']}: {line}")
                    last = line
            if run["state"] in FINISHED:
                return run
            if alive:
                alive()
            if time.monotonic() > deadline:
                raise ServiceError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(2)
