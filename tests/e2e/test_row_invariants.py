"""The marts' row invariants are check constraints of their tables: PostgreSQL refuses a row that breaks one.

Each expression_is_true data test attached to a contracted mart (without a ``where``) becomes
``check (coalesce(<expression>, false))`` when dbt creates the table
(dbt_project/macros/invariants/row_invariant_constraints.sql). So every write, an incremental one
included, is held to them, and incremental runs leave those tests to the full refresh
(dbt_project/selectors.yml).
"""

from __future__ import annotations

import json

import psycopg2
import psycopg2.errors
import pytest

from meridian import db
from meridian.transform.dbt_run import target_dir
from meridian.transform.project_state import row_invariants
from tests.e2e.conftest import query

pytestmark = pytest.mark.e2e


def test_every_marts_row_invariant_is_a_check_constraint_of_its_table(pipeline):
    manifest = json.loads((target_dir() / "manifest.json").read_text())
    nodes = manifest["nodes"]
    expected = {nodes[uid]["alias"]: len(checks) for uid, checks in row_invariants(manifest).items()
                if nodes[uid]["config"].get("contract", {}).get("enforced")}
    found = query("select rel.relname as mart, count(*) as checks, "
                  "bool_and(pg_get_constraintdef(con.oid) like 'CHECK (COALESCE(%%, false))') as null_fails "
                  "from pg_constraint con join pg_class rel on rel.oid = con.conrelid "
                  "join pg_namespace nsp on nsp.oid = rel.relnamespace "
                  "where nsp.nspname = 'marts' and con.contype = 'c' and con.conname like 'row\\_invariant\\_%%' "
                  "group by rel.relname")
    assert len(expected) >= 20, expected
    assert {row["mart"]: row["checks"] for row in found} == expected
    assert all(row["null_fails"] for row in found), found


@pytest.mark.parametrize(("mart", "change", "where"), [
    # an incremental mart, after the pipeline's incremental run and its full refresh
    ("fct_payments_daily", "attempts = attempts + 1", "true"),
    # a null result: a plain check constraint would let it through (true and true and null), the test would not
    ("fct_kpi_trends", "window_days = null", "change is not null"),
])
def test_a_row_breaking_an_invariant_is_refused(pipeline, mart, change, where):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        try:
            with pytest.raises(psycopg2.errors.CheckViolation, match="row_invariant_1"):
                cur.execute(f"update marts.{mart} set {change} "
                            f"where ctid = (select ctid from marts.{mart} where {where} limit 1)")
        finally:
            conn.rollback()
    assert query(f"select count(*) as n from marts.{mart} where {where}")[0]["n"] > 0  # there was a row to change
