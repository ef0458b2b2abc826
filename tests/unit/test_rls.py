"""Row-level security per tenant (meridian.serve.rls, schema security, ``meridian bi``) on a real PostgreSQL.

A private server where, as in docker-compose, the pipeline is a non-superuser role with CREATEROLE
that owns the warehouse: it runs the bootstrap, builds small marts for two tenants by hand
(distinct, countable rows), and secures them. Then every tenant role is checked against every mart
(own rows all there, no other tenant's row), every other schema, and every kind of write; the
owner must still see every row although row-level security is forced. The marts the dbt project
builds are covered end to end in tests/e2e/test_bi_roles.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.errors
import pytest

from meridian.cli import main
from meridian.config import embedded_password, settings
from meridian.serve import rls
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

PIPELINE = "rls_pipeline"
TENANTS = {"alpha": "bi_alpha", "beta": "bi_beta"}
# rows per tenant of each mart: distinct counts, so a leak or a loss shows in the numbers
MARTS = {
    "dim_tenants": {"alpha": 1, "beta": 1},
    "fct_orders": {"alpha": 7, "beta": 11},
    "fct_visits": {"alpha": 3, "beta": 5},
}
OTHER_SCHEMAS = {
    "raw": "app__users",
    "staging": "stg_orders",
    "intermediate": "int_orders",
    "audit": "batches",
    "reporting": "scheduled_reports",
    "security": "tenant_roles",
    "history": "orders_history",
}
PASSWORD = "correct horse battery staple"
# the embedded server asks every TCP login for a password (scram-sha-256)
PIPELINE_PASSWORD = "pipeline role password"
STRANGER = "rls_stranger"
ROLE_PASSWORDS = {PIPELINE: PIPELINE_PASSWORD, STRANGER: "stranger role password"}


def _superuser_password(role: str) -> str | None:
    return embedded_password() if role == "postgres" else None


@contextmanager
def connect(role: str, password: str | None = None) -> Iterator[psycopg2.extensions.connection]:
    conn = psycopg2.connect(host="127.0.0.1", port=settings().pg_port, dbname="warehouse", user=role,
                            password=password or ROLE_PASSWORDS.get(role) or _superuser_password(role),
                            options="-c timezone=UTC")
    try:
        yield conn
    finally:
        conn.close()


def build_marts(conn) -> None:
    """The marts (two tenants), a mart without tenant_id, a view, and a table in every other schema."""
    with conn.cursor() as cur:
        cur.execute("create table marts.dim_tenants (tenant_id text primary key, tenant_name text)")
        cur.execute("insert into marts.dim_tenants values ('alpha', 'Alpha Ltd'), ('beta', 'Beta Inc')")
        for name in ("fct_orders", "fct_visits"):
            cur.execute(f"create table marts.{name} (tenant_id text not null, item integer not null, amount numeric)")
            for tenant, count in MARTS[name].items():
                cur.execute(f"insert into marts.{name} select %s, n, n * 10 from generate_series(1, %s) as n",
                            (tenant, count))
        cur.execute("create table marts.dim_calendar (calendar_date date primary key)")
        cur.execute("insert into marts.dim_calendar values ('2026-01-01')")
        cur.execute("create view marts.orders_view as select * from marts.fct_orders")
        cur.execute("create schema if not exists history")
        for schema, table in OTHER_SCHEMAS.items():
            cur.execute("select to_regclass(%s) is null", (f"{schema}.{table}",))
            if cur.fetchone()[0]:
                cur.execute(f"create table {schema}.{table} (tenant_id text)")
                cur.execute(f"insert into {schema}.{table} values ('alpha')")
    conn.commit()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-rls-test-") as base:
        with connect("postgres") as admin:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f"create role {PIPELINE} login createrole password %s", (PIPELINE_PASSWORD,))
                cur.execute(f"alter database warehouse owner to {PIPELINE}")
        with connect(PIPELINE) as conn:
            ensure_warehouse(conn)
            conn.commit()
            build_marts(conn)
            rls.apply_row_security(conn)
            for tenant, role in TENANTS.items():
                rls.ensure_tenant_role(conn, tenant, role, password=PASSWORD, kind="bi")
            conn.commit()
        yield base


@pytest.fixture
def pipeline(warehouse: Path) -> Iterator[psycopg2.extensions.connection]:
    with connect(PIPELINE) as conn:
        yield conn


def scalar(conn, sql: str, params: tuple = ()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def test_security_objects_are_what_the_interface_says(pipeline):
    columns = scalar(pipeline, """select string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', '
                                         order by ordinal_position)
                                  from information_schema.columns
                                  where table_schema = 'security' and table_name = 'tenant_roles'""")
    assert columns == ("role_name text NO, tenant_id text NO, kind text NO, "
                       "created_at timestamp with time zone NO")
    assert scalar(pipeline, "select nspowner::regrole::text from pg_namespace where nspname = 'security'") == PIPELINE
    assert scalar(pipeline, "select array[prosecdef::text, provolatile::text] from pg_proc "
                            "where oid = 'security.current_tenant_id()'::regprocedure") == ["true", "s"]
    assert scalar(pipeline, "select rolcanlogin from pg_roles where rolname = 'meridian_tenant_reader'") is False
    # the reader: USAGE on marts, EXECUTE on the function, nothing on any other schema
    assert scalar(pipeline, "select has_schema_privilege('meridian_tenant_reader', 'marts', 'usage')")
    assert scalar(pipeline, "select has_function_privilege('meridian_tenant_reader', "
                            "'security.current_tenant_id()', 'execute')")
    assert not scalar(pipeline, "select has_function_privilege('public', 'security.current_tenant_id()', 'execute')")
    for schema in OTHER_SCHEMAS:
        assert not scalar(pipeline, "select has_schema_privilege('meridian_tenant_reader', %s, 'usage')", (schema,))


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_every_tenant_mart_has_forced_rls_the_policy_and_the_grant(pipeline, mart):
    enabled, forced = scalar(pipeline, "select array[relrowsecurity, relforcerowsecurity] from pg_class "
                                       "where oid = %s::regclass", (f"marts.{mart}",))
    assert enabled and forced
    policies = dict(scalar(pipeline, """select array_agg(array[polname::text, pg_get_expr(polqual, polrelid)])
                                        from pg_policy where polrelid = %s::regclass""", (f"marts.{mart}",)))
    assert policies["tenant_isolation"] == "(tenant_id = ( SELECT security.current_tenant_id() AS current_tenant_id))"
    assert policies["pipeline_owner"] == "true"
    assert scalar(pipeline, "select has_table_privilege('meridian_tenant_reader', %s, 'select')", (f"marts.{mart}",))
    for privilege in ("insert", "update", "delete", "truncate", "references", "trigger"):
        assert not scalar(pipeline, "select has_table_privilege('meridian_tenant_reader', %s, %s)",
                          (f"marts.{mart}", privilege))


@pytest.mark.parametrize("relation", ["marts.dim_calendar", "marts.orders_view"])
def test_a_mart_that_cannot_be_isolated_is_not_granted(pipeline, relation):
    """No tenant_id column, or a view (policies do not apply through it): tenant roles get nothing."""
    assert not scalar(pipeline, "select has_table_privilege('meridian_tenant_reader', %s, 'select')", (relation,))


def test_apply_row_security_is_idempotent(pipeline):
    assert rls.apply_row_security(pipeline) == []


def test_the_owner_sees_every_row_although_rls_is_forced(pipeline):
    assert scalar(pipeline, "select rolsuper or rolbypassrls from pg_roles where rolname = current_user") is False
    for mart, counts in MARTS.items():
        assert scalar(pipeline, f"select count(*) from marts.{mart}") == sum(counts.values()), mart


def test_the_owner_still_writes_every_row_as_incremental_builds_do(pipeline):
    with pipeline.cursor() as cur:
        cur.execute("insert into marts.fct_orders values ('beta', 100, 1), ('gamma', 101, 1)")
        cur.execute("update marts.fct_orders set amount = amount + 1 where item >= 100")
        assert cur.rowcount == 2
        cur.execute("delete from marts.fct_orders where item >= 100")
        assert cur.rowcount == 2
    pipeline.commit()


@pytest.mark.parametrize("tenant", sorted(TENANTS))
@pytest.mark.parametrize("mart", sorted(MARTS))
def test_a_bi_role_sees_all_its_rows_and_none_of_another_tenant(warehouse, tenant, mart):
    with connect(TENANTS[tenant], PASSWORD) as conn:
        by_tenant = dict(scalar(conn, f"select coalesce(array_agg(array[tenant_id, n::text]), '{{}}') from "
                                      f"(select tenant_id, count(*) as n from marts.{mart} group by tenant_id) as c"))
    assert by_tenant == {tenant: str(MARTS[mart][tenant])}


def test_a_bi_role_gets_no_column_statistics_of_the_marts(pipeline):
    """pg_stats would show other tenants' most common values; it hides tables whose RLS binds the reader."""
    with pipeline.cursor() as cur:
        cur.execute("analyze marts.fct_orders")
    pipeline.commit()
    with connect("postgres") as admin:  # the statistics are there (the owner does not see them either: FORCE)
        assert scalar(admin, "select count(*) from pg_stats where schemaname = 'marts' and tablename = 'fct_orders'")
    with connect(TENANTS["alpha"], PASSWORD) as conn:
        assert scalar(conn, "select count(*) from pg_stats where schemaname = 'marts'") == 0


