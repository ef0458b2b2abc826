"""dbt keeps each thread's PostgreSQL connection open from node to node (meridian.transform.dbt_connections).

A small dbt project of its own, built by ``Dbt`` as a pipeline run builds the
warehouse: the build opens one backend per dbt thread instead of one per node,
a node that failed mid-transaction leaves its connection fit for the next node,
and dbt's own closing release is back once the command ends.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meridian import db
from meridian.transform.dbt_run import Dbt
from tests.conftest import private_warehouse

REPO = Path(__file__).resolve().parents[2]
# generation 0: `first` and `broken` (fails inside its transaction); generation 1: six models over `first`,
# which dbt runs after both, on the one thread's connection `broken` used
MODELS = {
    "first": "{{ config(materialized='table') }} select 1 as x",
    "broken": "{{ config(materialized='table') }} select 1 / 0 as x",
    **{f"after_{n}": f"{{{{ config(materialized='{kind}') }}}} select x + {n} as x from {{{{ ref('first') }}}}"
       for n, kind in enumerate(["table", "view", "table", "view", "table", "table"])},
}


@pytest.fixture(scope="module")
def warehouse() -> Iterator[None]:
    with private_warehouse("meridian-dbt-connections-"):
        yield


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: connections_check\nversion: '1.0'\nconfig-version: 2\nprofile: meridian\n"
        "models:\n  connections_check:\n    +schema: connections_check\n")
    shutil.copyfile(REPO / "dbt_project" / "profiles.yml", root / "profiles.yml")
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    monkeypatch.setenv("MERIDIAN_DBT_PROJECT_DIR", str(root))
    monkeypatch.setenv("MERIDIAN_DBT_THREADS", "1")
    return root


def sessions_opened() -> int:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select sessions from pg_stat_database where datname = current_database()")
        return cur.fetchone()[0]


def test_one_backend_per_thread_and_a_failed_node_leaves_its_connection_fit(warehouse, project, tmp_path):
    from dbt.adapters.base.connections import BaseConnectionManager

    closing_release = BaseConnectionManager.release
    dbt = Dbt(target=tmp_path / "target")
    dbt.ensure_parsed(write_json=False)
    before = sessions_opened()
    result = dbt.invoke(["run"])
    opened = sessions_opened() - before - 1  # less the connection that counted them

    statuses = {r.node.name: str(r.status) for r in result.result.results}
    assert statuses == {"broken": "error", **{name: "success" for name in MODELS if name != "broken"}}
    # 8 nodes on one thread: dbt's start-up connections (relation cache, schema) and the thread's, not one per node
    assert opened <= 3, opened
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select sum(x) from public_connections_check.after_5")
        assert cur.fetchone() == (6,)
    # outside a command dbt closes a released connection again
    assert BaseConnectionManager.release is closing_release


def test_without_keeping_every_node_opens_its_own_backend(warehouse, project, tmp_path, monkeypatch):
    """The figure the first test improves on: dbt-postgres alone opens a backend per node."""
    from contextlib import nullcontext

    import meridian.transform.dbt_run as dbt_run

    monkeypatch.setattr(dbt_run, "connections_kept_open", nullcontext)
    dbt = Dbt(target=tmp_path / "target")
    dbt.ensure_parsed(write_json=False)
    before = sessions_opened()
    dbt.invoke(["run", "--exclude", "broken"])
    assert sessions_opened() - before - 1 >= len(MODELS) - 1
