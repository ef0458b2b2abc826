"""The trigger of a model task (meridian.transform.model_tasks): it waits in the triggerer and ends the task.

The triggers of a run share one read of the producer's state and reports every
``POLL_SECONDS`` on one warehouse connection per triggerer process, make no
request to the triggerer's supervisor, and end once their one log entry was
read (:func:`logs_read`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

from meridian.transform.model_outcome import (
    PRODUCER_TASK_ID,
    WAIT_TIMEOUT,
    Outcome,
    _conn_id,
    conclude,
    finish_rebuild,
    prepare_rebuild,
    rebuild_command,
    waiting_verdict,
)
from meridian.transform.model_producer import ProducerState
from meridian.transform.model_reports import ModelReport, StoredReport

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # the model triggers of a run read its producer's row and reports together this often
FORGET_SECONDS = 600.0  # a run's cached reports are dropped this long after its last trigger ended


class _SharedConnection:
    """One warehouse connection for all the model triggers of this process (the triggerer), one thread at a time.

    ~90 triggers per run each opening a connection to read or take their report cost more than the reports;
    every read and claim of every run goes through this one (autocommit: each statement stands alone). Its
    address is resolved once per process (from ``AIRFLOW_CONN_WAREHOUSE`` where set, as meridian's Airflow
    environment does: then the triggers make no request to the triggerer's supervisor at all).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: Any = None
        self.uri: str | None = None

    def run(self, work: Callable[[Any], Any]) -> Any:
        """``work(conn)`` on the shared connection; reconnects once when the connection broke."""
        import psycopg2

        from meridian import db

        with self.lock:
            for attempt in (1, 2):
                if self.conn is None or self.conn.closed:
                    self.uri = self.uri or db.dsn(_conn_id())
                    self.conn = db.connect(_conn_id(), autocommit=True, uri=self.uri)
                try:
                    return work(self.conn)
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    self.close_locked()
                    if attempt == 2:
                        raise
                    log.warning("the warehouse connection of the model triggers broke; connecting again",
                                exc_info=True)
        raise AssertionError("unreachable")

    def close_locked(self) -> None:
        if self.conn is not None:
            with suppress(Exception):
                self.conn.close()
        self.conn = None


_CONNECTION = _SharedConnection()


@dataclass(frozen=True)
class _RunRead:
    """One read of a run for its model triggers: the producer's row, an upstream failure, the reports."""

    producer: ProducerState | None
    upstream_failed: str | None
    reports: dict[str, StoredReport]


class _RunReports:
    """The newest reports of a run and its producer's state, read for all the run's model triggers at once.

    One refresh per ``poll_seconds`` reads the producer's row, then the run's reports, and takes, in the
    same statement for all of them, the unreported ones of every model whose trigger waits here
    (``waiting``: model → try number); then it wakes every trigger of the run (``refreshed``), so they all
    end on the same refresh.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.read_at: float | None = None
        self.read = _RunRead(None, None, {})
        self.waiting: dict[str, int] = {}
        self.upstream: set[str] = set()
        self.refreshed = asyncio.Event()
        self.used_at = time.monotonic()


_RUNS: dict[tuple[str, str], _RunReports] = {}


def _taken_by(stored: StoredReport | None, try_number: int) -> bool:
    return stored is not None and stored.consumed_try == try_number


def _read_run(dag_id: str, run_id: str, waiting: Mapping[str, int], upstream: list[str]) -> _RunRead:
    """The producer's row first (one seen ended had written every report), then the run's newest reports,
    those of the waiting models taken by their try (one read, one update), on the shared connection."""
    from meridian.transform.model_producer import read_state, upstream_failure
    from meridian.transform.model_reports import consume_many, latest_reports

    def work(conn: Any) -> _RunRead:
        producer = read_state(conn, run_id)
        failed = upstream_failure(conn, dag_id, run_id, upstream) if producer is None else None
        reports = latest_reports(conn, run_id)
        claims = {model: (reports[model].invocation_id, try_number) for model, try_number in waiting.items()
                  if model in reports and reports[model].consumed_try is None}
        for model in consume_many(conn, run_id, claims):
            reports[model] = dataclasses.replace(reports[model], consumed_try=claims[model][1])
        return _RunRead(producer, failed, reports)

    return _CONNECTION.run(work)


SIOCOUTQ = 0x5411  # Linux: the bytes a socket sent that its peer has not read yet
LOGS_READ_SECONDS = 10.0  # a trigger waits at most this long for its log entry to be read before it ends
STUCK_SECONDS = 1.0  # ... and not for a socket whose unread bytes did not move for this long


def unread_socket_bytes() -> dict[int, int]:
    """By file descriptor: what this process wrote to its Unix stream sockets that their readers have not read yet.

    In the triggerer these are the log lines its supervisor has not taken yet: the supervisor reads
    them 4 KB at a time, between the messages of the trigger runner, and drops the lines of a trigger
    that it has already seen end. Empty where /proc is not there. (Linux counts the kernel's bookkeeping
    of each buffer too: at least the bytes.)
    """
    import fcntl
    import socket
    import stat
    import struct

    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return {}
    unread = {}
    for name in names:
        with suppress(OSError, ValueError):
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            with socket.socket(fileno=os.dup(fd)) as sock:
                if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
                    queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]
                    if queued:
                        unread[fd] = queued
    return unread


async def _poll_unread(limit: float) -> None:
    """Until every socket's unread bytes are gone or stuck (unchanged for STUCK_SECONDS: nobody reads that
    socket, and waiting would not help), at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    seen: dict[int, tuple[int, float]] = {}  # fd → (unread, since when)
    while time.monotonic() < deadline:
        now = time.monotonic()
        unread = unread_socket_bytes()
        seen = {fd: seen[fd] if fd in seen and seen[fd][0] == queued else (queued, now)
                for fd, queued in unread.items()}
        if all(now - since >= STUCK_SECONDS for _, since in seen.values()):
            return
        await asyncio.sleep(0.02)


