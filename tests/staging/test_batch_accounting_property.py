"""Property: whatever rows land, every batch adds up and every bad row says why (issue 16).

Hypothesis generates examples of bad (and good) rows for every source table
(bad_rows.py), each example a world of its own. They land in two waves of batches
(audit.batches rows and raw rows, as the extractor writes them); staging and audit
are built once per wave (`dbt run`; the second run is incremental for app events, so conflicts
are found against rows already classified). Then, per batch, landed = accepted +
quarantined + duplicates, and every row has the status its generator expects, a
quarantined row carrying the expected reason code.

MERIDIAN_PROPERTY_EXAMPLES (default 15) sets the number of examples and
MERIDIAN_PROPERTY_SEED the seed (printed on failure).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import psycopg2.extras
from hypothesis import HealthCheck, Phase, given, seed, settings

from meridian import db
from tests.staging.bad_rows import TABLES, WAVES, Example, Landed, examples
from tests.staging.landing import dbt, land

EXAMPLES = int(os.environ.get("MERIDIAN_PROPERTY_EXAMPLES", "15"))
SEED = int(os.environ.get("MERIDIAN_PROPERTY_SEED") or random.randrange(2**32))


def generate() -> list[Example]:
    collected: list[Example] = []

    @seed(SEED)
    @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(example=examples(name="x"))
    def collect(example: Example) -> None:
        collected.append(example)

    collect()
    # every example its own world: rename its ids and tenants apart
    worlds = []
    for number, example in enumerate(collected):
        worlds.append(rename(example, f"x{number}"))
    return worlds


def rename(example: Example, name: str) -> Example:
    def swap(value):
        if isinstance(value, str):
            return value.replace("x_", f"{name}_")
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        return value

    renamed = Example(name)
    for wave, rows in example.waves.items():
        renamed.waves[wave] = [
            Landed(item.raw_table, swap(item.row), item.status, item.reason, item.fault,
                   None if item.file_line is None else (swap(item.file_line[0]), item.file_line[1]))
            for item in rows
        ]
    return renamed


def classified_rows() -> dict[tuple, dict]:
    """Every base-model row keyed by (batch, id) or, for event-file lines, (batch, file, line)."""
    selects = [
        f"select _batch_id, id, null as _file_name, null::integer as _line_number, row_status, reasons"
        f" from staging.base_{table}"
        for table in ["app__organizations", *TABLES] if table != "app__events"
    ]
    selects.append("select _batch_id, id, _file_name, _line_number, row_status, reasons from staging.base_app__events")
    with db.connection("warehouse") as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(" union all ".join(selects))
        rows = cur.fetchall()
    keyed: dict[tuple, dict] = {}
    for row in rows:
        key = ((row["_batch_id"], row["_file_name"], row["_line_number"]) if row["_file_name"]
               else (row["_batch_id"], row["id"]))
        assert key not in keyed, f"two classified rows for {key}"
        keyed[key] = dict(row)
    return keyed


def test_every_batch_adds_up_and_every_row_has_its_reason(staging_warehouse: Path) -> None:
    worlds = generate()
    landed: list[tuple[int, Landed]] = []
    for wave, as_of in WAVES.items():
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            for example in worlds:
                for batch, rows in example.batches(wave):
                    batch_id = land(cur, batch)
                    landed.extend((batch_id, item) for item in rows)
        dbt(["run", "--select", "staging", "audit"], as_of, staging_warehouse / "dbt")

    context = f"(seed {SEED}, {len(worlds)} examples; rerun with MERIDIAN_PROPERTY_SEED={SEED})"
    with db.connection("warehouse") as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("select * from audit.batch_outcomes")
        outcomes = {row["batch_id"]: row for row in cur.fetchall()}
    batch_ids = {batch_id for batch_id, _ in landed}
    assert set(outcomes) == batch_ids, context
    for batch_id in batch_ids:
        outcome = outcomes[batch_id]
        assert outcome["landed"] == outcome["accepted"] + outcome["quarantined"] + outcome["duplicates"], (
            outcome, context)

    actual = classified_rows()
    wrong = []
    for batch_id, item in landed:
        if item.file_line:
            key = (batch_id, item.file_line[0], item.file_line[1])
        else:
            key = (batch_id, item.row["id"])
        got = actual.get(key)
        if got is None:
            wrong.append((item.raw_table, key, item.fault, "missing from staging"))
        elif got["row_status"] != item.status or (item.reason and item.reason not in got["reasons"]):
            wrong.append((item.raw_table, key, item.fault, f"expected {item.status} {item.reason or ''}",
                          f"got {got['row_status']} {got['reasons']}"))
        elif item.status == "accepted" and got["reasons"]:
            wrong.append((item.raw_table, key, item.fault, f"accepted with reasons {got['reasons']}"))
    assert not wrong, f"{len(wrong)} rows misclassified {context}: " + "\n".join(map(str, wrong[:30]))
    # the examples covered the ground: many rows, most faults of every table
    faults = {(item.raw_table, item.fault) for _, item in landed}
    assert len(landed) >= 20 * len(worlds) and len(faults) >= min(40, 4 * len(worlds)), (
        len(landed), len(faults), context)