@pytest.mark.parametrize("schema", sorted(OTHER_SCHEMAS))
def test_a_bi_role_cannot_read_any_other_schema(warehouse, schema):
    with connect(TENANTS["alpha"], PASSWORD) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match=f"permission denied for schema {schema}"):
            cur.execute(f"select * from {schema}.{OTHER_SCHEMAS[schema]}")


@pytest.mark.parametrize("statement", [
    "insert into marts.fct_orders values ('alpha', 99, 1)",
    "update marts.fct_orders set amount = 0",
    "delete from marts.fct_orders",
    "truncate marts.fct_orders",
    "alter table marts.fct_orders disable row level security",
    "drop policy tenant_isolation on marts.fct_orders",
    "create table marts.mine (tenant_id text)",
    "select security.current_tenant_id()",
])
def test_a_bi_role_cannot_write_or_change_anything(warehouse, statement):
    with connect(TENANTS["alpha"], PASSWORD) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(statement)


@pytest.mark.parametrize("password, works", [(PASSWORD, True), ("wrong password", False)])
def test_the_bi_login_takes_its_password(warehouse, password, works):
    """The embedded server asks every TCP login for its password (scram-sha-256): the BI role's is the one set."""
    if works:
        with connect(TENANTS["beta"], password) as conn:
            assert scalar(conn, "select count(*) from marts.fct_orders") == MARTS["fct_orders"]["beta"]
    else:
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            with connect(TENANTS["beta"], password):
                pass


