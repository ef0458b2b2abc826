"""Source schema drift: a source table's actual columns against the contract (docs/sources.md).

Before each extraction :func:`read_source_columns` reads the table's columns
from the source catalog, :func:`meridian.sources.schema.schema_changes` lists
what differs, and :func:`record_schema_changes` raises one ``schema_change``
data-quality alert per change, naming the table and column. An alert is raised
once per change, not at every run: its ``dedup_key`` names the table, column,
kind and source type, so the same drift seen again is a no-op; when the drift
goes away (the column is back as the contract says) the open alert is marked
resolved and its key released, so the same change happening again alerts again.

What the extraction then does (:mod:`meridian.extract.tables`): an added
column is not read, a dropped optional column lands as null, a retyped column
is converted to the contract type as it lands (a value that does not convert
fails that table, naming the column and the value), and a missing required
column fails that table alone (:class:`MissingRequiredColumns`).
"""

from __future__ import annotations

from datetime import date

import psycopg2.extensions

from meridian.sources.schema import ColumnChange, SourceTable
from meridian.warehouse.alerts import Alert, record_alert

ALERT_TYPE = "schema_change"
SEVERITY = {"added": "low", "dropped": "medium", "retyped": "medium"}
REQUIRED_SEVERITY = "high"


class SourceTableError(RuntimeError):
    """A source table that cannot be extracted as the contract says; the message names table and column."""


class MissingRequiredColumns(SourceTableError):
    pass


def read_source_columns(cur: psycopg2.extensions.cursor, table: SourceTable) -> list[tuple[str, str]]:
    """(column, type as ``format_type`` prints it) of ``public.<table>`` in the source, in column order.

    Raises :class:`SourceTableError` when the table does not exist.
    """
    cur.execute(
        """
        select attribute.attname, format_type(attribute.atttypid, attribute.atttypmod)
        from pg_catalog.pg_attribute as attribute
        where attribute.attrelid = to_regclass(%s)
          and attribute.attnum > 0
          and not attribute.attisdropped
        order by attribute.attnum
        """,
        (f"public.{table.name}",),
    )
    columns = [(name, ctype) for name, ctype in cur.fetchall()]
    if not columns:
        raise SourceTableError(
            f"table public.{table.name} ({table.qualified}) is missing in its source database: every table of "
            f"docs/sources.md must exist (it may be empty)"
        )
    return columns


def dedup_key(table: SourceTable, change: ColumnChange) -> str:
    return f"{ALERT_TYPE}:{table.qualified}.{change.column}:{change.kind}:{change.actual_type or ''}"


def change_alert(table: SourceTable, change: ColumnChange, as_of_date: date) -> Alert:
    missing_required = change.kind == "dropped" and change.required
    return Alert(
        alert_type=ALERT_TYPE,
        message=change.describe(table),
        severity=REQUIRED_SEVERITY if missing_required else SEVERITY[change.kind],
        table_name=table.qualified,
        column_name=change.column,
        as_of_date=as_of_date,
        dedup_key=dedup_key(table, change),
    )


def record_schema_changes(
    conn: psycopg2.extensions.connection,
    table: SourceTable,
    changes: list[ColumnChange],
    as_of_date: date,
) -> list[int]:
    """Raise an alert for each new change and resolve the alerts of changes gone; returns the new alert ids.

    Does not commit.
    """
    current = {dedup_key(table, change) for change in changes}
    with conn.cursor() as cur:
        # a drift that went away: resolved, and its key freed so the same change alerts again later
        cur.execute(
            """
            update audit.data_quality_alerts
            set is_resolved = true, dedup_key = dedup_key || ':resolved:' || alert_id
            where alert_type = %s
              and not is_resolved
              and starts_with(dedup_key, %s)
              and not (dedup_key = any(%s))
            """,
            (ALERT_TYPE, f"{ALERT_TYPE}:{table.qualified}.", sorted(current)),
        )
    new_ids = []
    for change in changes:
        alert_id = record_alert(conn, change_alert(table, change, as_of_date))
        if alert_id is not None:
            new_ids.append(alert_id)
    return new_ids


def missing_required(table: SourceTable, changes: list[ColumnChange]) -> MissingRequiredColumns | None:
    """The error for the required columns the source lacks, or None."""
    missing = [change.column for change in changes if change.kind == "dropped" and change.required]
    if not missing:
        return None
    names = ", ".join(missing)
    return MissingRequiredColumns(
        f"{table.qualified}: required column{'s' if len(missing) > 1 else ''} {names} "
        f"{'are' if len(missing) > 1 else 'is'} missing from public.{table.name} in the source database "
        f"(docs/sources.md, Required columns); this table is not extracted until "
        f"{'they are' if len(missing) > 1 else 'it is'} back. The other tables are extracted as usual."
    )
