"""Per-tenant BI roles on the marts the project builds: isolation, no other schema, no writes, after rebuilds.

Runs on the ``pipeline`` fixture's warehouse (two tenants; its last transform run is a full refresh)
with a BI role per tenant from ``meridian bi grant``. Every check runs twice: on the pipeline's
marts, then after a further ``dbt build --full-refresh`` of the marts, which recreates every mart
table (and with it drops any policy and grant the old table had). The marts are every model under
models/marts of the parsed project (its manifest), so a new mart is checked without editing this
file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing

import psycopg2
import psycopg2.errors
import pytest

from meridian import db
from meridian.airflow_env import run_dbt
from meridian.cli import main
from meridian.config import settings

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-bi-password"
# schemas a tenant role must not read (and that the pipeline creates; any other non-marts schema is checked too)
FORBIDDEN = {"raw", "staging", "intermediate", "audit", "reporting", "security", "snapshots"}


def project_marts() -> list[str]:
    """Every model under models/marts of the parsed project (the fixture parses it before the DAG runs)."""
    manifest = json.loads((settings().dbt_project_dir / "target" / "manifest.json").read_text())
    marts = [node["alias"] or node["name"] for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")]
    assert len(marts) >= 27, marts
    return sorted(marts)


def as_role(role: str) -> psycopg2.extensions.connection:
    # the embedded server asks every TCP login for its password (tests/unit/test_rls.py, test_embedded_auth.py)
    return psycopg2.connect(host="127.0.0.1", port=settings().pg_port, dbname="warehouse", user=role,
                            password=PASSWORD)


def relation_ids(marts: list[str]) -> dict[str, int]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select relname, oid::bigint from pg_class where relnamespace = 'marts'::regnamespace "
                    "and relname = any(%s)", (marts,))
        return dict(cur.fetchall())


@pytest.fixture(scope="module")
def bi_roles(pipeline) -> Iterator[dict[str, str]]:
    """A BI login per tenant, granted through the command line."""
    roles = {tenant: f"bi_e2e_{index}" for index, tenant in enumerate(pipeline["summary"].tenants)}
    assert len(roles) == 2
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MERIDIAN_BI_PASSWORD", PASSWORD)
        for tenant, role in roles.items():
            assert main(["bi", "grant", tenant, role]) == 0
    yield roles
    for role in roles.values():
        assert main(["bi", "revoke", role]) == 0


@pytest.fixture(scope="module", params=["after the pipeline", "after dbt build --full-refresh of the marts"])
def marts(request, pipeline, bi_roles) -> list[str]:
    names = project_marts()
    if request.param.startswith("after dbt build"):
        before = relation_ids(names)
        result = run_dbt(["build", "--full-refresh", "--select", "marts", "--exclude-resource-type", "test",
                          "--exclude-resource-type", "unit_test", "--vars", f"{{as_of_date: '{pipeline['as_of']}'}}"],
                         env=pipeline["env"], check=False)
        assert result.returncode == 0, "dbt build --full-refresh of the marts failed; see the output above"
        after = relation_ids(names)
        assert sorted(after) == names
        recreated = [name for name in names if after[name] != before[name]]
        assert recreated == names, f"not recreated by the full refresh: {sorted(set(names) - set(recreated))}"
    return names


def test_every_mart_has_forced_rls_the_policy_and_the_grant(marts):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """
            select class.relname, class.relrowsecurity, class.relforcerowsecurity,
                exists (select from pg_attribute where attrelid = class.oid and attname = 'tenant_id'),
                (select pg_get_expr(polqual, polrelid) from pg_policy
                 where polrelid = class.oid and polname = 'tenant_isolation'),
                has_table_privilege('meridian_tenant_reader', class.oid, 'select')
            from pg_class as class
            where class.relnamespace = 'marts'::regnamespace and class.relname = any(%s)
            """,
            (marts,),
        )
        found = {row[0]: row[1:] for row in cur.fetchall()}
    expected = (True, True, True, "(tenant_id = ( SELECT security.current_tenant_id() AS current_tenant_id))", True)
    lacking = {mart: found.get(mart) for mart in marts if found.get(mart) != expected}
    assert not lacking, f"(rls enabled, forced, has tenant_id, tenant_isolation USING, reader SELECT): {lacking}"


def test_each_role_sees_all_its_rows_and_none_of_the_other_tenant(marts, bi_roles):
    truth: dict[str, dict[str, int]] = {}
    with db.connection("warehouse") as conn, conn.cursor() as cur:  # the superuser: every row
        for mart in marts:
            cur.execute(f"select tenant_id, count(*) from marts.{mart} group by tenant_id")
            truth[mart] = dict(cur.fetchall())
    assert all(truth[mart] for mart in marts), [mart for mart in marts if not truth[mart]]
    assert sum(len(counts) == 2 for counts in truth.values()) >= 20, truth  # both tenants present almost everywhere
    wrong = []
    for tenant, role in bi_roles.items():
        with closing(as_role(role)) as conn, conn.cursor() as cur:
            for mart in marts:
                cur.execute(f"select tenant_id, count(*) from marts.{mart} group by tenant_id")
                seen = dict(cur.fetchall())
                own = {tenant: truth[mart][tenant]} if tenant in truth[mart] else {}
                if seen != own:
                    wrong.append(f"{role} on {mart}: sees {seen}, should see {own}")
    assert not wrong, wrong


def test_no_role_reads_another_schema(marts, bi_roles):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """
            select distinct on (table_schema) table_schema, table_name
            from information_schema.tables
            where table_schema not in ('marts', 'pg_catalog', 'information_schema', 'public')
                and table_schema not like 'pg\\_%'
            order by table_schema, table_name
            """
        )
        tables = dict(cur.fetchall())
    assert FORBIDDEN <= set(tables), sorted(tables)
    readable = []
    for role in bi_roles.values():
        with closing(as_role(role)) as conn:
            conn.autocommit = True
            for schema, table in tables.items():
                with conn.cursor() as cur:
                    try:
                        cur.execute(f'select 1 from {schema}."{table}" limit 1')
                        readable.append(f"{role} reads {schema}.{table}")
                    except psycopg2.errors.InsufficientPrivilege as exc:
                        if f"permission denied for schema {schema}" not in str(exc):
                            readable.append(f"{role} on {schema}.{table}: {exc}")
    assert not readable, readable


def test_no_role_writes_a_mart(marts, bi_roles):
    statements = (
        "insert into marts.{mart} select * from marts.{mart} limit 1",
        "update marts.{mart} set tenant_id = tenant_id",
        "delete from marts.{mart}",
        "truncate marts.{mart}",
    )
    written = []
    for role in bi_roles.values():
        with closing(as_role(role)) as conn:
            conn.autocommit = True
            for mart in marts:
                for statement in statements:
                    with conn.cursor() as cur:
                        try:
                            cur.execute(statement.format(mart=mart))
                            written.append(f"{role}: {statement.format(mart=mart)}")
                        except psycopg2.errors.InsufficientPrivilege:
                            pass
    assert not written, written
