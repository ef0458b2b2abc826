"""Land hand-made rows in the warehouse's raw layer as extract_sources would, and run dbt on them.

Each batch gets its audit.batches row (source, table, as-of date and instant, landed) and
its rows carry the batch id and load time, exactly the columns the extractor fills. Used by
the staging tests that need rows no source database would hold (max-int values, bad enums,
cross-tenant references).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg2.extensions

from meridian.airflow_env import airflow_env, run_dbt
from meridian.sources.schema import TABLES

SPECS = {table.raw_table: table for table in TABLES}


@dataclass
class Batch:
    """One landed batch: the raw table (``<source>__<table>`` or ``app__event_files``) and its rows."""

    raw_table: str
    rows: list[dict]
    as_of: date
    batch_id: int | None = None
    ids: list = field(default_factory=list)


def land(cur: psycopg2.extensions.cursor, batch: Batch) -> int:
    """Insert the batch row and the batch's rows; returns the batch id."""
    source, table_name = batch.raw_table.split("__", 1)
    as_of_at = datetime.combine(batch.as_of + timedelta(days=1), time(), tzinfo=UTC)
    cur.execute(
        """
        insert into audit.batches (source, table_name, as_of_date, as_of_at, window_start, window_end, landed)
        values (%s, %s, %s, %s, null, %s, %s)
        returning batch_id, loaded_at
        """,
        (source, table_name, batch.as_of, as_of_at, as_of_at, len(batch.rows)),
    )
    batch_id, loaded_at = cur.fetchone()
    if batch.raw_table == "app__event_files":
        columns = ["_file_name", "_line_number", "_line", "record"]
        values = [
            [row["_file_name"], row["_line_number"], row.get("_line"),
             None if row.get("record") is None else json.dumps(row["record"])]
            for row in batch.rows
        ]
    else:
        columns = SPECS[batch.raw_table].column_names
        values = [
            [json.dumps(row[name]) if name == "properties" and row.get(name) is not None else row.get(name)
             for name in columns]
            for row in batch.rows
        ]
    if values:
        placeholders = ", ".join(["%s"] * (len(columns) + 2))
        cur.executemany(
            f"insert into raw.{batch.raw_table} ({', '.join(columns)}, _batch_id, _loaded_at) "
            f"values ({placeholders})",
            [[*row, batch_id, loaded_at] for row in values],
        )
    batch.batch_id = batch_id
    return batch_id


def dbt(args: list[str], as_of: date, target_dir: Path) -> None:
    """Run dbt on this checkout's project against the current warehouse connection; fail on any error."""
    result = run_dbt(
        [*args, "--vars", f"{{as_of_date: '{as_of.isoformat()}'}}", "--target-path", str(target_dir),
         "--log-path", str(target_dir / "logs")],
        env=airflow_env(), check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed; see the output above"
