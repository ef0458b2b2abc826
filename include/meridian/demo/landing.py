"""Event files for the landing directory.

One newline-delimited JSON file per tenant and day of receipt,
``events_<tenant>_<YYYY-MM-DD>.jsonl``, about a third of them gzipped
(``.jsonl.gz``, written with mtime 0 so the bytes are reproducible). Lines are
ordered by received_at. Files are first written to a staging directory beside
the landing directory and moved in only when the databases have committed,
so a failed generation leaves the previous files alone.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from datetime import timedelta
from operator import itemgetter
from pathlib import Path

from meridian.demo.timeline import Window

OLD_FILES = "*.jsonl*"  # also archive copies renamed on a name clash, e.g. events_x.jsonl.<checksum>.gz
GZIP_SHARE = 0.3

# day index (0 = start_date) -> [(received ms, line with newline), ...]
Buckets = dict[int, list[tuple[int, str]]]


def file_name(tenant_id: str, day: str, gzipped: bool) -> str:
    return f"events_{tenant_id}_{day}.jsonl" + (".gz" if gzipped else "")


class LandingWriter:
    def __init__(self, landing_dir: Path) -> None:
        self.landing_dir = landing_dir
        self._staged: list[Path] = []
        self.lines = 0
        landing_dir.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{landing_dir.name}-demo-", dir=landing_dir.parent))

    def write_tenant(self, tenant_id: str, buckets: Buckets, window: Window, gzip_draws: list[float]) -> None:
        """Stage the files of one tenant; ``gzip_draws[day]`` < GZIP_SHARE gzips that day's file."""
        for day_index in sorted(buckets):
            entries = buckets[day_index]
            entries.sort(key=itemgetter(0))  # stable: ties keep generation order
            data = "".join(line for _, line in entries).encode("utf-8")
            day = window.start_date + timedelta(days=day_index)
            gzipped = gzip_draws[day_index % len(gzip_draws)] < GZIP_SHARE
            name = file_name(tenant_id, day.isoformat(), gzipped)
            if gzipped:
                data = gzip.compress(data, compresslevel=6, mtime=0)
            path = self._staging / name
            path.write_bytes(data)
            self._staged.append(path)
            self.lines += len(entries)

    def publish(self) -> list[Path]:
        """Delete earlier event files (landing dir and its archive/), then move the staged ones in."""
        self.landing_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.landing_dir, self.landing_dir / "archive"):
            if not folder.is_dir():
                continue
            for old in folder.glob(OLD_FILES):
                if old.is_file():
                    old.unlink()
        published = []
        for staged in self._staged:
            target = self.landing_dir / staged.name
            os.replace(staged, target)
            published.append(target)
        self.discard()
        return sorted(published)

    def discard(self) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)

