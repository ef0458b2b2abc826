"""The marts the read API reads by index-only scans, made ready to serve at the end of each build.

A covering index answers a range read from its own pages only where the table's visibility map marks the
pages all-visible; a table dbt has just created or changed is not marked until a vacuum. The autovacuum
gets there within about a minute, so dashboards reading right after a build would pay a heap page per
~13 rows of the range until then. :func:`ready_served_marts` vacuums those marts as the build's last step
(``publish_marts``), which costs milliseconds: they are small, and a vacuum skips the pages already marked.
"""

from __future__ import annotations

import logging
import time

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)

# the marts whose post_hook builds covering indexes for the read API's range reads
# (dbt_project/macros/security/payment_range_reads_index.sql; meridian.serve.api.one_pass reads them)
INDEX_ONLY_MARTS = ("marts.fct_payment_attempts",)

# The warehouse commits asynchronously, and PostgreSQL marks no page all-visible while the commit of a
# row's inserter may still be unflushed (the WAL writer flushes within about 0.6 s). A vacuum that ran
# too early for that is run again, at most this many times.
VACUUM_TRIES = 4
RETRY_PAUSE_S = 0.3


def _not_all_visible(conn_id: str, tables: list[str]) -> list[str]:
    with db.connection(conn_id) as conn, conn.cursor() as cur:
        cur.execute(
            """
            select name from unnest(%s::text[]) as name
            join pg_class on pg_class.oid = to_regclass(name)
            where pg_class.relallvisible < pg_class.relpages
            """,
            (tables,),
        )
        return [name for (name,) in cur.fetchall()]


def ready_served_marts(conn_id: str = WAREHOUSE_CONN_ID, tables: tuple[str, ...] = INDEX_ONLY_MARTS) -> list[str]:
    """Vacuum (and analyze) the marts read by index-only scans; the ones not built yet are left out."""
    with db.connection(conn_id) as conn, conn.cursor() as cur:
        cur.execute("select name from unnest(%s::text[]) as name where to_regclass(name) is not null",
                    (list(tables),))
        present = [name for (name,) in cur.fetchall()]
    pending = present
    for attempt in range(VACUUM_TRIES):
        if attempt:
            time.sleep(RETRY_PAUSE_S)
        db.vacuum_analyze(conn_id, pending)
        pending = _not_all_visible(conn_id, pending)
        if not pending:
            break
    if pending:
        log.warning("not all pages all-visible after %d vacuums: %s", VACUUM_TRIES, ", ".join(pending))
    log.info("vacuumed for index-only reads: %s", ", ".join(present) or "none built")
    return present
