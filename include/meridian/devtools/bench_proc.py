"""A command run for the bench: its wall time and the peak resident memory of its process tree.

The peak is sampled: every ``interval`` seconds the resident set sizes of the
process and all its live descendants are summed (psutil), and the largest sum
is kept. ``airflow dags test`` runs every task (and dbt, in-process) inside
its own tree, so this is the memory the DAG run needs on a worker; the
warehouse server is a separate process and is not counted.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessFigures:
    wall: float
    peak_rss_bytes: int
    returncode: int

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / 2**20


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and its live descendants (a process that ends meanwhile counts 0)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(command: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None,
                 interval: float = 0.2) -> ProcessFigures:
    """Run ``command`` with its output in ``log``; its wall time, the sampled peak RSS of its tree, its exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = [0]
    with log.open("w") as out:
        started = time.monotonic()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            try:
                process = psutil.Process(child.pid)
            except psutil.Error:  # ended before the first sample
                return
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(process))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = child.wait()
        finally:
            done.set()
            sampler.join()
        wall = time.monotonic() - started
    return ProcessFigures(wall, peak[0], returncode)


def log_tail(log: Path, lines: int = 60) -> str:
    return "".join(log.read_text(errors="replace").splitlines(keepends=True)[-lines:])
