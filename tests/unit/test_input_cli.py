"""Every command refuses a value it cannot use: one line on stderr naming the option and the value, exit 2.

The table below holds, per command and option, a bad value and what the line must say. Each case runs
``meridian`` in-process against a PostgreSQL of this module's own (organizations acme and globex
landed, one scheduled report, id 1) and checks that nothing was written: still the one report, no
delivery, no deletion logged. Nothing here reaches the demo generator or a mail server: every bad value
is refused before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meridian import db
from meridian.cli import main
from tests.unit.test_reports_cli import reports_warehouse

RANGE = "2000-01-01 .. 2100-12-31"


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with reports_warehouse("meridian-input-cli-test-") as base:
        yield base


def state() -> tuple:
    """What a refused command must leave as it was."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select id, tenant_id, name, next_run_at, is_active from reporting.scheduled_reports order by id")
        reports = cur.fetchall()
        cur.execute("select count(*) from reporting.report_deliveries")
        deliveries = cur.fetchone()[0]
        cur.execute("select count(*) from audit.deletion_requests")
        deletions = cur.fetchone()[0]
        cur.execute("select count(*) from raw.app__organizations")
        organizations = cur.fetchone()[0]
    return reports, deliveries, deletions, organizations


@pytest.fixture
def one_report(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> tuple:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("truncate reporting.report_deliveries, reporting.scheduled_reports restart identity")
    assert main([*CREATE, "--first-run", "2024-04-01"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    return state()


CREATE = [
    "reports", "create", "--tenant", "acme", "--name", "Monthly revenue", "--recipients", "a@x.com",
]
RENDER = ["reports", "render", "--tenant", "acme", "--period", "2024-03"]
A_FILE = "{tmp}/a-file"  # a path that is a file, where a folder is asked for


# argv (after `meridian`), then fragments the one line on stderr must hold: the option and the bad value
CASES = [
    # reports create: the tenant must be an organization the warehouse has landed
    ([*CREATE, "--tenant", "acmee"], ["--tenant: invalid tenant_id:", "unknown tenant 'acmee'", "known: acme, globex"]),
    ([*CREATE, "--tenant", "x" * 5000], ["--tenant:", "'xxxx", "(5000 characters)"]),
    # the first run: within 2000-2100, and a date
    ([*CREATE, "--first-run", "0001-01-01"], ["--first-run: invalid first_run:", "'0001-01-01'", RANGE]),
    ([*CREATE, "--first-run", "1900-01-01"], ["--first-run:", "'1900-01-01'", RANGE]),
    ([*CREATE, "--first-run", "1999-12-31T23:59:59Z"], ["--first-run:", "'1999-12-31T23:59:59Z'", RANGE]),
    ([*CREATE, "--first-run", "2101-01-01"], ["--first-run:", "'2101-01-01'", RANGE]),
    ([*CREATE, "--first-run", "0001-01-01T00:00:00+01:00"], ["--first-run:", "'0001-01-01T00:00:00+01:00'", RANGE]),
    ([*CREATE, "--first-run", "2026-02-30"], ["--first-run:", "'2026-02-30' is not a date"]),
    ([*CREATE, "--first-run", "soon"], ["--first-run:", "'soon' is not a date"]),
    # the name: at most 200 characters, no control characters (it is the mail's subject)
    ([*CREATE, "--name", "n" * 201], ["--name: invalid name:", "201 characters long; at most 200"]),
    ([*CREATE, "--name", "n" * 100_000], ["--name:", "100000 characters long; at most 200"]),
    ([*CREATE, "--name", "Monthly\nrevenue"], ["--name:", "control character ('\\n' at position 8)"]),
    ([*CREATE, "--name", "   "], ["--name: invalid name: is empty"]),
    ([*CREATE, "--recipients", "a@x.com,nobody"], ["--recipients: invalid recipients:", "'nobody' (item 2)"]),
    ([*CREATE, "--type", "revenue"], ["--type: invalid report_type:", "'revenue'"]),
    ([*CREATE, "--frequency", "yearly"], ["--frequency: invalid frequency:", "'yearly'"]),
    ([*CREATE, "--formats", "pdf,doc"], ["--formats: invalid formats:", "'doc'"]),
    ([*CREATE, "--parameters", "{"], ["--parameters: invalid parameters:", "'{'"]),
    # reports list / render: the same tenant rule
    (["reports", "list", "--tenant", "initech"], ["--tenant: invalid tenant_id:", "unknown tenant 'initech'"]),
    ([*RENDER, "--tenant", "initech", "--out", "{tmp}/out"], ["--tenant:", "unknown tenant 'initech'"]),
    ([*RENDER, "--period", "1999-12", "--out", "{tmp}/out"], ["--period: invalid period:", "'1999-12'", RANGE]),
    ([*RENDER, "--period", "9999-12", "--out", "{tmp}/out"], ["--period:", "'9999-12'", RANGE]),
    ([*RENDER, "--period", "2024-13", "--out", "{tmp}/out"], ["--period:", "'2024-13' is not a monthly period"]),
    ([*RENDER, "--frequency", "weekly", "--period", "2024-03", "--out", "{tmp}/out"],
     ["--period:", "'2024-03' is not a weekly period"]),
    ([*RENDER, "--out", A_FILE], ["--out: invalid out:", "a-file' is a file, not a folder"]),
    # run-now, resolve, pause, resume: the id and the dates
    (["reports", "run-now", "1", "--as-of", "1900-01-01"], ["argument --as-of:", "'1900-01-01'", RANGE]),
    (["reports", "run-now", "1", "--as-of", "2024-04-31"], ["argument --as-of:", "'2024-04-31' is not a date"]),
    (["reports", "run-now", "1", "--as-of", "2024-04-01", "--out", A_FILE], ["--out:", "is a file, not a folder"]),
    (["reports", "resolve", "1", "--period", "0001-03", "--resend"], ["--period:", "'0001-03'", RANGE]),
    (["reports", "resolve", "1", "--period", "March", "--resend"], ["--period:", "'March' is not a monthly period"]),
    (["reports", "pause", "0"], ["argument id:", "'0' is not a whole number from 1 to"]),
    (["reports", "resume", "-3"], ["argument id:", "'-3' is not a whole number"]),
    (["reports", "pause", "99999999999999999999"], ["argument id:", "'99999999999999999999'"]),
    (["reports", "resolve", "one", "--period", "2024-03", "--resend"], ["argument id:", "'one'"]),
    # the demo and the tools: sizes, dates, ports
    (["generate", "--tenants", "0"], ["argument --tenants:", "'0' is not a whole number"]),
    (["generate", "--tenants", "100"], ["argument --tenants: 100 is more than the 99 demo tenants"]),
    (["generate", "--tenants", "3", "--users", "2"], ["argument --users: 2 is fewer than --tenants 3"]),
    (["generate", "--users", "2000000000"], ["argument --users:", "'2000000000' is not a whole number from 1 to"]),
    (["generate", "--days", "2"], ["argument --days: 2 is fewer than 3 days"]),
    (["generate", "--days", "20000"], ["argument --days: 20000 days up to", "would start before 2000-01-01"]),
    (["generate", "--end-date", "1999-01-01"], ["argument --end-date:", "'1999-01-01'", RANGE]),
    (["generate", "--seed", "-1"], ["argument --seed:", "'-1'"]),
    (["demo", "--as-of", "31/10/2026"], ["argument --as-of:", "'31/10/2026' is not a date"]),
    (["bench", "--days", "1.5"], ["argument --days:", "'1.5' is not a whole number"]),
    (["mail-sink", "--port", "70000"], ["argument --port:", "'70000' is not a whole number from 0 to 65535"]),
    # deletion on request: the tenant must be known, and so must the user
    (["tenant", "purge", "acmee", "--yes"], ["TENANT: unknown tenant 'acmee'", "known: acme, globex"]),
    (["tenant", "purge", "acmee"], ["TENANT: unknown tenant 'acmee'"]),
    (["user", "forget", "acmee", "usr_1"], ["TENANT: unknown tenant 'acmee'"]),
    (["user", "forget", "acme", "usr_nobody"], ["USER: unknown user 'usr_nobody'", "tenant 'acme'"]),
    # argparse's own refusals are one line too
    (["reports", "create", "--tenant", "acme"], ["the following arguments are required: --name, --recipients"]),
    (["tenant", "erase", "acme"], ["argument action: invalid choice: 'erase'"]),
]


@pytest.mark.parametrize("argv, fragments", CASES, ids=[" ".join(case[0])[:60] for case in CASES])
def test_a_bad_value_is_one_line_naming_option_and_value(one_report, capsys, tmp_path, argv, fragments):
    (tmp_path / "a-file").write_text("not a folder")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("meridian ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in captured.err
    assert state() == one_report
    assert not (tmp_path / "out").exists()  # refused before any file is written