def test_a_role_with_select_but_no_tenant_sees_nothing(warehouse):
    """Policies fail closed: a role granted SELECT some other way, or a reader without a mapping, reads no row."""
    with connect(PIPELINE) as conn, conn.cursor() as cur:
        cur.execute(f"create role {STRANGER} login password %s", (ROLE_PASSWORDS[STRANGER],))
        cur.execute("grant usage on schema marts to rls_stranger")
        cur.execute("grant select on marts.fct_orders to rls_stranger")
        cur.execute("grant meridian_tenant_reader to rls_stranger")
        conn.commit()
    try:
        with connect("rls_stranger") as conn:
            assert scalar(conn, "select count(*) from marts.fct_orders") == 0
    finally:
        with connect(PIPELINE) as conn, conn.cursor() as cur:
            cur.execute("revoke select on marts.fct_orders from rls_stranger")
            cur.execute("revoke usage on schema marts from rls_stranger")
            cur.execute("drop role rls_stranger")
            conn.commit()


def test_a_rebuilt_mart_is_secured_again_by_apply(pipeline):
    """What a full refresh does: the table is replaced, losing policies and grants, until apply runs."""
    with pipeline.cursor() as cur:
        cur.execute("create table marts.fct_visits_new (like marts.fct_visits)")
        cur.execute("insert into marts.fct_visits_new select * from marts.fct_visits")
        cur.execute("drop table marts.fct_visits")
        cur.execute("alter table marts.fct_visits_new rename to fct_visits")
    pipeline.commit()
    with connect(TENANTS["alpha"], PASSWORD) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("select count(*) from marts.fct_visits")
    assert rls.apply_row_security(pipeline) == ["fct_visits"]
    pipeline.commit()
    with connect(TENANTS["alpha"], PASSWORD) as conn:
        assert scalar(conn, "select count(*) from marts.fct_visits") == MARTS["fct_visits"]["alpha"]
        assert scalar(conn, "select count(*) from marts.fct_visits where tenant_id <> 'alpha'") == 0


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_tenant_scope_runs_every_query_under_the_tenant_api_role(pipeline, tenant):
    pipeline.autocommit = True
    with rls.tenant_scope(pipeline, tenant) as cur:
        cur.execute("select current_user")
        assert cur.fetchone()[0] == rls.api_role_name(tenant)
        cur.execute("select tenant_id, count(*) from marts.fct_orders group by tenant_id")
        assert cur.fetchall() == [(tenant, MARTS["fct_orders"][tenant])]
        with pipeline.cursor() as other:  # any cursor of the connection is scoped alike
            other.execute("select count(*) from marts.fct_visits where tenant_id <> %s", (tenant,))
            assert other.fetchone()[0] == 0
    assert pipeline.autocommit is True
    assert scalar(pipeline, "select current_user") == PIPELINE
    assert scalar(pipeline, "select count(*) from marts.fct_orders") == sum(MARTS["fct_orders"].values())
    role = rls.api_role_name(tenant)
    assert scalar(pipeline, "select (rolcanlogin, pg_has_role(%s, %s, 'set'), pg_has_role(%s, %s, 'usage')) "
                            "from pg_roles where rolname = %s", (PIPELINE, role, PIPELINE, role, role)) == "(f,t,f)"
    assert [row for row in rls.list_tenant_roles(pipeline) if row["role_name"] == role][0]["kind"] == "api"


