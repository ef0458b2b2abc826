"""The reads that /kpis and /analytics share: a day's KPIs, the KPI trends, a funnel's steps.

Each comes as the queries to batch (``*_queries``, run in one statement with the endpoint's others by
meridian.serve.api.batch) and the function that shapes their rows (``*_of``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from meridian.serve.api.batch import Query, first
from meridian.serve.api.endpoint import Context, money, num, pct, ratio_pct
from meridian.serve.api.errors import bad_parameter


def distinct_values(mart: str, column: str) -> Query:
    """The distinct non-null values of ``column`` in the tenant's rows of ``mart`` (column ``value``), in order, as
    ``select distinct ... order by 1`` gives them, by a loose index scan of an index leading with (tenant_id,
    ``column``): one index probe per value instead of a read of the tenant's whole history."""
    return Query(
        f"with recursive found as ("
        f"(select {column} as value from marts.{mart} where tenant_id = %(tenant)s and {column} is not null "
        f"order by {column} limit 1) "
        f"union all select (select later.{column} from marts.{mart} as later where later.tenant_id = %(tenant)s "
        f"and later.{column} > found.value order by later.{column} limit 1) from found where found.value is not null"
        f") select value from found where value is not null")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def as_of_instant(ctx: Context) -> datetime:
    run = ctx.extra.get("run")
    label = getattr(run, "as_of_label", "") or ""
    if "T" in label:
        return datetime.fromisoformat(label).astimezone(UTC)
    return datetime.combine(ctx.as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def day_kpi_queries(name: str, day: date) -> dict[str, Query]:
    """The queries of :func:`day_kpis_of` for ``day``, named ``{name}_kpis`` and ``{name}_payments``."""
    return {
        f"{name}_kpis": Query("select * from marts.fct_daily_kpis where tenant_id = %(tenant)s "
                              "and kpi_date = %(day)s", {"day": day}),
        f"{name}_payments": Query("select sum(succeeded) as succeeded, sum(failed) as failed "
                                  "from marts.fct_payments_daily where tenant_id = %(tenant)s "
                                  "and payment_date = %(day)s", {"day": day}),
    }


def day_kpis_of(found: dict[str, list[dict]], name: str, day: date) -> dict[str, Any] | None:
    """The KPIs of ``day`` from the rows of :func:`day_kpi_queries` ``name``."""
    row = first(found[f"{name}_kpis"])
    if not row:
        return None
    payments = first(found[f"{name}_payments"])
    mrr = row["mrr"] or 0
    return {
        "date": day.isoformat(),
        "active_users": row["active_users"],
        "new_users": row["new_users"],
        "sessions": row["sessions"],
        "avg_session_seconds": num(row["avg_session_seconds"]),
        "matches": row["matches"],
        "messages": row["messages"],
        "gross_revenue": money(row["gross_revenue"]),
        "refunds": money(row["refunds"]),
        "net_revenue": money(row["net_revenue"]),
        "mrr": money(mrr),
        "arr": money(mrr * 12),
        "paying_users": row["paying_users"],
        "arpu": round(float(mrr) / row["paying_users"], 2) if row["paying_users"] else None,
        "wau": row["wau"],
        "mau": row["mau"],
        "stickiness_rate": pct(row["stickiness_rate"]),
        "conversion_rate": pct(row["paid_conversion_30d_rate"]),
        "retention_d1_rate": pct(row["retention_d1_rate"]),
        "retention_d7_rate": pct(row["retention_d7_rate"]),
        "retention_d30_rate": pct(row["retention_d30_rate"]),
        "payment_success_rate": ratio_pct(payments.get("succeeded"),
                                          (payments.get("succeeded") or 0) + (payments.get("failed") or 0)),
    }


TRENDS = Query("select * from marts.fct_kpi_trends where tenant_id = %(tenant)s and as_of_date = %(as_of)s "
               "order by metric, comparison")


def trends_of(rows: list[dict]) -> dict[str, dict]:
    changes: dict[str, dict] = {}
    for row in rows:
        rate = row["metric"].endswith("_rate")
        value = pct if rate else num
        changes.setdefault(row["metric"], {})[row["comparison"]] = {
            "current": value(row["current_value"]),
            "previous": value(row["previous_value"]),
            "change": value(row["change"]),
            "change_percent": num(row["change_percent"]),
            "direction": row["direction"],
        }
    return changes


def funnel_queries(funnel: str, start: date, end: date) -> dict[str, Query]:
    """The queries of :func:`funnel_steps_of`: the tenant's funnels and the steps of ``funnel`` in the range."""
    return {"funnels": distinct_values("fct_funnel_steps", "funnel_name"), "funnel_steps": Query(
        "select step_number, step_name, sum(entities_reached) as reached, "
        "sum(avg_seconds_from_previous * entities_reached) / nullif(sum(entities_reached) filter "
        "(where avg_seconds_from_previous is not null), 0) as avg_seconds, "
        "sum(median_seconds_from_previous * entities_reached) / nullif(sum(entities_reached) filter "
        "(where median_seconds_from_previous is not null), 0) as typical_seconds "
        "from marts.fct_funnel_steps where tenant_id = %(tenant)s and funnel_name = %(funnel)s "
        "and cohort_week between %(first)s and %(end)s group by step_number, step_name order by step_number",
        {"funnel": funnel, "first": monday(start), "end": end})}


def funnel_steps_of(found: dict[str, list[dict]], funnel: str) -> list[dict]:
    known = [row["value"] for row in found["funnels"]]
    if funnel not in known:
        raise bad_parameter("funnel", f"funnel={funnel!r} is not a funnel of this tenant; known: "
                            f"{', '.join(known) or 'none'}")
    rows = found["funnel_steps"]
    steps = []
    first = rows[0]["reached"] if rows else 0
    for index, row in enumerate(rows):
        previous = rows[index - 1]["reached"] if index else None
        following = rows[index + 1]["reached"] if index + 1 < len(rows) else None
        steps.append({
            "step": row["step_number"],
            "name": row["step_name"],
            "users": row["reached"],
            "converted": following,
            "conversion_rate": ratio_pct(row["reached"], previous) if index else 100.0 if row["reached"] else None,
            "conversion_from_start_rate": ratio_pct(row["reached"], first),
            "drop_off": previous - row["reached"] if previous is not None else 0,
            "avg_seconds_to_convert": round(float(row["avg_seconds"]), 2) if row["avg_seconds"] is not None else None,
            "median_seconds_to_convert": round(float(row["typical_seconds"]), 2)
            if row["typical_seconds"] is not None else None,
        })
    return steps
