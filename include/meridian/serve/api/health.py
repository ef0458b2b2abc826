"""``/health``: the warehouse reachable, the last successful run per DAG and its freshness, cache stats.

No key is needed; it reveals no tenant's data. 503 when the warehouse is
unreachable, no transform has succeeded, or the last one ended longer ago than
``MERIDIAN_API_FRESHNESS_HOURS``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2

from meridian.serve.api.errors import ApiError

RUNS_SQL = """
select to_jsonb(run) as run from audit.transform_runs as run
where run.status = 'success' order by run.ended_at desc nulls last limit 1
"""
DAGS_SQL = """
select dag_id, max(ended_at) as last_success_at from audit.pipeline_runs
where state = 'success' group by dag_id order by dag_id
"""


def health_answer(service, client: str) -> tuple[int, dict]:
    service.limiter.check(f"client:{client}", "health")
    now = datetime.now(UTC)
    limit_hours = service.settings.freshness_hours
    data: dict = {"warehouse": "unreachable", "cache": service.cache.describe(), "freshness_limit_hours": limit_hours}
    try:
        with service.pool.connection() as conn, conn.cursor() as cur:
            cur.execute("select to_regclass('audit.transform_runs'), to_regclass('audit.pipeline_runs')")
            has_runs, has_dags = cur.fetchone()
            data["warehouse"] = "ok"
            run = None
            if has_runs:
                cur.execute(RUNS_SQL)
                found = cur.fetchone()
                run = found[0] if found else None
            dags = []
            if has_dags:
                cur.execute(DAGS_SQL)
                for dag_id, last in cur.fetchall():
                    dags.append({"dag_id": dag_id, "last_success_at": last.isoformat() if last else None,
                                 "age_hours": round((now - last).total_seconds() / 3600, 2) if last else None})
            data["dags"] = dags
    except ApiError as error:
        data["error"] = error.message
        return 503, data
    except psycopg2.Error as exc:
        data["error"] = str(exc).strip()
        return 503, data
    if run is None:
        data.update(status="no transform run has succeeded yet", last_transform=None, as_of=None)
        return 503, data
    ended = datetime.fromisoformat(run["ended_at"]) if run.get("ended_at") else None
    age = round((now - ended).total_seconds() / 3600, 2) if ended else None
    data["last_transform"] = {"invocation_id": run.get("invocation_id"), "ended_at": run.get("ended_at"),
                              "as_of_date": run.get("as_of_date"), "as_of_at": run.get("as_of_at"),
                              "full_refresh": run.get("full_refresh"), "age_hours": age}
    data["as_of"] = run.get("as_of_at") or run.get("as_of_date")
    stale = age is None or age > limit_hours
    data["status"] = f"stale: the last transform ended {age} h ago (limit {limit_hours} h)" if stale else "ok"
    return (503 if stale else 200), data
