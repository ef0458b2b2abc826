"""``meridian export transactions``: a tenant's accounting ledger as CSV or JSON, for finance to reconcile.

Reads ``marts.fct_accounting_transactions`` (docs/metrics.md) for one tenant and the
transactions booked from ``start`` to ``end`` (UTC dates, inclusive) into a
pandas DataFrame (``pandas.read_sql``), then writes it with ``to_csv`` or
``to_json``: one CSV row or one JSON object per transaction, every column of
the mart in its contract order, ordered by booked_at then transaction_id.

- Tenancy: the query runs under the tenant's row-level security
  (:func:`meridian.serve.rls.tenant_scope`, as the KPI read API does), so even
  a query that forgot its ``tenant_id`` filter could not return another
  tenant's row.
- Money is exact: numeric columns are read as Decimal (``coerce_float=False``)
  and written as plain decimal text (``0.30``, never ``0.30000000000000004``);
  in JSON they are strings. Timestamps are ISO 8601 in UTC, dates
  ``YYYY-MM-DD``, nulls an empty CSV field or JSON ``null``.
- The file appears whole or not at all: written to a temporary file beside
  ``output`` (created before the warehouse is read, so an unwritable path fails
  first), then renamed.

A value the command cannot use raises :class:`ExportError` naming the option.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2.errors
import psycopg2.extensions

from meridian.serve import rls
from meridian.warehouse.tenants import UnknownTenantError, check_tenant

TABLE = "marts.fct_accounting_transactions"
FORMATS = ("csv", "json")
QUERY = (
    f"select * from {TABLE} where tenant_id = %(tenant)s and booked_date between %(start)s and %(end)s "
    "order by booked_at, transaction_id"
)


class ExportError(ValueError):
    """A value of ``option`` the export cannot use (the message says which and why)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"argument {option}: {message}")
        self.option = option


@dataclass(frozen=True)
class ExportResult:
    path: Path
    output_format: str
    tenant: str
    start: date
    end: date
    rows: int
    net_by_currency: dict[str, Decimal]

    def summary_line(self) -> str:
        """``12 transactions of tenant 'acme' booked 2026-01-01 to 2026-01-31 → out.csv (csv); net USD 1234.50``."""
        totals = ", ".join(f"{currency} {format(total, 'f')}" for currency, total in self.net_by_currency.items())
        return (f"{self.rows} transaction{'' if self.rows == 1 else 's'} of tenant {self.tenant!r} booked "
                f"{self.start.isoformat()} to {self.end.isoformat()} → {self.path} ({self.output_format}); "
                f"net {totals or 'none'}")


def check_request(tenant: str, start: date, end: date, output_format: str) -> str:
    """The tenant stripped, when the options agree with each other; ExportError otherwise (no database needed)."""
    if not tenant.strip():
        raise ExportError("--tenant", "is empty")
    if start > end:
        raise ExportError("--from", f"{start.isoformat()} is after --to {end.isoformat()}")
    if output_format not in FORMATS:
        raise ExportError("--format", f"{output_format[:40]!r} is not one of {', '.join(FORMATS)}")
    return tenant.strip()


def open_output(output: str | Path) -> tuple[Path, int, str]:
    """(path, descriptor, temporary name) of a new file beside ``output``; ExportError when it cannot be written."""
    path = Path(output)
    if str(output).strip() == "":
        raise ExportError("--output", "is empty")
    if path.is_dir():
        raise ExportError("--output", f"{repr(str(path))} is a folder; give a file name")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ExportError("--output", f"cannot write to {repr(str(path))}: {exc.strerror or exc}") from None
    return path, descriptor, temporary


def read_transactions(conn: psycopg2.extensions.connection, tenant: str, start: date, end: date) -> Any:
    """The tenant's ledger rows booked from ``start`` to ``end`` as a DataFrame, read under its row-level security."""
    import pandas

    conn.rollback()  # the scope opens its own transaction
    try:
        with rls.tenant_scope(conn, tenant), warnings.catch_warnings():
            # pandas reads any DB-API connection; it only warns that it tests SQLAlchemy and sqlite3 ones
            warnings.filterwarnings("ignore", message="pandas only supports SQLAlchemy", category=UserWarning)
            return pandas.read_sql(QUERY, conn, params={"tenant": tenant, "start": start, "end": end},
                                   coerce_float=False)
    except psycopg2.errors.UndefinedTable:  # pandas lets the driver's errors through (it wraps only sqlite3's)
        raise RuntimeError(f"{TABLE} does not exist yet: run transform_warehouse first") from None


def _text(value: Any) -> str | None:
    """A cell as exact text: Decimal in plain notation, timestamps and dates in ISO 8601, None for null."""
    import pandas

    if value is None or pandas.isna(value):
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):  # pandas.Timestamp included
        return value.isoformat()
    return str(value)


def as_text(frame: Any) -> Any:
    """Every column of ``frame`` as exact text (object dtype, None for null)."""
    import pandas

    out = pandas.DataFrame(index=frame.index)
    for column in frame.columns:
        out[column] = frame[column].astype(object).map(_text).astype(object)
    return out


def net_by_currency(frame: Any) -> dict[str, Decimal]:
    """Σ amount per currency (exact Decimal sums), currencies sorted."""
    totals: dict[str, Decimal] = {}
    for currency, amount in zip(frame["currency"], frame["amount"], strict=True):
        totals[currency] = totals.get(currency, Decimal("0.00")) + amount
    return dict(sorted(totals.items()))


def write(frame: Any, output_format: str, handle: Any) -> None:
    text = as_text(frame)
    if output_format == "csv":
        # text from tenant data (a refund reason, a resource) must not become a formula in a spreadsheet;
        # amounts such as -10.00 are plain numbers and stay as they are (meridian.reports.cells)
        from meridian.reports.cells import csv_safe

        text = text.map(lambda cell: csv_safe(cell) if isinstance(cell, str) else cell)
        text.to_csv(handle, index=False, na_rep="", lineterminator="\n")
    else:
        text.to_json(handle, orient="records", force_ascii=False, indent=2)
        handle.write("\n")


def export_transactions(
    conn: psycopg2.extensions.connection,
    *,
    tenant: str,
    start: date,
    end: date,
    output_format: str,
    output: str | Path,
) -> ExportResult:
    """Write ``tenant``'s ledger rows booked from ``start`` to ``end`` to ``output``; ExportError on a bad value."""
    tenant = check_request(tenant, start, end, output_format)
    path, descriptor, temporary = open_output(output)
    try:
        try:
            check_tenant(conn, tenant)
        except UnknownTenantError as exc:
            raise ExportError("--tenant", str(exc)) from None
        frame = read_transactions(conn, tenant, start, end)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            descriptor = -1
            write(frame, output_format, handle)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        Path(temporary).unlink(missing_ok=True)
        raise
    return ExportResult(path, output_format, tenant, start, end, len(frame), net_by_currency(frame))
