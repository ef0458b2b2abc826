"""Per-process state of the API: the settings, the connection pool, the cache, the limiter, report jobs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from meridian.config import WAREHOUSE_CONN_ID, ApiSettings, api_settings
from meridian.serve import rls
from meridian.serve.api.cache import make_cache
from meridian.serve.api.endpoint import Context, Endpoint
from meridian.serve.api.errors import ApiError
from meridian.serve.api.keys import secret_matches, split_key
from meridian.serve.api.params import parse_params
from meridian.serve.api.pool import ConnectionPool
from meridian.serve.api.ratelimit import RateLimiter
from meridian.serve.api.report_jobs import RawBody

HTML = "text/html; charset=utf-8"

AUTH_SQL = """
select key.tenant_id, key.secret_sha256, key.revoked_at is not null as revoked,
    (select jsonb_build_object('invocation_id', run.invocation_id, 'ended_at', run.ended_at,
                               'as_of_date', run.as_of_date, 'as_of_at', to_jsonb(run) -> 'as_of_at')
     from audit.transform_runs as run where run.status = 'success'
     order by run.ended_at desc nulls last limit 1) as run
from security.api_keys as key
where key.key_id = %s
"""
# the same, and in the same round trip SET LOCAL ROLE to the key's tenant's API role (the statement's tables were
# checked as the API's own role before it runs; the role takes effect for the request's next statements): column
# ``scoped_role`` is the role switched to, null when the tenant has no API role yet. A request whose key does not
# verify runs nothing more and its transaction is rolled back, which ends the role with it.
AUTH_SCOPED_SQL = AUTH_SQL.replace("from security.api_keys as key", f"""    , (select set_config('role', chosen.role_name, true)
       from ({rls.api_role_choice('key.tenant_id')}) as chosen) as scoped_role