def test_tenant_scope_ends_with_its_block_on_an_error_too(pipeline):
    with pytest.raises(psycopg2.errors.DivisionByZero):
        with rls.tenant_scope(pipeline, "alpha") as cur:
            cur.execute("select 1 / 0 from marts.fct_orders")
    assert scalar(pipeline, "select current_user") == PIPELINE
    pipeline.rollback()
    with pytest.raises(ZeroDivisionError):
        with rls.tenant_scope(pipeline, "alpha"):
            raise ZeroDivisionError
    assert scalar(pipeline, "select current_user") == PIPELINE


def test_tenant_scope_refuses_a_connection_inside_a_transaction(pipeline):
    scalar(pipeline, "select 1")
    with pytest.raises(RuntimeError, match="outside a transaction"):
        with rls.tenant_scope(pipeline, "alpha"):
            pass


def test_tenant_scope_works_on_a_psycopg3_connection(warehouse):
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=settings().pg_port, dbname="warehouse", user=PIPELINE,
                         password=PIPELINE_PASSWORD) as conn:
        with rls.tenant_scope(conn, "beta") as cur:
            cur.execute("select tenant_id, count(*) from marts.fct_visits group by tenant_id")
            assert cur.fetchall() == [("beta", MARTS["fct_visits"]["beta"])]


@pytest.mark.parametrize("role_name, kind, password, message", [
    (PIPELINE, "bi", PASSWORD, "already exists and is not a Meridian tenant role"),
    ("postgres", "bi", PASSWORD, "already exists and is not a Meridian tenant role"),
    ("Bad-Name", "bi", PASSWORD, "is not allowed"),
    ("pg_monitor2", "bi", PASSWORD, "is not allowed"),
    ("bi_alpha", "api", None, "is of kind bi \\(tenant 'alpha'\\); it cannot become kind api"),
    ("bi_new", "report", PASSWORD, "kind 'report' is not one of bi, api"),
    ("api_new", "api", PASSWORD, "cannot log in"),
    ("bi_new", "bi", "", "password for role 'bi_new' is empty"),
])
def test_ensure_tenant_role_refuses(pipeline, role_name, kind, password, message):
    with pytest.raises(rls.TenantRoleError, match=message):
        rls.ensure_tenant_role(pipeline, "alpha", role_name, password=password, kind=kind)
    pipeline.rollback()


