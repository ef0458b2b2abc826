"""Nothing lost at extraction (docs/sources.md): null and ancient keys, late commits, re-reads.

Every case runs the real extraction against the embedded PostgreSQL: the source
tables are created from the contract, rows are inserted (some in a second
connection whose transaction stays open across a run), and what lands in raw is
read back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from meridian import db
from meridian.extract.tables import SourceSnapshot, extract_table, row_filter
from meridian.sources.schema import table
from tests.unit.test_extract import clean_databases  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("clean_databases")

USERS = table("app", "users")
EVENTS = table("app", "events")
SUB_EVENTS = table("billing", "subscription_events")
DAY1, DAY2, DAY3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


INSERT_USER = (
    "insert into public.users (id, tenant_id, email, signup_at, platform, country, acquisition_channel, updated_at) "
    "values (%s, 't1', %s, '2023-06-01T00:00:00Z', 'web', 'US', 'organic', %s)"
)
INSERT_EVENT = (
    "insert into public.events (id, tenant_id, user_id, event_type, platform, occurred_at, received_at) "
    "values (%s, 't1', 'u1', 'app_open', 'web', %s, %s)"
)


def insert_user(user_id: str, updated_at: datetime | None) -> None:
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute(INSERT_USER, (user_id, f"{user_id}@example.com", updated_at))


def extract(spec, as_of, overlap=timedelta(0)):
    source = "source_" + spec.source
    with db.connection(source) as src, db.connection("warehouse") as wh:
        return extract_table(spec, as_of, src, wh, overlap=overlap)


def landed_ids(spec) -> list[tuple[str, int]]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(f"select id, _batch_id from raw.{spec.raw_table} order by _batch_id, id")
        return cur.fetchall()


def test_null_and_ancient_keys_land_in_the_first_run_and_only_once():
    insert_user("u_null", None)
    insert_user("u_ancient", datetime(1970, 1, 1, tzinfo=UTC))
    insert_user("u_day1", at(DAY1))
    insert_user("u_future", at(DAY3))  # key at or after T stays for a later window
    first = extract(USERS, DAY1)
    assert first.landed == 3
    assert sorted(row[0] for row in landed_ids(USERS)) == ["u_ancient", "u_day1", "u_null"]
    second = extract(USERS, DAY2)
    assert second.landed == 0  # nothing re-read: the sweep only takes rows the first snapshot could not see
    third = extract(USERS, DAY3 + timedelta(days=1))
    assert third.landed == 1 and landed_ids(USERS)[-1] == ("u_future", third.batch_id)


@pytest.mark.parametrize("stamp", [None, datetime(1999, 12, 31, tzinfo=UTC), at(DAY1, 1)])
def test_a_row_stamped_before_the_watermark_inserted_after_a_run_lands_in_the_next(stamp):
    insert_user("u1", at(DAY1))
    first = extract(USERS, DAY1)
    insert_user("u_late", stamp)  # null, older than the first watermark, or inside the first window
    second = extract(USERS, DAY2)
    assert (first.landed, second.landed) == (1, 1)
    assert landed_ids(USERS) == [("u1", first.batch_id), ("u_late", second.batch_id)]
    assert extract(USERS, DAY3).landed == 0


def test_an_update_that_keeps_an_old_stamp_lands_again():
    """A new row version is a new transaction: swept even when updated_at was not bumped (or is null)."""
    insert_user("u1", at(DAY1))
    insert_user("u2", None)
    extract(USERS, DAY1)
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute("update public.users set email = 'new@example.com' where id in ('u1', 'u2')")
    second = extract(USERS, DAY2)
    assert second.landed == 2
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select id, email from raw.app__users where _batch_id = %s order by id", (second.batch_id,))
        assert cur.fetchall() == [("u1", "new@example.com"), ("u2", "new@example.com")]


@pytest.mark.parametrize("savepoint", [False, True], ids=["transaction", "subtransaction"])
def test_a_late_commit_stamped_inside_the_window_lands_in_the_next_run(savepoint):
    insert_user("u1", at(DAY1, 8))
    writer = db.connect("source_app")  # a long transaction: open across the first run
    try:
        with writer.cursor() as cur:
            if savepoint:
                cur.execute("insert into public.users (id, tenant_id, signup_at) values ('u0', 't1', now())")
                cur.execute("savepoint inner_write")
            cur.execute(INSERT_USER, ("u_late", "late@example.com", at(DAY1, 9)))
            if savepoint:
                cur.execute("release savepoint inner_write")
        first = extract(USERS, DAY1)
        writer.commit()
    finally:
        writer.close()
    second = extract(USERS, DAY2)
    assert first.landed == 1
    assert ("u_late", second.batch_id) in landed_ids(USERS)
    assert extract(USERS, DAY3).landed == 0


def test_a_transaction_begun_before_the_snapshot_and_committed_after_is_swept():
    """The writer holds an xid below the snapshot's xmax while the run reads (in the snapshot's xip list)."""
    writer = db.connect("source_app")
    try:
        with writer.cursor() as cur:
            cur.execute(INSERT_USER, ("u_late", "late@example.com", at(DAY1, 9)))
            cur.execute("savepoint a")
            cur.execute(INSERT_USER, ("u_sub", "sub@example.com", at(DAY1, 10)))
            cur.execute("release savepoint a")
        insert_user("u1", at(DAY1, 8))  # committed after the writer began: a higher xid
        first = extract(USERS, DAY1)
        writer.commit()
    finally:
        writer.close()
    second = extract(USERS, DAY2)
    assert [row[0] for row in landed_ids(USERS) if row[1] == first.batch_id] == ["u1"]
    second_ids = {row[0] for row in landed_ids(USERS) if row[1] == second.batch_id}
    # u_sub's subtransaction id is below the snapshot's xmax and not in its list of open transactions (only
    # top-level ones are): pg_visible_in_snapshot would call it visible and the row would be lost
    assert "u_sub" in second_ids and "u_late" in second_ids
    # u1 committed while the writer was open: its xid is above that snapshot's xmin, so it is read again
    # (identical: a duplicate downstream); that is the price of judging subtransactions soundly
    assert sorted(row[0] for row in landed_ids(USERS) if row[1] == second.batch_id) == ["u1", "u_late", "u_sub"]
    assert extract(USERS, DAY3).landed == 0


@pytest.mark.parametrize("spec", [EVENTS, SUB_EVENTS], ids=lambda spec: spec.name)
def test_append_only_rows_received_late_land(spec):
    def insert(event_id: str, received_at: datetime | None) -> None:
        with db.connection("source_" + spec.source) as conn, conn.cursor() as cur:
            if spec is EVENTS:
                cur.execute(INSERT_EVENT, (event_id, at(DAY1, 1), received_at))
            else:
                cur.execute(
                    "insert into public.subscription_events (id, tenant_id, subscription_id, user_id, event_type, "
                    "status, plan_id, quantity, occurred_at, received_at) "
                    "values (%s, 't1', 's1', 'u1', 'created', 'active', 'p1', 1, %s, %s)",
                    (event_id, at(DAY1, 1), received_at),
                )

    insert("e1", at(DAY1, 2))
    first = extract(spec, DAY2)
    insert("e_late", at(DAY1, 3))  # received inside the first window, committed after it was read
    insert("e_null", None)
    second = extract(spec, DAY3)
    assert (first.landed, second.landed) == (1, 2)
    assert sorted(landed_ids(spec)) == sorted([("e1", first.batch_id), ("e_late", second.batch_id),
                                               ("e_null", second.batch_id)])


def test_a_rerun_at_or_before_the_watermark_loads_nothing():
    insert_user("u1", at(DAY1))
    extract(USERS, DAY2)
    insert_user("u_late", at(DAY1, 1))
    for as_of in (DAY2, DAY1, at(DAY2, 23)):
        rerun = extract(USERS, as_of)
        assert rerun.batch_id is None and rerun.landed == 0
    assert extract(USERS, DAY3).landed == 1  # the row waits for the next forward run


def test_the_overlap_rereads_identical_rows():
    insert_user("u1", at(DAY1, 23))
    extract(USERS, DAY1)
    again = extract(USERS, DAY2, overlap=timedelta(hours=2))
    assert again.landed == 1 and again.window_start == at(DAY2, 0) - timedelta(hours=2)
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select count(distinct (id, email, signup_at, updated_at)), count(*) from raw.app__users")
        assert cur.fetchone() == (1, 2)  # the same content twice: staging counts the second as a duplicate


def test_a_snapshot_from_another_database_means_a_full_reread():
    insert_user("u1", at(DAY1))
    extract(USERS, DAY1)
    with db.connection("warehouse") as conn, conn.cursor() as cur:  # xids ahead of the source's
        cur.execute("update audit.watermarks set source_snapshot = '999999999:999999999:'")
    assert extract(USERS, DAY2).landed == 1


@pytest.mark.parametrize(
    ("previous_xmin", "current_xmax"),
    [(100, 150), ((5 << 32) + 10, (5 << 32) + 4000), ((5 << 32) - 10, (5 << 32) + 20)],
)
def test_the_sweep_compares_ages_with_the_previous_xmin_across_an_epoch(previous_xmin, current_xmax):
    where = row_filter("k", at(DAY1), at(DAY2), SourceSnapshot(f"{previous_xmin}:{previous_xmin}:"),
                       SourceSnapshot(f"{current_xmax - 1}:{current_xmax}:"))
    assert f"age(xmin) <= (select age('{previous_xmin % (1 << 32)}'::xid)) and age(xmin) >= 0" in where


@pytest.mark.parametrize(
    ("pivot", "row_xid", "swept"),
    [
        # the previous xmin 10 ids before the end of an epoch: ids after it, in this epoch or the next, are swept
        ((1 << 32) - 10, (1 << 32) - 10, True),
        ((1 << 32) - 10, (1 << 32) - 3, True),
        ((1 << 32) - 10, 3, True),
        ((1 << 32) - 10, (1 << 32) - 11, False),
        ((1 << 32) - 10, (1 << 32) - 1000, False),
        (3, 3, True),
        (3, (1 << 32) - 1, False),  # the end of the previous epoch
        (3, 2, False),  # a frozen row: infinitely old
        (3, 1 << 30, False),  # more than 2^31 ids back (a frozen row's raw xmin): a negative age, never swept
    ],
)
def test_the_sweep_condition_in_postgresql(pivot, row_xid, swept):
    """The sweep's age comparison, evaluated by PostgreSQL with the test database's small transaction ids as
    "now": a row id after the pivot (its age at most the pivot's) is swept, also across an epoch's end."""
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute("select age(%s::text::xid) <= (select age(%s::text::xid)) and age(%s::text::xid) >= 0",
                    (row_xid, pivot, row_xid))
        assert cur.fetchone()[0] is swept


def test_a_previous_snapshot_out_of_the_sweeps_reach_means_a_full_reread():
    from meridian.extract.tables import SWEEP_REACH, sweep_by_age

    current = SourceSnapshot(f"{(7 << 32) + 5}:{(7 << 32) + 5}:")
    assert sweep_by_age(SourceSnapshot(f"{(7 << 32) + 5 - SWEEP_REACH + 1}:0:"), current)
    assert not sweep_by_age(SourceSnapshot(f"{(7 << 32) + 5 - SWEEP_REACH}:0:"), current)
    assert not sweep_by_age(SourceSnapshot(f"{(7 << 32) + 6}:0:"), current)  # ahead: another database
    assert not sweep_by_age(SourceSnapshot(f"{7 << 32}:0:"), current)  # not a normal id
    far = SourceSnapshot(f"{(7 << 32) + 5 - SWEEP_REACH}:0:")
    assert row_filter("k", at(DAY1), at(DAY2), far, current) == (
        f"k < '{at(DAY2).isoformat()}'::timestamptz or k is null")


@pytest.mark.parametrize(("value", "minutes"), [(None, 0), ("", 0), ("90", 90), ("-5", None), ("ten", None)])
def test_the_overlap_setting(monkeypatch, value, minutes):
    from meridian.config import settings

    if value is None:
        monkeypatch.delenv("MERIDIAN_EXTRACT_OVERLAP_MINUTES", raising=False)
    else:
        monkeypatch.setenv("MERIDIAN_EXTRACT_OVERLAP_MINUTES", value)
    if minutes is None:
        with pytest.raises(ValueError, match=f"MERIDIAN_EXTRACT_OVERLAP_MINUTES='?{value}'?"):
            settings()
    else:
        assert settings().extract_overlap_minutes == minutes
