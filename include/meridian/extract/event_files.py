"""Loading newline-delimited JSON event files from the landing directory.

Each ``*.jsonl`` or ``*.jsonl.gz`` file becomes one batch: every non-blank
line lands in ``raw.app__event_files`` with its file name and line number. A
line that is a JSON object PostgreSQL can store keeps it in ``record``; any
other line also keeps its text in ``_line`` (staging quarantines it as
``invalid_json`` with file, line number and text). A clean file (valid UTF-8,
no NUL) lands in one statement that PostgreSQL parses
(:mod:`meridian.extract.event_bulk`); any other goes line by line
(:mod:`meridian.extract.event_lines`), with the same rows for the same lines. ``occurred_at`` is the record's, parsed
at load time for the table's month partitions (meridian.warehouse.event_time). The batch, the lines and the file's
(name, checksum) commit together; the file then moves to ``archive/`` beside
it. A file whose checksum was seen before is never loaded again: it only moves.

A file that cannot be read (:class:`~meridian.extract.event_lines.UnreadableFile`,
or bytes the OS cannot read) is read whole before anything is written, so
nothing of it is loaded: it becomes a batch of one landed row (line 0, the
error in ``_error``) that staging quarantines as ``unreadable_file``, a high
``quarantine`` data-quality alert (once per file checksum), and it moves to
``rejected/`` beside the loaded files. The next file loads as if nothing
happened. Only a warehouse error stops the load (:class:`EventFileLoadError`,
naming the file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import psycopg2
import psycopg2.extensions

from meridian.extract.copy_stream import PROGRESS_SECONDS
from meridian.extract.event_bulk import clean_text, load_text
from meridian.extract.event_lines import ParsedLine, UnreadableFile, pending_files, read_lines
from meridian.extract.tables import start_batch
from meridian.runtime import covered_date, to_instant
from meridian.warehouse.alerts import Alert, record_alert
from meridian.warehouse.bootstrap import EVENT_FILES_TABLE

log = logging.getLogger(__name__)
progress_log = logging.getLogger("meridian.extract.progress")  # how far a load is; the lines above name a file

__all__ = ["EventFileLoadError", "FileResult", "file_checksum", "load_file", "load_landing_dir", "pending_files"]

UNREADABLE_LINE_NUMBER = 0  # the one landed row of an unreadable file stands for the file, not a line
LOGGED_BAD_LINES = 5  # bad lines named in a file's log line (all of them are in audit.quarantine)


class EventFileLoadError(RuntimeError):
    """The warehouse refused an event file's load (a warehouse problem, not the file's content)."""


@dataclass(frozen=True)
class FileResult:
    file_name: str
    checksum: str | None  # None: the file's bytes could not be read
    batch_id: int | None  # None: seen before, only moved
    landed: int
    malformed: int  # landed lines that are not JSON objects (quarantined as invalid_json)
    error: str | None = None  # why the file is unreadable (moved to rejected/)

    @property
    def rejected(self) -> bool:
        return self.error is not None


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(cur: psycopg2.extensions.cursor, file_name: str, lines: list[ParsedLine]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in lines:
        writer.writerow([file_name, line.number,
                         "\\N" if line.line is None else line.line, "\\N" if line.record is None else line.record,
                         "\\N" if line.occurred_at is None else line.occurred_at])
    buffer.seek(0)
    # occurred_at: the month partition of the line (meridian.warehouse.event_time; null: the default one)
    cur.copy_expert(
        f"copy raw.{EVENT_FILES_TABLE} (_file_name, _line_number, _line, record, occurred_at) "
        "from stdin with (format csv, null '\\N')",
        buffer,
    )


def _copy_lines(cur: psycopg2.extensions.cursor, path: Path, lines: list[ParsedLine]) -> list[ParsedLine]:
    """COPY ``lines``; returns them as landed.

    A line whose JSON PostgreSQL refuses although Python's parser took it (a
    number beyond numeric's range, say) is found by halving the failed COPY
    and lands as text, to be quarantined like any line that is not JSON.
    """
    cur.execute("savepoint event_file_lines")
    landed = lines
    try:
        _copy(cur, path.name, lines)
    except psycopg2.DataError as exc:
        cur.execute("rollback to savepoint event_file_lines")
        if len(lines) > 1:
            middle = len(lines) // 2
            landed = _copy_lines(cur, path, lines[:middle]) + _copy_lines(cur, path, lines[middle:])
        else:
            reason = f"PostgreSQL refused its JSON: {(exc.pgerror or str(exc)).strip().splitlines()[0]}"
            log.warning("%s line %s: %s; landed as text for the quarantine", path.name, lines[0].number, reason)
            landed = [lines[0].refused(reason)]
            _copy(cur, path.name, landed)
    cur.execute("release savepoint event_file_lines")
    return landed


def _describe_bad_lines(lines: list[ParsedLine]) -> str:
    bad = [line for line in lines if not line.is_object]
    named = "; ".join(f"line {line.number}: {line.problem}" for line in bad[:LOGGED_BAD_LINES])
    more = f"; and {len(bad) - LOGGED_BAD_LINES} more" if len(bad) > LOGGED_BAD_LINES else ""
    return f"{len(bad)} not JSON objects, quarantined as invalid_json ({named}{more})" if bad else "all JSON objects"


def _describe_kept_as_text(count: int, first: list[int]) -> str:
    if not count:
        return "all JSON objects"
    more = f" and {count - len(first)} more" if count > len(first) else ""
    numbers = ", ".join(str(number) for number in first)
    return f"{count} not JSON objects PostgreSQL stores, quarantined as invalid_json (lines {numbers}{more})"


def _move(path: Path, target_dir: Path, checksum: str | None) -> Path | None:
    """Move ``path`` into ``target_dir`` (a name taken there gets a checksum suffix); None when the move failed."""
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            tag = (checksum or hashlib.sha256(str(path.stat().st_mtime_ns).encode()).hexdigest())[:12]
            target = target_dir / f"{path.stem}.{tag}{path.suffix}"
        shutil.move(str(path), target)
    except OSError as exc:
        # the load is committed and the checksum recorded: the next run only retries the move
        log.error("%s could not be moved to %s (%s); the next run moves it without loading it again",
                  path, target_dir, exc)
        return None
    return target


def _move_seen(
    path: Path, checksum: str, batch_id: int, error: str | None, archive_dir: Path, rejected_dir: Path
) -> FileResult:
    """A file whose checksum was loaded or rejected before: moved where the first copy went, nothing recorded."""
    if error is None:
        log.warning("%s was loaded before (batch %s, same checksum); archiving it without loading", path, batch_id)
        _move(path, archive_dir, checksum)
    else:
        log.warning("%s was rejected before (batch %s, same checksum: %s); moving it to %s again",
                    path, batch_id, error, rejected_dir)
        _move(path, rejected_dir, checksum)
    return FileResult(path.name, checksum, None, 0, 0, error)


def _reject(
    cur: psycopg2.extensions.cursor,
    path: Path,
    checksum: str | None,
    as_of: date | datetime,
    error: str,
) -> int:
    """Record an unreadable file: its batch, its one landed row, its checksum, the alert. Returns the batch id."""
    batch_id, _ = start_batch(
        cur, source="app", table_name="event_files", as_of=as_of, window_start=None,
        window_end=to_instant(as_of), file_name=path.name, file_checksum=checksum,
    )
    cur.execute(
        f"insert into raw.{EVENT_FILES_TABLE} (_file_name, _line_number, _error) values (%s, %s, %s)",
        (path.name, UNREADABLE_LINE_NUMBER, error),
    )
    cur.execute("update audit.batches set landed = 1 where batch_id = %s", (batch_id,))
    if checksum is not None:
        cur.execute(
            "insert into audit.loaded_files (file_name, checksum, batch_id, lines, error) values (%s, %s, %s, 0, %s)",
            (path.name, checksum, batch_id, error),
        )
    record_alert(cur.connection, Alert(
        alert_type="quarantine",
        message=(
            f"event file {path.name} is unreadable ({error}); nothing of it was loaded. It moves to "
            f"rejected/ and batch {batch_id} quarantines it as unreadable_file: fix the file and drop it "
            "in the landing directory again"
        ),
        severity="high",
        table_name=f"raw.{EVENT_FILES_TABLE}",
        as_of_date=covered_date(to_instant(as_of)),
        # once per file content; a file whose bytes could not be read has no checksum: once per name and error
        dedup_key=f"unreadable_file:{checksum}" if checksum else f"unreadable_file:{path.name}:{error}",
    ))
    return batch_id


def _load(
    path: Path,
    as_of: date | datetime,
    warehouse_conn: psycopg2.extensions.connection,
    archive_dir: Path,
    rejected_dir: Path,
    batch_started: Callable[[], None],
) -> FileResult:
    lines: list[ParsedLine] = []
    text: str | None = None  # the whole file, when clean enough for the fast path (meridian.extract.event_bulk)
    unreadable: str | None = None
    checksum: str | None = None
    try:
        checksum = file_checksum(path)
    except OSError as exc:
        unreadable = f"cannot be read: {exc.strerror or exc}"
    with warehouse_conn.cursor() as cur:
        if checksum is not None:
            # the lock and the look-up in one round trip (the result is the last statement's)
            cur.execute(
                "select pg_advisory_xact_lock(hashtext(%s)); "
                "select batch_id, error from audit.loaded_files where checksum = %s order by loaded_at limit 1",
                (f"meridian.files.{checksum}", checksum),
            )
            seen = cur.fetchone()
            if seen:
                warehouse_conn.rollback()
                batch_started()  # it gets none
                return _move_seen(path, checksum, *seen, archive_dir, rejected_dir)
            try:
                text = clean_text(path)
                if text is None:
                    lines = read_lines(path)
            except UnreadableFile as exc:
                unreadable = str(exc)
            except OSError as exc:
                unreadable = f"cannot be read: {exc.strerror or exc}"
        if unreadable is not None:
            batch_id = _reject(cur, path, checksum, as_of, unreadable)
            batch_started()
            warehouse_conn.commit()
            moved = _move(path, rejected_dir, checksum)
            log.error("%s is unreadable (%s): nothing of it loaded; batch %s quarantines it as unreadable_file, "
                      "the file is in %s", path.name, unreadable, batch_id, moved or path.parent)
            return FileResult(path.name, checksum, batch_id, 1, 0, unreadable)
        batch_id, _ = start_batch(
            cur, source="app", table_name="event_files", as_of=as_of, window_start=None,
            window_end=to_instant(as_of), file_name=path.name, file_checksum=checksum,
        )
        batch_started()
        if text is not None:
            bulk = load_text(cur, path.name, text, LOGGED_BAD_LINES)
            landed_lines, malformed = bulk.landed, bulk.kept_as_text
            path_taken = "in one statement"
            described = _describe_kept_as_text(bulk.kept_as_text, bulk.first_kept_as_text)
        else:
            # not clean (bytes that are not UTF-8, a NUL, see event_bulk.clean_text): line by line, each bad
            # line shown with its bytes escaped
            landed = _copy_lines(cur, path, lines)
            landed_lines, malformed = len(landed), sum(not line.is_object for line in landed)
            path_taken = "line by line"
            described = _describe_bad_lines(landed)
        cur.execute(
            "update audit.batches set landed = %s where batch_id = %s; "
            "insert into audit.loaded_files (file_name, checksum, batch_id, lines) values (%s, %s, %s, %s)",
            (landed_lines, batch_id, path.name, checksum, batch_id, landed_lines),
        )
    warehouse_conn.commit()
    _move(path, archive_dir, checksum)
    log.info("%s: batch %s, %s lines %s, %s", path.name, batch_id, landed_lines, path_taken, described)
    return FileResult(path.name, checksum, batch_id, landed_lines, malformed)


def load_file(
    path: Path,
    as_of: date | datetime,
    warehouse_conn: psycopg2.extensions.connection,
    archive_dir: Path,
    rejected_dir: Path,
    batch_started: Callable[[], None] = lambda: None,
) -> FileResult:
    """Load one file in its own transaction; an unreadable one is recorded and moved to ``rejected_dir``.

    ``batch_started`` is called once the file's batch row is inserted (or once it is clear it gets none).
    """
    try:
        return _load(path, as_of, warehouse_conn, archive_dir, rejected_dir, batch_started)
    except psycopg2.Error as exc:
        if not warehouse_conn.closed:
            warehouse_conn.rollback()
        detail = (exc.pgerror or str(exc)).strip()
        raise EventFileLoadError(
            f"event file {path}: the warehouse refused its load, nothing of it was written and it stays in "
            f"the landing directory: {detail}"
        ) from exc


def load_landing_dir(
    landing_dir: Path,
    as_of: date | datetime,
    warehouse_conn: psycopg2.extensions.connection,
    more_conns: Sequence[psycopg2.extensions.connection] = (),
) -> list[FileResult]:
    """Load every pending file of ``landing_dir`` (each in its own transaction), in name order.

    With ``more_conns``, as many files load at once as there are connections (the warehouse parses the
    lines, so two loads use two cores). The batches still start in name order (batch ids and loaded_at
    follow the file names, as staging's "first landed" expects): a file's checksum, reading and batch row
    wait for the file before it to have its batch row; its lines then load beside the next file's. A
    warehouse error stops the load: the files being loaded finish, no other starts, and the first error
    in name order is raised.
    """
    if not landing_dir.exists():
        log.info("landing directory %s does not exist; no event files to load", landing_dir)
        return []
    archive_dir = landing_dir / "archive"
    rejected_dir = landing_dir / "rejected"
    paths = pending_files(landing_dir)
    progress = _Progress(len(paths))
    results: dict[int, FileResult] = {}
    errors: dict[int, BaseException] = {}
    pending = iter(enumerate(paths))
    lock = threading.Lock()
    turns = _Turns()

    def work(conn: psycopg2.extensions.connection) -> None:
        while True:
            with lock:
                index, path = next(pending, (None, None))
                if index is None or errors:
                    return
            try:
                turns.wait(index)
                result = load_file(path, as_of, conn, archive_dir, rejected_dir, lambda i=index: turns.done(i))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                with lock:
                    errors[index] = exc
                return
            finally:
                turns.done(index)
            with lock:
                results[index] = result
                progress.add(result)

    conns = [warehouse_conn, *more_conns][: max(1, len(paths))]
    if len(conns) == 1:
        work(warehouse_conn)
    else:
        workers = [threading.Thread(target=work, args=(conn,), name=f"event-files-{n}") for n, conn in enumerate(conns)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    if errors:
        raise errors[min(errors)]
    progress.log(final=True)
    return [results[index] for index in sorted(results)]


class _Turns:
    """Files take turns, in name order, to start their batch."""

    def __init__(self) -> None:
        self._next = 0
        self._changed = threading.Condition()

    def wait(self, index: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._next >= index)

    def done(self, index: int) -> None:
        with self._changed:
            if self._next == index:
                self._next = index + 1
                self._changed.notify_all()


class _Progress:
    """Files and lines loaded so far, logged every PROGRESS_SECONDS and at the end."""

    def __init__(self, files: int) -> None:
        self.files, self.done, self.lines = files, 0, 0
        self.started = self.logged = time.monotonic()

    def add(self, result: FileResult) -> None:
        self.done += 1
        self.lines += result.landed
        if time.monotonic() - self.logged >= PROGRESS_SECONDS:
            self.log()

    def log(self, final: bool = False) -> None:
        self.logged = time.monotonic()
        seconds = max(self.logged - self.started, 1e-6)
        if self.files:
            progress_log.info("event files: %s of %s files%s, %s lines in %.1f s (%.0f lines/s)", self.done, self.files,
                     " loaded" if final else " so far", self.lines, seconds, self.lines / seconds)
