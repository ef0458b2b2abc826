"""The fixed cost of a run: the steps that do no pipeline work when nothing they serve changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meridian.transform.one_process import runs_in_one_process, warm_in_process_api
from tests.conftest import private_warehouse


@pytest.fixture(scope="module")
def own_warehouse(test_env: dict[str, str]) -> Iterator[None]:
    """A warehouse of this module's own: its tests drop tables and schemas."""
    with private_warehouse("meridian-fixed-cost-test-"):
        yield


def test_runs_in_one_process_only_under_airflow_dags_test():
    assert runs_in_one_process(["/venv/bin/airflow", "dags", "test", "transform_warehouse", "2026-10-30"])
    assert not runs_in_one_process(["/venv/bin/airflow", "dag-processor"])
    assert not runs_in_one_process(["/venv/bin/airflow", "tasks", "test", "transform_warehouse"])
    assert not runs_in_one_process(["/venv/bin/pytest", "dags", "test"])


def test_the_in_process_api_is_built_before_the_run_only_under_dags_test(monkeypatch):
    """Under `airflow dags test` the API the tasks will use is built while the DAG file is parsed."""
    import airflow.sdk.execution_time.supervisor as supervisor

    touched: list[str] = []

    class FakeApi:
        @property
        def app(self):
            touched.append("app")

        @property
        def transport(self):
            touched.append("transport")

    class FakeClient:
        def get(self, path):
            touched.append(path.split("/")[0])

    api = FakeApi()
    monkeypatch.setattr(supervisor, "in_process_api_server", lambda: api)
    monkeypatch.setattr(supervisor.InProcessTestSupervisor, "_api_client", staticmethod(lambda dag=None: FakeClient()))
    assert warm_in_process_api(["/venv/bin/airflow", "dag-processor"]) is False
    assert touched == []
    assert warm_in_process_api(["/venv/bin/airflow", "dags", "test", "extract_sources"]) is True
    assert touched == ["app", "transport", "health", "task-instances"]

    def broken():
        raise RuntimeError("no metadata database")

    monkeypatch.setattr(supervisor, "in_process_api_server", broken)
    assert warm_in_process_api(["/venv/bin/airflow", "dags", "test", "extract_sources"]) is False


def test_prepare_warehouse_runs_the_bootstrap_only_when_due(own_warehouse):
    """prepare_warehouse (every extract) costs catalog lookups unless the code changed or a table is missing."""
    from meridian import db
    from meridian.extract.run import prepare_warehouse
    from meridian.warehouse.bootstrap import bootstrap_is_current, missing_tables, owned_tables

    prepare_warehouse()
    assert prepare_warehouse() is False
    with db.connection("warehouse") as conn:
        assert bootstrap_is_current(conn)
        assert missing_tables(conn) == []
        with conn.cursor() as cur:
            # the hand-kept list is every table the bootstrap made (partitions and its own fingerprint aside)
            cur.execute("select n.nspname || '.' || c.relname from pg_class as c join pg_namespace as n "
                        "on n.oid = c.relnamespace where c.relkind in ('r', 'p') and not c.relispartition "
                        "and n.nspname in ('raw', 'audit', 'security', 'reporting', 'history')")
            assert {row[0] for row in cur.fetchall()} - {"audit.warehouse_bootstrap"} == set(owned_tables())
            # a table dropped beside the bootstrap (its fingerprint row stays): the next run creates it again
            cur.execute("drop table audit.raw_purges")
        conn.commit()
        assert not bootstrap_is_current(conn)
    assert prepare_warehouse() is True
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('audit.raw_purges') is not null")
        assert cur.fetchone()[0]
        assert bootstrap_is_current(conn)
    assert prepare_warehouse() is False


@pytest.mark.parametrize("schema", ["raw", "reporting"])
def test_a_dropped_schema_runs_the_bootstrap_again(own_warehouse, schema):
    from meridian import db
    from meridian.warehouse.bootstrap import bootstrap_is_current, ensure_warehouse_current

    with db.connection("warehouse") as conn:
        ensure_warehouse_current(conn)
        conn.commit()
        with conn.cursor() as cur:
            cur.execute(f"drop schema {schema} cascade")
        conn.commit()
        assert not bootstrap_is_current(conn)
        assert ensure_warehouse_current(conn) is True
        conn.commit()
        assert bootstrap_is_current(conn)