@pytest.mark.parametrize("grant, member, message", [
    ("pg_read_all_data", "bi_alpha", "tenant role 'bi_alpha' is also a member of pg_read_all_data, which could"),
    ("pg_monitor", "meridian_tenant_reader", "group role meridian_tenant_reader is a member of pg_monitor, "
                                             "pg_read_all_settings, pg_read_all_stats, pg_stat_scan_tables: every"),
])
def test_ensure_tenant_role_refuses_a_role_with_more_privileges(warehouse, grant, member, message):
    with connect("postgres") as admin:
        admin.autocommit = True
        scalar(admin, f"grant {grant} to {member}; select 1")
        try:
            with connect(PIPELINE) as conn:
                with pytest.raises(rls.TenantRoleError, match=message):
                    rls.ensure_tenant_role(conn, "alpha", "bi_alpha", password=PASSWORD, kind="bi")
        finally:
            scalar(admin, f"revoke {grant} from {member}; select 1")


def test_drop_tenant_role_drops_role_and_mapping(pipeline):
    rls.ensure_tenant_role(pipeline, "beta", "bi_short_lived", password=None, kind="bi")
    pipeline.commit()
    assert scalar(pipeline, "select rolcanlogin from pg_roles where rolname = 'bi_short_lived'") is False
    rls.drop_tenant_role(pipeline, "bi_short_lived")
    pipeline.commit()
    assert scalar(pipeline, "select count(*) from pg_roles where rolname = 'bi_short_lived'") == 0
    assert "bi_short_lived" not in {row["role_name"] for row in rls.list_tenant_roles(pipeline)}
    with pytest.raises(rls.TenantRoleError, match="no tenant role named 'bi_short_lived'"):
        rls.drop_tenant_role(pipeline, "bi_short_lived")
    pipeline.rollback()
    with pytest.raises(rls.TenantRoleError, match="is not a Meridian tenant role"):
        rls.drop_tenant_role(pipeline, PIPELINE)


