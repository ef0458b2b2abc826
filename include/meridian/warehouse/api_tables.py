"""The KPI read API's tables in schema ``security``: keys, report jobs, the link-signing key.

Warehouse objects the bootstrap creates (:func:`meridian.warehouse.bootstrap.ensure_warehouse`
runs :func:`ensure_api_keys`); :mod:`meridian.serve.api.keys` runs it too
before it touches a key.
"""

from __future__ import annotations

import secrets

import psycopg2.extensions

# the read API's keys (meridian.serve.api.keys): only the sha256 of each key's secret is stored
API_KEYS_DDL = """
create schema if not exists security;
create table if not exists security.api_keys (
    key_id text primary key,
    tenant_id text not null,
    name text,
    secret_sha256 text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
create index if not exists api_keys__tenant on security.api_keys (tenant_id);
-- reports generated through the API: any API process answers a job's status
create table if not exists security.api_report_jobs (
    job_id text primary key,
    tenant_id text not null,
    key_id text,
    status text not null check (status in ('queued', 'rendering', 'done', 'failed')),
    request jsonb not null,
    folder text,
    files text[] not null default '{}',
    mailed_to text[],
    error text,
    created_at timestamptz not null default now(),
    finished_at timestamptz
);
-- the HMAC key of report download links, shared by every API process (MERIDIAN_API_SIGNING_KEY overrides)
create table if not exists security.api_signing_key (
    only_row boolean primary key default true check (only_row),
    secret text not null
);
"""


def ensure_api_keys(conn: psycopg2.extensions.connection) -> None:
    """The API's tables: keys, report jobs, the link-signing key (idempotent; ``ensure_warehouse`` runs it too)."""
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")
        cur.execute(API_KEYS_DDL)
        cur.execute("insert into security.api_signing_key (secret) values (%s) on conflict do nothing",
                    (secrets.token_hex(32),))