from security.api_keys as key""")


def to_json(value: Any) -> bytes:
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False).encode()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class Run:
    token: str
    as_of: date
    as_of_label: str
    ended_at: str | None

    @classmethod
    def from_json(cls, run: dict | None) -> Run:
        if not run:
            raise ApiError(503, "no transform run has succeeded yet: the marts are not built "
                           "(run transform_warehouse first)")
        as_of_at = run.get("as_of_at")
        if as_of_at:
            instant = datetime.fromisoformat(as_of_at)
            from datetime import timedelta

            as_of = (instant.astimezone(UTC) - timedelta(microseconds=1)).date()
            label = instant.astimezone(UTC).isoformat()
        else:
            as_of = date.fromisoformat(run["as_of_date"])
            label = as_of.isoformat()
        token = hashlib.sha256(f"{run.get('invocation_id')}|{run.get('ended_at')}".encode()).hexdigest()[:16]
        return cls(token, as_of, label, run.get("ended_at"))


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    media_type: str = "application/json"


class ApiService:
    def __init__(self, settings: ApiSettings, dsn: str):
        self.settings = settings
        self.pool = ConnectionPool(dsn, settings.pool_size)
        self.cache = make_cache(settings.redis_url, settings.cache)
        self.limiter = RateLimiter(settings.rate_limits, settings.redis_url)
        self._link_key: bytes | None = None
        self._scoped: set[str] = set()

    @classmethod
    def from_environment(cls) -> ApiService:
        from meridian.db import dsn

        return cls(api_settings(), dsn(WAREHOUSE_CONN_ID))

    # --- one request -----------------------------------------------------------------------------

    def authenticate(self, cur: psycopg2.extensions.cursor, authorization: str | None,
                     scoped: bool = False) -> tuple[str, str, Run, str | None]:
        """The key's id, tenant and latest run; with ``scoped``, the transaction is then the tenant's API role's
        (its name is the fourth value; None when the tenant has no API role yet and so no switch happened)."""
        if not authorization:
            raise ApiError(401, "missing Authorization header: send `Authorization: Bearer <API key>`",
                           "Authorization", {"WWW-Authenticate": "Bearer"})
        scheme, _, key = authorization.partition(" ")
        parts = split_key(key.strip()) if scheme.lower() == "bearer" else None
        if parts is None:
            raise ApiError(401, "the Authorization header must be `Bearer <API key>` with a key from "
                           "`meridian api-key create`", "Authorization", {"WWW-Authenticate": "Bearer"})
        key_id, secret = parts
        try:
            cur.execute(AUTH_SCOPED_SQL if scoped else AUTH_SQL, (key_id,))
        except psycopg2.errors.UndefinedTable as exc:
            cur.connection.rollback()
            if "api_keys" in str(exc):
                raise ApiError(401, "unknown API key", "Authorization", {"WWW-Authenticate": "Bearer"}) from None
            raise ApiError(503, "no transform run has succeeded yet: audit.transform_runs does not exist") from None
        row = cur.fetchone()
        if row is None or not secret_matches(secret, row[1]):
            raise ApiError(401, "unknown API key", "Authorization", {"WWW-Authenticate": "Bearer"})
        if row[2]:
            raise ApiError(401, f"API key {key_id} has been revoked", "Authorization",
                           {"WWW-Authenticate": "Bearer"})
        return key_id, row[0], Run.from_json(row[3]), row[4] if scoped else None

    def _enter_scope(self, conn: psycopg2.extensions.connection, tenant_id: str) -> None:
        """The tenant's API role is created (and committed) once per process before its first query."""
        if tenant_id in self._scoped:
            return
        for attempt in range(2):
            try:
                with rls.tenant_scope(conn, tenant_id):
                    pass
                conn.commit()
                break
            except psycopg2.errors.UniqueViolation:  # another process created it at the same time
                conn.rollback()
                if attempt:
                    raise
        self._scoped.add(tenant_id)

    @staticmethod
    def _call(endpoint: Endpoint, conn: psycopg2.extensions.connection, context: Context) -> Any:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            context.cur = cur
            try:
                return endpoint.handler(context)
            except psycopg2.errors.UndefinedTable as exc:
                relation = str(exc).split('"')[1] if '"' in str(exc) else str(exc).strip()
                raise ApiError(503, f"{relation} is not built in this warehouse yet "
                               "(run transform_warehouse)") from None

    def link_key(self) -> bytes:
        """The HMAC key of report download links: MERIDIAN_API_SIGNING_KEY, else the warehouse's shared one."""
        if self._link_key is None:
            if self.settings.signing_key:
                self._link_key = self.settings.signing_key.encode()
            else:
                with self.pool.connection() as conn, conn.cursor() as cur:
                    try:
                        cur.execute("select secret from security.api_signing_key")
                        row = cur.fetchone()
                    except psycopg2.errors.UndefinedTable:
                        row = None
                if row is None:
                    raise ApiError(503, "security.api_signing_key is missing: run the warehouse bootstrap "
                                   "(any extract_sources run, or meridian.warehouse.bootstrap.ensure_warehouse)")
                self._link_key = row[0].encode()
        return self._link_key

    def answer(self, endpoint: Endpoint, query: dict[str, list[str]], headers: dict[str, str],
               path_values: dict[str, str], body: Any = None) -> Answer:
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                key_id, tenant_id, run, role = self.authenticate(cur, headers.get("authorization"), endpoint.scoped)
            self.limiter.check(key_id, endpoint.group)
            args = parse_params(endpoint.params, query)
            args.update(path_values)
            canonical = json.dumps(args, default=str, sort_keys=True)
            cache_key = f"{tenant_id}|{endpoint.method}|{endpoint.path}|{canonical}"
            etag = '"' + hashlib.sha256(f"{run.token}|{cache_key}".encode()).hexdigest()[:24] + '"'
            common = {"ETag": etag, "Cache-Control": "private, no-cache"} if endpoint.cache else {}
            if endpoint.cache and _etag_matches(headers.get("if-none-match"), etag):
                return Answer(304, b"", common)
            cached = self.cache.get(run.token, cache_key) if endpoint.cache else None
            if cached is not None:
                kind, rest = cached[:1], cached[1:]
                if kind == b"H":
                    return Answer(200, rest, common, HTML)
                data, generated = rest.split(b"\n", 1)
                return Answer(200, _envelope(data, run, True, generated), common)
            extra = {"service": self, "body": body, "run": run, "key_id": key_id}
            if endpoint.scoped and role is not None:
                # the transaction is already the tenant's API role's (set with the key's check): the queries run in it
                data = self._call(endpoint, conn, Context(tenant_id, run.as_of, args, None, self.settings, extra))
                conn.commit()
            elif endpoint.scoped:  # no API role yet: create it, then scope a transaction of its own
                conn.rollback()
                self._enter_scope(conn, tenant_id)
                with rls.tenant_scope(conn, tenant_id):
                    data = self._call(endpoint, conn, Context(tenant_id, run.as_of, args, None, self.settings, extra))
            else:
                conn.rollback()
                data = self._call(endpoint, conn, Context(tenant_id, run.as_of, args, None, self.settings, extra))
                conn.commit()
            if isinstance(data, RawBody):
                if endpoint.cache:
                    self.cache.put(run.token, cache_key, b"H" + data.content)
                return Answer(endpoint.status, data.content, common, data.media_type)
            generated = datetime.now(UTC).isoformat(timespec="milliseconds").encode()
            payload = to_json(data)
            if endpoint.cache:
                self.cache.put(run.token, cache_key, b"J" + payload + b"\n" + generated)
            return Answer(endpoint.status, _envelope(payload, run, False, generated), common)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [value.strip().removeprefix("W/") for value in header.split(",")]
    return "*" in candidates or etag in candidates


def _envelope(data: bytes, run: Run, cached: bool, generated: bytes) -> bytes:
    return (b'{"success":true,"data":' + data + b',"as_of":"' + run.as_of_label.encode() + b'","cached":'
            + (b"true" if cached else b"false") + b',"generatedAt":"' + generated + b'"}')