_LOGS_READ: list[asyncio.Task] = []  # the poll the ending triggers of this process share (one at a time)


async def logs_read(limit: float = LOGS_READ_SECONDS) -> None:
    """Until the process's log lines were read by the triggerer's supervisor (at most ``limit`` seconds).

    The triggers ending together share one poll (a look at the sockets every 20 ms), not one each.
    """
    loop = asyncio.get_running_loop()
    if not _LOGS_READ or _LOGS_READ[0].done() or _LOGS_READ[0].get_loop() is not loop:
        _LOGS_READ[:] = [loop.create_task(_poll_unread(limit))]
    await asyncio.shield(_LOGS_READ[0])


class DbtModelTrigger(BaseTrigger):
    """Waits in the triggerer for the producer's report of one model and ends the model's task with it.

    Everything it needs comes from the warehouse (the reports, the producer's state and deadline): it makes
    no request to the triggerer's supervisor, and it logs one entry (the model's dbt lines and how the task
    ends), before its end event.
    """

    def __init__(self, model: str, producer_task_id: str = PRODUCER_TASK_ID, poll_seconds: float = POLL_SECONDS,
                 producer_upstream: list[str] | None = None, wait_seconds: float | None = None):
        super().__init__()
        self.model = model
        self.producer_task_id = producer_task_id
        self.poll_seconds = poll_seconds
        self.producer_upstream = list(producer_upstream or [])
        self.wait_seconds = WAIT_TIMEOUT.total_seconds() if wait_seconds is None else float(wait_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"model": self.model, "producer_task_id": self.producer_task_id, "poll_seconds": self.poll_seconds,
                 "producer_upstream": self.producer_upstream, "wait_seconds": self.wait_seconds})

    async def _refresh(self, watch: _RunReports, dag_id: str, run_id: str, *, fresh: bool = False) -> None:
        """Read (and take) the run's reports unless another trigger of the run just did."""
        async with watch.lock:
            if not fresh and watch.read_at is not None and time.monotonic() - watch.read_at < self.poll_seconds:
                return
            await asyncio.sleep(0)  # the run's triggers started with this one join its waiting list first
            watch.read = await asyncio.to_thread(_read_run, dag_id, run_id, dict(watch.waiting),
                                                 sorted(watch.upstream))
            watch.read_at = time.monotonic()
            woken, watch.refreshed = watch.refreshed, asyncio.Event()
            woken.set()

    async def _wait(self, watch: _RunReports) -> None:
        """Until the run's next refresh (by any of its triggers), at most ``poll_seconds``."""
        with suppress(TimeoutError):
            await asyncio.wait_for(watch.refreshed.wait(), self.poll_seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        run_id, try_number, dag_id = ti.run_id, ti.try_number, ti.dag_id
        begun = time.monotonic()
        for key in [key for key, old in _RUNS.items()
                    if not old.waiting and time.monotonic() - old.used_at > FORGET_SECONDS]:
            del _RUNS[key]  # runs whose model tasks all ended
        watch = _RUNS.get((dag_id, run_id)) or _RUNS.setdefault((dag_id, run_id), _RunReports())
        watch.waiting[self.model] = try_number
        watch.upstream.update(self.producer_upstream)
        lines: list[str] = []
        try:
            fresh = False
            while True:
                await self._refresh(watch, dag_id, run_id, fresh=fresh)
                fresh = False
                stored = watch.read.reports.get(self.model)
                if _taken_by(stored, try_number):
                    report = stored.report  # taken for this try (also before the triggerer restarted it)
                    break
                if stored is not None and stored.consumed_try is None:
                    fresh = True  # written after the last refresh took the others: take it now
                    continue
                verdict = waiting_verdict(self.model, run_id, self.producer_task_id, watch.read.producer,
                                          watch.read.upstream_failed, stored is not None,
                                          time.monotonic() - begun, self.wait_seconds)
                if verdict is None:
                    await self._wait(watch)
                    continue
                if verdict.state != "rebuild":
                    async for event in self._end(verdict, lines):
                        yield event
                    return
                report = await self._rebuild(stored, run_id, try_number, lines)
                break
        finally:
            watch.waiting.pop(self.model, None)
            watch.used_at = time.monotonic()
        if report.failed:  # mails its alerts: off the event loop
            outcome = await asyncio.to_thread(conclude, report, stored.as_of, run_id, lines.append)
        else:  # no I/O: no thread
            outcome = conclude(report, stored.as_of, run_id, lines.append)
        async for event in self._end(outcome, lines):
            yield event

    async def _end(self, outcome: Outcome, lines: list[str]) -> AsyncIterator[TriggerEvent]:
        """Log the task's one entry (its lines, then how it ends), then end the task.

        The entry goes out before the event, and the event waits until the triggerer's supervisor read it:
        the supervisor closes the task's log file once it sees the trigger ended, and a line it reads after
        that misses the file.
        """
        entry = "\n".join([*lines, outcome.message])
        level, event = {"failed": (logging.ERROR, TaskFailedEvent), "skipped": (logging.WARNING, TaskSkippedEvent)}.get(
            outcome.state, (logging.INFO, TaskSuccessEvent))
        self.log.log(level, entry)
        await logs_read()
        yield event()

    async def _rebuild(self, stored: StoredReport, run_id: str, try_number: int, lines: list[str]) -> ModelReport:
        """The model built again alone; dbt's lines go to the log as they come (a build takes seconds)."""
        target, env = await asyncio.to_thread(prepare_rebuild, self.model)
        command = rebuild_command(self.model, stored, target)
        self.log.info("try %s: building %s again alone: dbt %s", try_number, self.model, " ".join(command[2:]))
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=command[command.index("--project-dir") + 1])
        output = []
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            self.log.info(line)
        await process.wait()
        report = await asyncio.to_thread(finish_rebuild, self.model, stored, target, output, run_id, try_number)
        report.log = ""  # its lines are logged above
        return report

