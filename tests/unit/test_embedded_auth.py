"""The embedded PostgreSQL asks for a password on TCP; the password is private to the state dir's owner."""

from __future__ import annotations

import os
import stat

import psycopg2
import pytest

from meridian import config, db
from tests.conftest import private_warehouse


@pytest.fixture(scope="module")
def server():
    with private_warehouse("meridian-auth-test-") as base:
        yield base


def test_a_login_without_the_password_is_refused(server):
    port = config.settings().pg_port
    for password in ("", "wrong"):
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="warehouse",
                             password=password or None, connect_timeout=5)


def test_the_embedded_connections_carry_the_password(server):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select current_user, (select rolpassword like 'SCRAM-SHA-256$%' from pg_authid "
                    "where rolname = 'postgres')")
        assert cur.fetchone() == ("postgres", True)


def test_the_password_file_is_private_and_stable(server):
    path = config.settings().state_dir / config.EMBEDDED_PASSWORD_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.embedded_password() == path.read_text().strip() and len(config.embedded_password()) >= 24


def test_no_host_line_of_pg_hba_trusts(server):
    hba = (config.settings().pgdata / "pg_hba.conf").read_text()
    hosts = [line.split() for line in hba.splitlines() if line.startswith("host")]
    assert hosts and all(fields[-1] == "scram-sha-256" for fields in hosts)


def test_a_second_start_keeps_the_password(server):
    from meridian.warehouse import embedded

    embedded.stop()
    assert embedded.start().running
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select 1")
        assert cur.fetchone() == (1,)
