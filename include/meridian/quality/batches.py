"""Batch accounting: every landed row is accepted, quarantined or a duplicate.

dbt's ``audit.batch_outcomes`` counts, per ``_batch_id``, the rows staging
accepted, quarantined and recognised as duplicates. This copies the counts
into ``audit.batches`` and fails, naming the batches, when
``landed != accepted + quarantined + duplicates`` for any of them.

Only the batches whose counts are new or changed are written (``reconciled_at``
is when their counts were last set); the check reads every batch.

A batch the raw retention purged rows of (``audit.batches.purged_at``, see
meridian.warehouse.retention) was reconciled before the purge; its counts are
kept as they were (staging no longer sees its purged quarantined and duplicate
rows) and still checked.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID
from meridian.runtime import to_instant

log = logging.getLogger(__name__)


class BatchAccountingError(RuntimeError):
    pass


def reconcile_batches(as_of: date | datetime, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    """Reconcile the batches visible at the as-of instant ``as_of`` (loaded by runs up to it; a date: its end)."""
    as_of = to_instant(as_of)
    with db.connection(conn_id) as conn, conn.cursor() as cur:
        cur.execute(
            """
            update audit.batches as batches
            set accepted = coalesce(outcomes.accepted, 0),
                quarantined = coalesce(outcomes.quarantined, 0),
                duplicates = coalesce(outcomes.duplicates, 0),
                reconciled_at = clock_timestamp()
            from audit.batches as all_batches
            left join audit.batch_outcomes as outcomes on outcomes.batch_id = all_batches.batch_id
            where batches.batch_id = all_batches.batch_id
              and all_batches.as_of_at <= %s
              -- a batch the raw retention purged rows of keeps the counts reconciled before the purge
              and all_batches.purged_at is null
              -- only rows whose counts are new or changed are written: the batches grow with every run
              and (batches.reconciled_at is null
                   or (batches.accepted, batches.quarantined, batches.duplicates) is distinct from
                      (coalesce(outcomes.accepted, 0), coalesce(outcomes.quarantined, 0),
                       coalesce(outcomes.duplicates, 0)))
            """,
            (as_of,),
        )
        reconciled = cur.rowcount
        cur.execute(
            """
            select batch_id, source, table_name, file_name, landed, accepted, quarantined, duplicates
            from audit.batches
            where as_of_at <= %s
              and landed is distinct from accepted + quarantined + duplicates
            order by batch_id
            """,
            (as_of,),
        )
        broken = cur.fetchall()
        cur.execute(
            "select coalesce(sum(landed), 0), coalesce(sum(accepted), 0), coalesce(sum(quarantined), 0), "
            "coalesce(sum(duplicates), 0) from audit.batches where as_of_at <= %s",
            (as_of,),
        )
        landed, accepted, quarantined, duplicates = (int(value) for value in cur.fetchone())
    summary = {
        "batches_updated": reconciled,
        "landed": landed,
        "accepted": accepted,
        "quarantined": quarantined,
        "duplicates": duplicates,
    }
    log.info("batch accounting: %s", summary)
    if broken:
        lines = [
            f"batch {row[0]} ({row[1]}.{row[2]}{' file ' + row[3] if row[3] else ''}): landed {row[4]} != "
            f"accepted {row[5]} + quarantined {row[6]} + duplicates {row[7]}"
            for row in broken[:20]
        ]
        raise BatchAccountingError(
            f"{len(broken)} batch(es) do not add up; rows were lost between raw and staging:\n" + "\n".join(lines)
        )
    return summary
