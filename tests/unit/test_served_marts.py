"""The marts read by index-only scans are vacuumed at publish, and the list of them cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID
from meridian.transform.serving import INDEX_ONLY_MARTS, ready_served_marts

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"


def test_every_mart_with_covering_read_indexes_is_vacuumed_at_publish():
    hooked = {
        f"marts.{path.stem}"
        for path in MODELS.glob("marts/**/*.sql")
        if re.search(r"payment_range_reads_index\(", path.read_text())
    }
    assert hooked, "no mart builds the covering read indexes: the check would test nothing"
    assert hooked == set(INDEX_ONLY_MARTS)


@pytest.mark.usefixtures("warehouse_server")
def test_publish_vacuum_marks_the_mart_all_visible_and_skips_missing_ones():
    served = ("served_marts_check.payments", "served_marts_check.not_built")
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute("drop schema if exists served_marts_check cascade")
        cur.execute("create schema served_marts_check")
        cur.execute("create table served_marts_check.payments as select g as id from generate_series(1, 20000) g")
        cur.execute("select relallvisible from pg_class where oid = 'served_marts_check.payments'::regclass")
        assert cur.fetchone()[0] == 0  # a new table's pages are not all-visible until a vacuum
    try:
        assert ready_served_marts(tables=served) == ["served_marts_check.payments"]
        with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
            cur.execute("select relpages, relallvisible from pg_class "
                        "where oid = 'served_marts_check.payments'::regclass")
            pages, all_visible = cur.fetchone()
        assert pages > 0 and all_visible == pages
    finally:
        with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
            cur.execute("drop schema served_marts_check cascade")
