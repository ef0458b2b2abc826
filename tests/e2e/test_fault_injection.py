"""SIGKILL at random points of extract, transform and delivery; every rerun converges to an unkilled run.

On a private embedded PostgreSQL with a tiny generated dataset (1 tenant, 150
users, 20 days) and a real SMTP server (aiosmtpd), the test first runs the
chain unkilled for one as-of instant (the reference: raw layer, marts, the
mail), then starts again from an empty warehouse and the same landing files
and kills each stage's process group with SIGKILL, at random moments and at
the moments that matter most, each kill followed by a rerun of the same as-of
(which may itself be killed by the next trial):

- extract: first the real DAG, ``airflow dags test extract_sources``, while
  a randomly chosen task try runs; then once when an event file's batch has
  committed and the file is not yet archived, then at random moments just
  after a randomly chosen task started; the raw layer, watermarks, loaded and
  archived files must equal the reference's;
- transform: the first (full-refresh) dbt build, then, with the marts in
  place, an incremental rebuild and a full-refresh rebuild, each once a random
  number of its models has been built (progress, not time: the machine's load
  does not move the point); the marts must equal the reference's after the
  first complete build and at the end;
- delivery: at a random moment of its start, twice right after the SMTP
  server stored a message (the process dies before it hears 250), twice at a
  random moment of the period after a message was taken; every (report, period) of
  the reference arrives, under the reference's Message-ID, none under another,
  and every delivery row is ``sent`` once.

A reader thread polls ``count(*)`` of every mart from the first complete build
to the end: it must never get an error (a missing mart) nor a count other than
the reference's (an empty or half-written mart). Killed tries must end up
``killed`` in audit.pipeline_runs (and their dbt builds in transform_runs),
none left ``running``.

The kill moments come from a seed, printed on failure; ``MERIDIAN_FAULT_SEED``
replays one. The DAGs' task functions run through ``tests.e2e.fault_runner``,
one process (group) per try, with the task callbacks Airflow would call; dbt's
data tests are left out of the builds (they never write a model), which halves
the test's time.
"""

from __future__ import annotations

import email
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email import policy
from email.message import EmailMessage
from pathlib import Path

import psycopg2
import pytest
from aiosmtpd.controller import Controller

from meridian import db
from meridian.mailsink import free_port
from tests.conftest import private_stack
from tests.e2e.fault_runner import run_id_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DATA_SEED = 20261205
SIZE = {"tenants": 1, "users": 150, "days": 20}
EXTRACT_KILLS = 4  # one between an event file's commit and its archive move, the others at random
MIN_KILLS = 10


# --- the SMTP server --------------------------------------------------------------------------------


def kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class MailServer:
    """Stores every message; on cue, kills the delivering process group after storing one.

    With no delay the kill comes before the server's 250 reply (the client has
    handed the message over and dies before hearing it was taken); with a delay
    the reply goes out and the kill lands wherever the client is by then.
    """

    stored: list[EmailMessage] = field(default_factory=list)
    kill_group: int | None = None  # the process group to kill after storing ...
    kill_after: int = 0  # ... this many more messages,
    kill_delay: float = 0.0  # ... this many seconds later
    last_before_kill: list[str] = field(default_factory=list)  # per killed delivery: the last Message-ID it handed over
    stored_at: list[float] = field(default_factory=list)  # time.monotonic() of each message stored

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.stored.append(message)
        self.stored_at.append(time.monotonic())
        if self.kill_group is not None:
            self.kill_after -= 1
            if self.kill_after == 0:
                if self.kill_delay > 0:
                    threading.Timer(self.kill_delay, kill_group, (self.kill_group,)).start()
                else:
                    kill_group(self.kill_group)
                self.kill_group = None
        return "250 Message accepted"


# --- the private stack ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    """An embedded PostgreSQL, landing dir, output dir and SMTP server of this module's own."""
    mail = MailServer()
    smtp_port = free_port()
    controller = Controller(mail, hostname="127.0.0.1", port=smtp_port, ready_timeout=10)
    with private_stack("meridian-fault-injection-", smtp_uri=f"smtp://127.0.0.1:{smtp_port}?timeout=5") as base:
        controller.start()
        try:
            yield {"base": base, "mail": mail}
        finally:
            controller.stop()


