"""Per-tenant API keys, stored hashed in ``security.api_keys``.

A key reads ``mk_<key id>_<secret>``: the key id (public, what ``list`` and
``revoke`` name) and 32 random bytes of secret. Only the sha256 of the secret is
stored; the key itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

from meridian.warehouse.api_tables import ensure_api_keys

KEY_PATTERN = re.compile(r"^mk_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})$")


class UnknownTenantError(LookupError):
    pass


class UnknownKeyError(LookupError):
    pass


@dataclass(frozen=True)
class NewKey:
    key_id: str
    tenant_id: str
    name: str | None
    key: str


def ensure_keys_table(conn: psycopg2.extensions.connection) -> None:
    ensure_api_keys(conn)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_sha256)


def known_tenants(conn: psycopg2.extensions.connection) -> list[str]:
    """Tenants built into the marts (marts.dim_tenants), else those staged from app.organizations."""
    with conn.cursor() as cur:
        for relation in ("marts.dim_tenants", "staging.stg_app__organizations"):
            cur.execute("select to_regclass(%s)", (relation,))
            if cur.fetchone()[0] is not None:
                column = "tenant_id" if relation.startswith("marts") else "id"
                cur.execute(f"select distinct {column}::text from {relation} order by 1")
                return [row[0] for row in cur.fetchall()]
    return []


def create_key(conn: psycopg2.extensions.connection, tenant_id: str, name: str | None = None) -> NewKey:
    tenants = known_tenants(conn)
    if tenant_id not in tenants:
        listed = ", ".join(tenants) if tenants else "none yet: run the pipeline (transform_warehouse) first"
        raise UnknownTenantError(f"unknown tenant {tenant_id!r} (from --tenant); tenants in the warehouse: {listed}")
    ensure_keys_table(conn)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with conn.cursor() as cur:
        cur.execute(
            "insert into security.api_keys (key_id, tenant_id, name, secret_sha256) values (%s, %s, %s, %s)",
            (key_id, tenant_id, name, hash_secret(secret)),
        )
    return NewKey(key_id, tenant_id, name, f"mk_{key_id}_{secret}")


def list_keys(conn: psycopg2.extensions.connection, tenant_id: str | None = None) -> list[dict]:
    ensure_keys_table(conn)
    with conn.cursor() as cur:
        cur.execute(
            "select key_id, tenant_id, name, created_at, revoked_at from security.api_keys "
            "where %(tenant)s::text is null or tenant_id = %(tenant)s order by tenant_id, created_at",
            {"tenant": tenant_id},
        )
        columns = [column.name for column in cur.description]
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def revoke_key(conn: psycopg2.extensions.connection, key_id: str) -> datetime:
    ensure_keys_table(conn)
    with conn.cursor() as cur:
        cur.execute(
            "update security.api_keys set revoked_at = coalesce(revoked_at, now()) where key_id = %s "
            "returning revoked_at",
            (key_id,),
        )
        row = cur.fetchone()
    if row is None:
        raise UnknownKeyError(f"no API key with id {key_id!r} (see `meridian api-key list`)")
    return row[0]


def format_keys(rows: list[dict]) -> str:
    if not rows:
        return "no API keys"
    lines = [f"{'id':<14} {'tenant':<16} {'created':<17} {'status':<8} name"]
    for row in rows:
        status = "revoked" if row["revoked_at"] else "active"
        lines.append(f"{row['key_id']:<14} {row['tenant_id']:<16} {row['created_at']:%Y-%m-%d %H:%M} "
                     f"{status:<8} {row['name'] or ''}")
    return "\n".join(lines)
