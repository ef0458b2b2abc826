"""How long one report takes: read the marts and render the comprehensive report in every format.

``bench_render(tenant_id, month)`` times, for one tenant and one calendar
month, the read of the marts (one connection, one catalog query and one read
per mart) and each renderer (PDF, CSV in both layouts, XLSX, HTML) on the
configured warehouse, and returns the seconds. With no tenant it takes the
first tenant of ``marts.dim_tenants`` (or of ``marts.fct_daily_kpis``); with no
month, the last complete month before the latest ``kpi_date``.

Run it from the command line with
``python -m meridian.devtools.bench_reports [tenant] [YYYY-MM]``; ``meridian bench``
can include it by calling :func:`bench_render`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from meridian.config import WAREHOUSE_CONN_ID
from meridian.db import connection
from meridian.reports.data import load_report_data, month_end
from meridian.reports.periods import Period
from meridian.reports.registry import COMPREHENSIVE
from meridian.reports.render import renderer

FORMATS = ("pdf", "csv", "xlsx", "html")


def _defaults(cur: Any, tenant_id: str | None, month: date | None) -> tuple[str, date]:
    if tenant_id is None:
        for query in (
            "select tenant_id from marts.dim_tenants order by tenant_id limit 1",
            "select min(tenant_id) from marts.fct_daily_kpis",
        ):
            try:
                cur.execute(query)
                row = cur.fetchone()
            except Exception:  # noqa: BLE001 - the table may not exist: try the next one
                cur.connection.rollback()
                continue
            if row and row[0]:
                tenant_id = row[0]
                break
        if tenant_id is None:
            raise RuntimeError("no tenant found in marts.dim_tenants or marts.fct_daily_kpis; build the marts first")
    if month is None:
        cur.execute("select max(kpi_date) from marts.fct_daily_kpis where tenant_id = %s", (tenant_id,))
        latest = cur.fetchone()[0] or datetime.now(UTC).date()
        end = latest if (latest + timedelta(days=1)).day == 1 else latest.replace(day=1) - timedelta(days=1)
        month = end.replace(day=1)
    return tenant_id, month.replace(day=1)


def bench_render(
    tenant_id: str | None = None,
    month: date | None = None,
    *,
    out_dir: Path | None = None,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
) -> dict[str, Any]:
    """Seconds to read and render the comprehensive report for one tenant and month, per step and in total."""
    started = time.perf_counter()
    with connection(warehouse_conn_id) as conn:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            tenant_id, month = _defaults(cur, tenant_id, month)
        period = Period("monthly", month, month_end(month))
        read_started = time.perf_counter()
        data = load_report_data(
            conn, COMPREHENSIVE, tenant_id, period, COMPREHENSIVE.resolve_parameters({}), generated_at=datetime.now(UTC)
        )
        read_seconds = time.perf_counter() - read_started
        conn.rollback()
    seconds: dict[str, float] = {"read": round(read_seconds, 3)}
    files: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="meridian-bench-render-") as tmp:
        folder = Path(out_dir) if out_dir else Path(tmp)
        for name in FORMATS:
            step_started = time.perf_counter()
            path = renderer(name)(data, folder)
            seconds[name] = round(time.perf_counter() - step_started, 3)
            files[path.name] = path.stat().st_size
        zipped = type(data)(**{**data.__dict__, "parameters": {**data.parameters, "csv_layout": "zip"}})
        step_started = time.perf_counter()
        path = renderer("csv")(zipped, folder)
        seconds["csv_zip"] = round(time.perf_counter() - step_started, 3)
        files[path.name] = path.stat().st_size
    total = round(time.perf_counter() - started, 3)
    available = sum(1 for section in data.sections if section.available)
    return {
        "report_type": COMPREHENSIVE.name,
        "tenant_id": tenant_id,
        "period": period.slug,
        "sections": len(data.sections),
        "sections_available": available,
        "seconds": seconds,
        "total_seconds": total,
        "bytes": files,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    tenant = args[0] if args else None
    month = date.fromisoformat(f"{args[1]}-01") if len(args) > 1 else None
    result = bench_render(tenant, month)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