# --- running and killing tries ------------------------------------------------------------------------


@dataclass
class Trials:
    base: Path
    as_of: str
    rng: random.Random
    tries: Counter = field(default_factory=Counter)
    killed: list[tuple[str, int, str]] = field(default_factory=list)  # (stage, try, how)
    airflow_killed: list[tuple[str, str, str]] = field(default_factory=list)  # (dag_id, run_id, task_id)
    mail: MailServer | None = None
    mail_mark: int = 0  # messages stored before the running delivery try started
    seconds: dict[str, float] = field(default_factory=dict)
    reader_pid: int | None = None

    def start(self, stage: str, *extra: str) -> tuple[subprocess.Popen, int, Path]:
        if self.mail is not None:
            self.mail_mark = len(self.mail.stored)
        if stage == "transform":
            extra = (*extra, "--without-data-tests")  # the same marts in about half the time
        self.tries[stage] += 1
        number = self.tries[stage]
        log_path = self.base / "logs" / f"{stage}-try{number}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.fault_runner", stage, "--as-of", self.as_of, "--try", str(number),
                 *extra],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return process, number, log_path

    def finish(self, stage: str, process: subprocess.Popen, number: int, log_path: Path, how: str) -> bool:
        """True when the try was killed (recorded); a try that ended by itself must have succeeded."""
        code = process.wait(timeout=600)
        if code == -signal.SIGKILL:
            self.killed.append((stage, number, how))
            handed_over = self.mail.stored[self.mail_mark:] if self.mail is not None else []
            if handed_over:  # the server may hold it without the delivery knowing: the rerun may send it again
                self.mail.last_before_kill.append(handed_over[-1]["Message-ID"])
            self.wait_for_dead_sessions()
            return True
        if code != 0:
            tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-60:])
            raise AssertionError(f"{stage} try {number} failed (exit {code}); log {log_path}:\n{tail}")
        return False

    def complete(self, stage: str, *extra: str) -> float:
        started = time.monotonic()
        process, number, log_path = self.start(stage, *extra)
        assert not self.finish(stage, process, number, log_path, "complete")
        return time.monotonic() - started

    def kill_after(self, stage: str, seconds: float, *extra: str) -> bool:
        process, number, log_path = self.start(stage, *extra)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.finish(stage, process, number, log_path, f"at {seconds:.2f}s")

    def kill_at_progress(self, stage: str, relations: int, *extra: str) -> bool:
        """Kill the try once its build has committed ``relations`` new models (tables or views).

        The build's progress, not the clock: the same kind of point however busy
        the machine is. A model's new relation becomes visible when its
        transaction commits (its swap by rename), so the kill lands between, or
        inside, the models' transactions.
        """
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("select max(oid) from pg_class")
            start_oid = cur.fetchone()[0]
        process, number, log_path = self.start(stage, *extra)
        while process.poll() is None:
            if built_relations(start_oid) >= relations:
                kill_group(process.pid)
                break
            time.sleep(0.05)
        return self.finish(stage, process, number, log_path, f"after {relations} models were built")

    def kill_in_task(self, stage: str, nth: int, delay: float) -> bool:
        """Kill the try ``delay`` seconds after its ``nth`` task started (inside that task, or just after it)."""
        from tests.e2e.fault_runner import DAG_IDS

        process, number, log_path = self.start(stage)
        while process.poll() is None:
            with db.connection("warehouse") as conn, conn.cursor() as cur:
                cur.execute("select count(*) from audit.pipeline_runs where dag_id = %s and run_id = %s "
                            "and try_number = %s", (DAG_IDS[stage], run_id_for(self.as_of), number))
                if cur.fetchone()[0] >= nth:
                    time.sleep(delay)
                    kill_group(process.pid)
                    break
            time.sleep(0.005)
        return self.finish(stage, process, number, log_path, f"{delay:.3f}s after task {nth} started")

    def kill_when_stored(self, mail: MailServer, nth: int, delay: float = 0.0) -> bool:
        process, number, log_path = self.start("deliver")
        mail.kill_after, mail.kill_delay, mail.kill_group = nth, delay, process.pid
        how = f"{delay:.3f}s after the server stored message {nth}" if delay else \
            f"when the server stored message {nth}, before its reply"
        killed = self.finish("deliver", process, number, log_path, how)
        mail.kill_group = None
        return killed

    def kill_before_archive(self, nth: int) -> bool:
        process, number, log_path = self.start("extract", "--kill-before-archive", str(nth))
        return self.finish("extract", process, number, log_path, f"before archiving event file {nth}")

    def kill_airflow_extract(self, logical_date: str, skip: int) -> bool:
        """``airflow dags test extract_sources`` killed while a task try runs, once ``skip`` tries have started."""
        from meridian.airflow_env import airflow_env, run_airflow, venv_bin

        env = airflow_env()
        logs = self.base / "logs"
        run_airflow(["db", "migrate"], env=env, capture=logs / "airflow-db-migrate.log")
        log_path = logs / "airflow-extract_sources.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [venv_bin("airflow"), "dags", "test", "extract_sources", logical_date,
                 "--conf", json.dumps({"as_of": self.as_of})],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            with db.connection("warehouse") as conn, conn.cursor() as cur:
                cur.execute("select count(*), count(*) filter (where state = 'running') from audit.pipeline_runs "
                            "where dag_id = 'extract_sources' and run_id <> %s", (run_id_for(self.as_of),))
                started, running = cur.fetchone()
            if started > skip and running:
                break
            time.sleep(0.01)
        kill_group(process.pid)
        code = process.wait(timeout=60)
        if code != -signal.SIGKILL:
            tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-60:])
            raise AssertionError(f"airflow dags test extract_sources ended by itself (exit {code}):\n{tail}")
        self.wait_for_dead_sessions()
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("select dag_id, run_id, task_id from audit.pipeline_runs where dag_id = 'extract_sources' "
                        "and run_id <> %s and state = 'running'", (run_id_for(self.as_of),))
            self.airflow_killed += cur.fetchall()
        self.killed.append(("airflow extract_sources", 1, f"while task try {skip + 1} ran"))
        return True

    def wait_for_dead_sessions(self) -> None:
        """The killed process's database sessions (and the row locks they hold) are gone."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with db.connection("warehouse") as conn, conn.cursor() as cur:
                cur.execute(
                    """select count(*) from pg_stat_activity
                       where backend_type = 'client backend' and pid <> pg_backend_pid()
                         and pid is distinct from %s""",
                    (self.reader_pid,),
                )
                if cur.fetchone()[0] == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the killed try's database sessions are still open after 20 s")


# --- the concurrent reader ----------------------------------------------------------------------------


class MartReader(threading.Thread):
    """Polls count(*) of every mart until stopped; records errors and counts other than the expected ones."""

    def __init__(self, expected: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.expected = expected
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.polls = 0
        self.conn = db.connect("warehouse", autocommit=True)
        with self.conn.cursor() as cur:
            cur.execute("select pg_backend_pid()")
            self.pid = cur.fetchone()[0]

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for name, count in self.expected.items():
                    try:
                        with self.conn.cursor() as cur:
                            cur.execute(f'select count(*) from marts."{name}"')
                            seen = cur.fetchone()[0]
                    except psycopg2.Error as exc:
                        self.problems.append(f"marts.{name}: {type(exc).__name__}: {exc}".strip())
                        continue
                    if seen != count:
                        self.problems.append(f"marts.{name}: {seen} rows, expected {count}")
                self.polls += 1
                time.sleep(0.02)
        finally:
            self.conn.close()


# --- what is compared ---------------------------------------------------------------------------------


BUILT_RELATIONS_SQL = """
    select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.oid > %s::oid and c.relkind in ('r', 'v')
      and n.nspname not in ('raw', 'audit', 'reporting', 'pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_%%'
"""


def built_relations(since_oid: int = 0) -> int:
    """Tables and views of the dbt project's schemas created (committed) after ``since_oid``."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(BUILT_RELATIONS_SQL, (since_oid,))
        return cur.fetchone()[0]


def tables(schema: str) -> list[str]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = %s "
                    "and table_type = 'BASE TABLE' order by 1", (schema,))
        return [row[0] for row in cur.fetchall()]


