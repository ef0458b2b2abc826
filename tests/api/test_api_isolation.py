"""A tenant's key never returns another tenant's ids, names or numbers, on any endpoint.

Two checks over every GET endpoint, each with its default and with wide parameters:
- no text value that only the other tenant has in the marts (ids, names, plan ids, session keys, ...)
  appears anywhere in the response;
- the response is exactly the same after every row of the other tenant is deleted from the marts
  (so none of its numbers went into any figure); the rows are put back afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from meridian import db
from meridian.serve.api.routes import ENDPOINTS
from tests.api.conftest import auth
from tests.api.test_api_contract import new_transform_run

WIDE = {
    "from": "from=2026-01-01&to=2026-10-31",
    "timeframe": "timeframe=12m",
    "period": "period=month",
    "days": "days=365",
    "granularity": "granularity=weekly&range=12w",
    "cohortCount": "cohortCount=24&period=monthly",
    "month": "month=2026-09",
    "groupBy": "groupBy=country&from=2026-01-01&to=2026-10-31",
}


def requests() -> list[str]:
    found = []
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET" or "{" in endpoint.path:
            continue
        found.append(f"/api/v1{endpoint.path}")
        names = {param.name for param in endpoint.params if param.name != "period" or "month" in param.choices}
        for name, query in WIDE.items():
            if name in names:
                found.append(f"/api/v1{endpoint.path}?{query if 'to' in names or name != 'from' else 'from=2026-01-01'}")
    found += ["/api/v1/kpis/active-users?granularity=hourly&range=168h",
              "/api/v1/kpis/active-users?granularity=monthly&range=12m",
              "/api/v1/kpis/active-users?granularity=quarterly&range=4q",
              "/api/v1/payments/transactions?from=2026-01-01&to=2026-10-31&limit=1000",
              "/api/v1/payments/reports/monthly?month=2026-10&format=html"]
    return found


REQUESTS = requests()


def tenant_marts(cur) -> list[str]:
    cur.execute("select table_name from information_schema.columns where table_schema = 'marts' "
                "and column_name = 'tenant_id' order by 1")
    return [row[0] for row in cur.fetchall()]


def own_text_values(tenant: str, other: str) -> set[str]:
    """Recognisable text values (ids, names) of ``tenant``'s mart rows that ``other`` never has."""
    values: dict[str, set[str]] = {tenant: set(), other: set()}
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for table in tenant_marts(cur):
            cur.execute("select column_name from information_schema.columns where table_schema = 'marts' "
                        "and table_name = %s and data_type = 'text'", (table,))
            for (column,) in cur.fetchall():
                cur.execute(f'select distinct tenant_id, "{column}" from marts."{table}" where "{column}" is not null')
                for owner, value in cur.fetchall():
                    if owner in values:
                        values[owner].add(value)
    # ids carry digits, names capitals or spaces; lower-case words are shared vocabulary (statuses, movements)
    return {value for value in values[tenant] - values[other]
            if len(value) >= 5 and (re.search(r"[0-9A-Z ]", value) or tenant in value)} | {tenant}


def bodies(client, key: str) -> dict[str, str]:
    out = {}
    for path in REQUESTS:
        response = client.get(path, headers=auth(key))
        assert response.status_code == 200, (path, response.text)
        if response.headers["content-type"].startswith("application/json"):
            body = response.json()
            out[path] = json.dumps(body["data"], sort_keys=True)
        else:
            out[path] = "\n".join(line for line in response.text.splitlines() if "generated" not in line.lower())
    return out


@pytest.fixture(scope="module")
def answers(client, api_world) -> dict[str, dict[str, str]]:
    return {tenant: bodies(client, key) for tenant, key in api_world["keys"].items()}


@pytest.mark.parametrize(("tenant", "other"), [("acme", "globex"), ("globex", "acme")])
def test_no_response_names_another_tenants_ids_or_names(answers, tenant, other):
    foreign = own_text_values(other, tenant)
    assert len(foreign) > 100  # user ids, payment ids, plan ids, names: plenty to find
    leaks = [(path, value) for path, text in answers[tenant].items() for value in foreign if value in text]
    assert not leaks[:10]


@pytest.fixture()
def without_tenant(api_world) -> Iterator[callable]:
    """Delete a tenant's rows from every mart (as the owner), then put them back."""
    saved: list[str] = []

    def remove(tenant: str) -> None:
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            for table in tenant_marts(cur):
                cur.execute(f'create table public."saved_{table}" as select * from marts."{table}" where tenant_id = %s',
                            (tenant,))
                cur.execute(f'delete from marts."{table}" where tenant_id = %s', (tenant,))
                saved.append(table)
        new_transform_run(api_world["as_of"])

    yield remove
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for table in saved:
            cur.execute(f'insert into marts."{table}" select * from public."saved_{table}"')
            cur.execute(f'drop table public."saved_{table}"')
    new_transform_run(api_world["as_of"])


@pytest.mark.parametrize(("tenant", "other"), [("acme", "globex"), ("globex", "acme")])
def test_responses_do_not_change_when_the_other_tenant_is_gone(client, api_world, answers, without_tenant,
                                                              tenant, other):
    without_tenant(other)
    alone = bodies(client, api_world["keys"][tenant])
    changed = [path for path in REQUESTS if alone[path] != answers[tenant][path]]
    assert not changed
    # the check can fail: the other tenant's own answers did change
    gone = client.get("/api/v1/payments/metrics?days=365", headers=auth(api_world["keys"][other])).json()["data"]
    assert gone["attempts"] == 0