@pytest.fixture
def cli_env(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://{PIPELINE}:{quote(PIPELINE_PASSWORD)}@127.0.0.1:{settings().pg_port}/warehouse")
    monkeypatch.delenv("MERIDIAN_BI_PASSWORD", raising=False)


@pytest.mark.parametrize("argv, password, message", [
    (["bi", "grant", "alpha", "bi_cli"], None,
     "meridian bi grant: set the environment variable MERIDIAN_BI_PASSWORD to the password for role 'bi_cli' "
     "(it is never taken from the command line)\n"),
    (["bi", "grant", "gamma", "bi_cli"], PASSWORD,
     "meridian bi grant: unknown tenant 'gamma': not an organization in the warehouse "
     "(marts.dim_tenants has: alpha, beta)\n"),
    (["bi", "grant", "alpha", PIPELINE], PASSWORD,
     f"meridian bi grant: role '{PIPELINE}' already exists and is not a Meridian tenant role"),
    (["bi", "revoke", "bi_nobody"], None, "meridian bi revoke: there is no tenant role named 'bi_nobody'\n"),
])
def test_bi_cli_errors_exit_2_with_one_line(cli_env, capsys, monkeypatch, argv, password, message):
    if password:
        monkeypatch.setenv("MERIDIAN_BI_PASSWORD", password)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


def test_bi_cli_grant_list_revoke(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MERIDIAN_BI_PASSWORD", PASSWORD)
    assert main(["bi", "grant", "beta", "bi_cli"]) == 0
    assert capsys.readouterr().out.startswith("created login role bi_cli for tenant beta")
    assert main(["bi", "grant", "beta", "bi_cli"]) == 0  # again: updates the password, nothing else
    assert capsys.readouterr().out.startswith("updated login role bi_cli for tenant beta")
    with connect("bi_cli", PASSWORD) as conn:
        assert scalar(conn, "select count(*) from marts.fct_orders") == MARTS["fct_orders"]["beta"]
    assert main(["bi", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["role", "tenant", "kind", "login", "created"]
    assert [line.split()[:4] for line in listed[1:]] == [
        ["bi_alpha", "alpha", "bi", "yes"], ["bi_beta", "beta", "bi", "yes"], ["bi_cli", "beta", "bi", "yes"]]
    assert main(["bi", "revoke", "bi_cli"]) == 0
    assert capsys.readouterr().out == "dropped role bi_cli\n"
    # with password authentication the server does not say whether a role exists: ask the catalog
    with connect("postgres") as admin:
        assert scalar(admin, "select count(*) from pg_roles where rolname = 'bi_cli'") == 0
    with pytest.raises(psycopg2.OperationalError, match='password authentication failed for user "bi_cli"'):
        with connect("bi_cli", PASSWORD):
            pass


MINI_MODELS = {
    # a table mart reading another mart: the owner must see every row under FORCE; rebuilt whole every run
    "fct_mini_orders.sql": "select tenant_id, count(*)::int as orders from marts.fct_orders group by tenant_id",
    # an incremental mart: the second run deletes and inserts rows as the owner, under FORCE
    "fct_mini_items.sql": """
{{ config(materialized='incremental', unique_key=['tenant_id', 'item'], incremental_strategy='delete+insert') }}
select tenant_id, item, amount from marts.fct_orders
{% if is_incremental() %} where item > 5 {% endif %}
""",
}


def mini_project(root: Path) -> Path:
    """A dbt project with the real project's row-security hooks and macros, and two marts."""
    import shutil

    import yaml

    real = settings().dbt_project_dir
    config = yaml.safe_load((real / "dbt_project.yml").read_text())
    marts = config["models"]["meridian"]["marts"]
    project = {
        "name": "rls_mini", "version": "1.0.0", "config-version": 2, "profile": "rls_mini",
        "macro-paths": ["macros"], "model-paths": ["models"],
        "on-run-end": config["on-run-end"],
        "models": {"rls_mini": {"marts": {key: marts[key] for key in ("+schema", "+materialized", "+post-hook")}}},
    }
    (root / "macros").mkdir(parents=True)
    for macro in ("security/secure_mart.sql", "security/mart_indexes.sql", "security/apply_row_security.sql",
                  "adapter/generate_schema_name.sql"):
        shutil.copy(real / "macros" / macro, root / "macros" / Path(macro).name)
    (root / "models" / "marts").mkdir(parents=True)
    for name, sql in MINI_MODELS.items():
        (root / "models" / "marts" / name).write_text(sql)
    (root / "dbt_project.yml").write_text(yaml.safe_dump(project))
    (root / "profiles.yml").write_text(yaml.safe_dump({"rls_mini": {"target": "dev", "outputs": {"dev": {
        "type": "postgres", "host": "127.0.0.1", "port": settings().pg_port, "user": PIPELINE, "password": PIPELINE_PASSWORD,
        "dbname": "warehouse", "schema": "public", "threads": 1}}}}))
    return root


def test_dbt_builds_as_the_pipeline_role_keep_every_mart_secured(pipeline, tmp_path):
    """The project's hooks on a non-superuser owner: a first build, then a second (table rebuilt, incremental)."""
    from dbt.cli.main import dbtRunner

    project = mini_project(tmp_path / "project")
    args = ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs")]
    pipeline.autocommit = True  # each lookup in a transaction of its own: a fresh view of the catalog
    oids = []
    for _ in range(2):
        assert dbtRunner().invoke(["build", *args]).success
        oids.append({name: scalar(pipeline, "select %s::regclass::oid::bigint", (f"marts.{name}",))
                     for name in ("fct_mini_orders", "fct_mini_items")})
        for name in ("fct_mini_orders", "fct_mini_items"):
            assert scalar(pipeline, "select array[relrowsecurity, relforcerowsecurity, has_table_privilege("
                                    "'meridian_tenant_reader', oid, 'select')] from pg_class where oid = %s::regclass",
                                    (f"marts.{name}",)) == [True, True, True], name
        for tenant, role in TENANTS.items():
            with connect(role, PASSWORD) as conn:
                assert scalar(conn, "select array_agg(array[tenant_id, orders::text]) from marts.fct_mini_orders") \
                    == [[tenant, str(MARTS["fct_orders"][tenant])]]
                assert scalar(conn, "select array_agg(distinct tenant_id) || count(*)::text "
                                    "from marts.fct_mini_items") == [tenant, str(MARTS["fct_orders"][tenant])]
    assert oids[1]["fct_mini_orders"] != oids[0]["fct_mini_orders"]  # rebuilt: secured again by the post-hook
    assert oids[1]["fct_mini_items"] == oids[0]["fct_mini_items"]  # incremental: written as the owner under FORCE