def snapshot(schema: str, drop: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every table of ``schema`` as sorted rows, without the columns in ``drop``."""
    result = {}
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for name in tables(schema):
            cur.execute("select column_name from information_schema.columns where table_schema = %s "
                        "and table_name = %s order by ordinal_position", (schema, name))
            columns = [row[0] for row in cur.fetchall() if row[0] not in drop]
            cur.execute(f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} from {schema}."{name}"')
            result[name] = sorted(cur.fetchall(), key=repr)
    return result


def extraction_state(landing: Path) -> dict:
    """The raw layer's distinct rows (no batch ids or load times: a killed batch uses up ids) and bookkeeping.

    Distinct rows: a design that reads overlapping windows may land a row again
    (a duplicate, counted as such); what must match is what was read.
    """
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select source, table_name, watermark from audit.watermarks")
        watermarks = sorted(cur.fetchall(), key=repr)
        cur.execute("select file_name, checksum, lines from audit.loaded_files")
        files = sorted(cur.fetchall(), key=repr)
    raw = snapshot("raw", drop=("_batch_id", "_loaded_at"))
    return {
        "raw": {name: sorted(set(map(repr, rows))) for name, rows in raw.items()},
        "watermarks": watermarks,
        "loaded_files": files,
        "pending": sorted(path.name for path in landing.glob("*.jsonl*")),
        "archived": sorted(path.name for path in (landing / "archive").glob("*")),
    }


def mart_counts(marts: dict[str, list[tuple]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in marts.items()}


def deliveries() -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select report_id, period_start, status, message_id, data_sends, sent_at is not null "
                    "from reporting.report_deliveries order by report_id, period_start")
        return cur.fetchall()


def mail_key(message: EmailMessage) -> tuple[str, str, str]:
    return (message["Message-ID"], message["X-Meridian-Report-Id"], message["X-Meridian-Period"])


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()
            if part.get_filename().endswith(".csv")}


# --- set-up of one pass ---------------------------------------------------------------------------------


def fresh_warehouse(landing: Path, pristine: Path, tenant: str, first_due: datetime) -> None:
    """An empty warehouse, the generated landing files back in place, the daily report scheduled."""
    from meridian.delivery.schema import ensure_delivery_schema
    from meridian.demo.pipeline import reset_warehouse

    reset_warehouse()
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(pristine, landing)
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        ensure_delivery_schema(conn)
        cur.execute(
            """insert into reporting.scheduled_reports
                   (tenant_id, name, report_type, frequency, formats, recipients, next_run_at)
               values (%s, 'Daily revenue', 'revenue_summary', 'daily', array['csv', 'html'],
                       array['finance@example.com'], %s)""",
            (tenant, first_due),
        )


# --- the test ---------------------------------------------------------------------------------------------


def test_sigkill_anywhere_converges_to_the_unkilled_run(stack: dict) -> None:
    seed = int(os.environ.get("MERIDIAN_FAULT_SEED") or random.SystemRandom().randrange(1, 2**31))
    print(f"fault-injection seed {seed} (replay with MERIDIAN_FAULT_SEED={seed})")
    try:
        run_trials(stack, seed)
    except BaseException as exc:
        raise AssertionError(f"fault injection with seed {seed} failed (replay with MERIDIAN_FAULT_SEED={seed}): "
                             f"{type(exc).__name__}: {exc}") from exc


def run_trials(stack: dict, seed: int) -> None:
    from meridian.config import settings
    from meridian.demo.generate import generate

    rng = random.Random(seed)
    base, mail = stack["base"], stack["mail"]
    landing = settings().landing_dir
    summary = generate(seed=DATA_SEED, progress=False, **SIZE)
    pristine = base / "pristine-landing"
    shutil.copytree(landing, pristine)
    tenant = summary.tenants[0]
    as_of = datetime.combine(summary.end_date, clock(12), tzinfo=UTC)
    first_due = datetime.combine(summary.start_date + timedelta(days=2), clock(0), tzinfo=UTC)
    started = time.monotonic()

    # the reference: the chain unkilled
    fresh_warehouse(landing, pristine, tenant, first_due)
    reference = Trials(base / "reference", as_of.isoformat(), rng)
    durations = {stage: reference.complete(stage) for stage in ("extract", "transform")}
    delivery_started = time.monotonic()
    durations["deliver"] = reference.complete("deliver")
    first_message_after = mail.stored_at[0] - delivery_started  # start-up: imports, schema, the first rendering
    per_message = (mail.stored_at[-1] - mail.stored_at[0]) / (len(mail.stored_at) - 1)
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select count(*) from audit.pipeline_runs where dag_id = 'extract_sources'")
        extract_tasks = cur.fetchone()[0]
    models = built_relations()
    assert models >= 50, f"the reference build left {models} tables and views"
    expected_extraction = extraction_state(landing)
    expected_marts = snapshot("marts")
    expected_mail = {mail_key(message): attachments(message) for message in mail.stored}
    expected_deliveries = [(row[0], row[1], row[2], row[3]) for row in deliveries()]
    assert len(expected_mail) == len(mail.stored) == len(expected_deliveries) >= 15
    assert all(status == "sent" for _, _, status, _ in expected_deliveries)
    assert sum(1 for rows in expected_marts.values() if rows) >= 25, "the tiny dataset leaves most marts empty"
    assert not expected_extraction["pending"] and expected_extraction["archived"]
    mail.stored.clear()
    mail.stored_at.clear()
    print(f"reference run: {', '.join(f'{stage} {seconds:.1f}s' for stage, seconds in durations.items())}, "
          f"{models} models, first message after {first_message_after:.2f}s")

    # the same chain, killed
    fresh_warehouse(landing, pristine, tenant, first_due)
    trials = Trials(base / "killed", as_of.isoformat(), rng, mail=mail)
    files = len(expected_extraction["loaded_files"])
    # the real DAG under Airflow first: its killed try is found by the next task starting on this host
    # killed in one of its first six tries: prepare_warehouse, the four source tasks, load_event_files
    trials.kill_airflow_extract(summary.end_date.isoformat(), rng.randint(0, 5))
    trials.kill_before_archive(rng.randint(1, files))
    for _ in range(30):
        if sum(1 for stage, *_ in trials.killed if stage == "extract") >= EXTRACT_KILLS:
            break
        trials.kill_in_task("extract", rng.randint(1, extract_tasks), rng.uniform(0, 0.05))
    trials.complete("extract")
    assert extraction_state(landing) == expected_extraction

    trials.kill_at_progress("transform", rng.randint(1, models * 9 // 10))  # the first build
    trials.complete("transform")
    assert snapshot("marts") == expected_marts, "marts after a killed first build and its rerun"
    reader = MartReader(mart_counts(expected_marts))
    trials.reader_pid = reader.pid
    reader.start()
    try:
        # an incremental rebuild replaces every model but the incremental ones (those keep their table)
        trials.kill_at_progress("transform", rng.randint(1, models * 6 // 10))
        trials.kill_at_progress("transform", rng.randint(1, models * 9 // 10), "--full-refresh")
        trials.complete("transform")
        assert snapshot("marts") == expected_marts, "marts after killed rebuilds and their rerun"

        # at a random moment of the start (imports, schema, the first rendering), then alternately at the
        # hand-over and at a random moment of the next period (marking the message sent, rendering the next one)
        trials.kill_after("deliver", rng.uniform(0.3, 0.95) * first_message_after)
        trials.kill_when_stored(mail, rng.randint(1, 3))
        trials.kill_when_stored(mail, rng.randint(1, 3), delay=rng.uniform(0.05, 0.95) * per_message)
        trials.kill_when_stored(mail, rng.randint(1, 2))
        trials.kill_when_stored(mail, rng.randint(1, 2), delay=rng.uniform(0.05, 0.95) * per_message)
        trials.complete("deliver")
    finally:
        reader.stop.set()
        reader.join(timeout=30)
    print(f"killed tries: {trials.killed}; Airflow's running try at its kill: {trials.airflow_killed}; "
          f"reader polls: {reader.polls}; "
          f"fault-injection pass {time.monotonic() - started:.1f}s in all")

    assert len(trials.killed) >= MIN_KILLS, f"only {len(trials.killed)} tries were killed: {trials.killed}"
    assert snapshot("marts") == expected_marts
    assert reader.polls > 0 and reader.problems == [], reader.problems[:20]
    check_mail(mail, expected_mail, expected_deliveries)
    check_killed_tries(trials)


def check_mail(mail: MailServer, expected_mail: dict, expected_deliveries: list[tuple]) -> None:
    """Every reference message arrived under its Message-ID; another copy only after a kill that followed its hand-over.

    A delivery killed after handing a message over (the last one the server
    stored from that try) may not have recorded it sent: the rerun sends it
    again, under the same Message-ID. Nothing else is ever sent twice.
    """
    copies = Counter(mail_key(message) for message in mail.stored)
    assert set(copies) == set(expected_mail), (
        f"lost: {sorted(set(expected_mail) - set(copies))}; under another Message-ID: "
        f"{sorted(set(copies) - set(expected_mail))}"
    )
    allowed = Counter(mail.last_before_kill)
    extra = {key[0]: count - 1 for key, count in copies.items() if count - 1 > allowed[key[0]]}
    assert not extra, f"sent again without a kill after its hand-over: {extra}; kills after: {allowed}"
    assert mail.last_before_kill, "no delivery was killed after the server stored a message"
    for message in mail.stored:
        assert attachments(message) == expected_mail[mail_key(message)], f"{mail_key(message)}: other content"
    rows = deliveries()
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == expected_deliveries
    assert all(sent for *_, sent in rows)
    handed = {row[3]: row[4] for row in rows}
    for message_id, count in Counter(message["Message-ID"] for message in mail.stored).items():
        assert handed[message_id] >= count, f"{message_id}: stored {count} times, {handed[message_id]} hand-overs"


def check_killed_tries(trials: Trials) -> None:
    """No try is left running; every killed row is a killed try's, and a killed build's dbt build is marked."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select dag_id, task_id, try_number, state, error, run_id from audit.pipeline_runs")
        runs = cur.fetchall()
        cur.execute("select run_id, status from audit.transform_runs")
        builds = cur.fetchall()
    from tests.e2e.fault_runner import DAG_IDS

    assert [row for row in runs if row[3] == "running"] == []
    killed_tries = {(DAG_IDS[stage], number) for stage, number, _ in trials.killed if stage in DAG_IDS}
    killed_rows = [row for row in runs if row[3] == "killed"]
    assert killed_rows, "no killed try was marked"
    runner_run = run_id_for(trials.as_of)
    assert {row[:3:2] for row in killed_rows if row[5] == runner_run} <= killed_tries
    assert all(row[4].startswith("killed: the try's process") for row in killed_rows)
    # the try Airflow was running when killed (none if the kill fell between two tries): found by the sweep of
    # the next task starting on this host
    assert len(trials.airflow_killed) <= 1, trials.airflow_killed
    for dag_id, run_id, task_id in trials.airflow_killed:
        (state, error) = next((row[3], row[4]) for row in runs if (row[0], row[5], row[1]) == (dag_id, run_id, task_id))
        assert state == "killed" and "found by the sweep at the start of extract_sources." in error, error
    assert {row[5] for row in killed_rows} <= {runner_run, *(run for _, run, _ in trials.airflow_killed)}
    assert [status for _, status in builds if status == "running"] == []
    if any(task_id == "build_models" for _, task_id, *_ in killed_rows):
        assert "killed" in {status for _, status in builds}
