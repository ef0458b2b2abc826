"""Configuration, read in one place.

Every setting comes from an environment variable with a default that suits a
local run from the repository. Connections are Airflow connection ids; the
embedded PostgreSQL fills in only the ones that are not set
(``AIRFLOW_CONN_<ID>`` always wins).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE_CONNECTIONS: dict[str, str] = {
    "app": "source_app",
    "billing": "source_billing",
    "crm": "source_crm",
    "games": "source_games",
}
WAREHOUSE_CONN_ID = "warehouse"
SMTP_CONN_ID = "smtp_reports"

# database name in the embedded server for each connection id
EMBEDDED_DATABASES: dict[str, str] = {
    WAREHOUSE_CONN_ID: "warehouse",
    "source_app": "app",
    "source_billing": "billing",
    "source_crm": "crm",
    "source_games": "games",
}


def repo_root() -> Path:
    """The repository the package is installed from (``MERIDIAN_HOME`` overrides)."""
    env = os.environ.get("MERIDIAN_HOME")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    root: Path
    state_dir: Path  # embedded server data, airflow home
    landing_dir: Path
    out_dir: Path
    pg_port: int
    smtp_port: int
    dbt_project_dir: Path
    late_arrival_days: int
    # data-quality monitoring (meridian.quality): where high/critical alerts are e-mailed, and the share of
    # a source table's rows landed by one as-of date's batches above which quarantine raises an alert
    ops_email: str = "ops@meridian.local"
    quarantine_alert_rate: float = 0.02
    # extraction (meridian.extract.tables): minutes each window re-reads before the watermark. The sweep of
    # rows not yet committed at the previous read already catches every late commit; a margin only adds
    # re-reads (duplicates downstream), for sources whose transaction ids cannot be trusted
    extract_overlap_minutes: int = 0
    # raw events (raw.app__events, raw.app__event_files) are kept this many calendar months before a
    # run's as-of; older months move to the history layer (meridian.warehouse.retention)
    raw_retention_months: int = 13

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def mail_dir(self) -> Path:
        return self.out_dir / "mail"

    @property
    def reports_dir(self) -> Path:
        return self.out_dir / "reports"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={raw!r} must be a whole number") from exc


def _positive_int_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 1:
        raise ValueError(f"environment variable {name}={os.environ.get(name)!r} must be a whole number of at least 1")
    return value


def _rate_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={raw!r} must be a fraction between 0 and 1") from exc
    if not 0 <= value <= 1:
        raise ValueError(f"environment variable {name}={raw!r} must be a fraction between 0 and 1")
    return value


def _non_negative_int_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 0:
        raise ValueError(f"environment variable {name}={value} must be zero or more")
    return value


def settings() -> Settings:
    root = repo_root()
    state_dir = Path(os.environ.get("MERIDIAN_STATE_DIR", root / ".meridian")).resolve()
    return Settings(
        root=root,
        state_dir=state_dir,
        landing_dir=Path(os.environ.get("MERIDIAN_LANDING_DIR", root / "data" / "landing")).resolve(),
        out_dir=Path(os.environ.get("MERIDIAN_OUT_DIR", root / "out")).resolve(),
        pg_port=_int_env("MERIDIAN_PG_PORT", 54329),
        smtp_port=_int_env("MERIDIAN_SMTP_PORT", 8025),
        dbt_project_dir=Path(os.environ.get("MERIDIAN_DBT_PROJECT_DIR", root / "dbt_project")).resolve(),
        late_arrival_days=_int_env("MERIDIAN_LATE_ARRIVAL_DAYS", 3),
        ops_email=os.environ.get("MERIDIAN_OPS_EMAIL") or "ops@meridian.local",
        quarantine_alert_rate=_rate_env("MERIDIAN_QUARANTINE_ALERT_RATE", 0.02),
        extract_overlap_minutes=_non_negative_int_env("MERIDIAN_EXTRACT_OVERLAP_MINUTES", 0),
        raw_retention_months=_positive_int_env("MERIDIAN_RAW_RETENTION_MONTHS", 13),
    )


DEFAULT_EXTRACT_SCHEDULE = "*/15 * * * *"


def extract_schedule() -> str:
    """The cron schedule of extract_sources (``MERIDIAN_EXTRACT_SCHEDULE``, UTC; default every 15 minutes).

    Each run's as-of instant is its scheduled time; transform_warehouse follows
    through the raw asset. Read when the DAG file is parsed (no database call).
    """
    value = (os.environ.get("MERIDIAN_EXTRACT_SCHEDULE") or DEFAULT_EXTRACT_SCHEDULE).strip()
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"environment variable MERIDIAN_EXTRACT_SCHEDULE={value!r} must be a 5-field cron expression "
            f"such as {DEFAULT_EXTRACT_SCHEDULE!r} (every 15 minutes) or '0 * * * *' (hourly)"
        )
    return value


BI_PASSWORD_ENV = "MERIDIAN_BI_PASSWORD"


def bi_password() -> str | None:
    """The password ``meridian bi grant`` gives the role (never from the command line); None when unset or empty."""
    return os.environ.get(BI_PASSWORD_ENV) or None


EMBEDDED_PASSWORD_FILE = "pg-password"


def embedded_password() -> str:
    """The embedded server's superuser password: generated once per state dir, kept in a private file.

    The embedded PostgreSQL asks for it on 127.0.0.1 (scram-sha-256), so another
    local user cannot connect as the superuser; the file is readable by its owner only.
    """
    return private_secret(settings().state_dir / EMBEDDED_PASSWORD_FILE, 24)


def private_secret(path: Path, nbytes: int) -> str:
    """A random secret (``nbytes`` random bytes, URL-safe text) generated once into an owner-only file."""
    import secrets

    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(nbytes)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value + "\n")
        return value
    except FileExistsError:  # pragma: no cover - another process created it first
        return path.read_text().strip()


def embedded_uri(conn_id: str, port: int | None = None) -> str:
    """The embedded default URI of a connection id (the superuser with the state dir's password, on loopback)."""
    if conn_id == SMTP_CONN_ID:
        return f"smtp://127.0.0.1:{port or settings().smtp_port}"
    try:
        database = EMBEDDED_DATABASES[conn_id]
    except KeyError as exc:
        known = ", ".join(sorted([*EMBEDDED_DATABASES, SMTP_CONN_ID]))
        raise KeyError(f"unknown connection id {conn_id!r}; known ids: {known}") from exc
    from urllib.parse import quote

    password = quote(embedded_password(), safe="")
    return f"postgres://postgres:{password}@127.0.0.1:{port or settings().pg_port}/{database}"


AIRFLOW_METADATA_DATABASE = "airflow"  # Airflow's own metadata, beside the others in the embedded server


def airflow_metadata_uri() -> str:
    """The SQLAlchemy URI of Airflow's metadata database in the embedded server (``meridian ui``, the services)."""
    from urllib.parse import quote

    password = quote(embedded_password(), safe="")
    return f"postgresql+psycopg2://postgres:{password}@127.0.0.1:{settings().pg_port}/{AIRFLOW_METADATA_DATABASE}"


def airflow_port() -> int:
    """The port of the Airflow api-server (UI and REST API) of ``meridian ui`` (``MERIDIAN_AIRFLOW_PORT``)."""
    return _int_env("MERIDIAN_AIRFLOW_PORT", 8080)


def airflow_password() -> str | None:
    """The ``admin`` password of ``meridian ui`` (``MERIDIAN_AIRFLOW_PASSWORD``); None: generated into a private file."""
    return os.environ.get("MERIDIAN_AIRFLOW_PASSWORD") or None


def connection_env() -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every connection id not already set in the environment."""
    env: dict[str, str] = {}
    for conn_id in [*EMBEDDED_DATABASES, SMTP_CONN_ID]:
        var = f"AIRFLOW_CONN_{conn_id.upper()}"
        if not os.environ.get(var):
            env[var] = embedded_uri(conn_id)
    return env


def postgres_dsn(conn_id: str) -> str:
    """A libpq URI for a connection id outside Airflow: the env variable, else the embedded default."""
    uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if uri:
        return normalize_postgres_uri(uri)
    return embedded_uri(conn_id)


def normalize_postgres_uri(uri: str) -> str:
    """Airflow writes ``postgres://``/``postgresql://``; libpq accepts both, drop Airflow-only query args."""
    if uri.startswith("postgresql+psycopg2://"):
        uri = "postgresql://" + uri.split("://", 1)[1]
    return uri


# --- the KPI read API (meridian.serve.api) ------------------------------------------------------

# requests per minute per key and route group (docs/api.md "Auth, tenancy, limits"); health is per client
DEFAULT_RATE_LIMITS: dict[str, int] = {"dashboard": 60, "revenue": 30, "cohorts": 30, "health": 120, "default": 60}


@dataclass(frozen=True)
class ApiSettings:
    rate_limits: dict[str, int]  # group -> requests per minute; 0 = unlimited
    signing_key: str | None  # HMAC key of report download links; None = a random key per process
    redis_url: str | None  # shared response cache and rate limits across processes
    pool_size: int  # warehouse connections per process
    freshness_hours: int  # /health answers 503 when the last successful transform ended longer ago
    max_range_days: int  # the longest from–to a request may ask for
    reports_dir: Path  # where reports generated through the API are rendered
    cache: bool = True  # MERIDIAN_API_CACHE=off answers every request from the marts (for measurements)


def _rate_limits_env(name: str) -> dict[str, int]:
    limits = dict(DEFAULT_RATE_LIMITS)
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return limits
    if raw.lower() == "off":
        return {group: 0 for group in limits}
    for item in raw.split(","):
        group, _, value = item.partition("=")
        group = group.strip()
        if group not in limits or not value.strip().isdigit():
            raise ValueError(
                f"environment variable {name}={raw!r}: each item must be GROUP=N with GROUP one of "
                f"{', '.join(limits)} and N a whole number of requests per minute (0 = unlimited), or 'off'; "
                f"bad item {item.strip()!r}"
            )
        limits[group] = int(value)
    return limits


def api_settings() -> ApiSettings:
    return ApiSettings(
        rate_limits=_rate_limits_env("MERIDIAN_API_RATE_LIMITS"),
        signing_key=os.environ.get("MERIDIAN_API_SIGNING_KEY") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
        pool_size=max(1, _int_env("MERIDIAN_API_POOL_SIZE", 8)),
        freshness_hours=_int_env("MERIDIAN_API_FRESHNESS_HOURS", 36),
        max_range_days=_int_env("MERIDIAN_API_MAX_RANGE_DAYS", 1100),
        reports_dir=settings().out_dir / "api-reports",
        cache=(os.environ.get("MERIDIAN_API_CACHE") or "on").lower() not in ("off", "0", "false", "no"),
    )
