"""Reports on demand: ``POST /analytics/reports/generate`` renders in a background thread (meridian.reports,
under the key's tenant's row-level security) and mails when asked; ``GET /analytics/reports/{id}`` gives the
status and download links signed (HMAC) to expire after 24 hours.

Jobs are rows of ``security.api_report_jobs`` (any API process answers a status); the files are rendered
into ``$MERIDIAN_OUT_DIR/api-reports/<tenant>/<id>/`` on the machine of the process that took the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from meridian.serve import rls
from meridian.serve.api.endpoint import Context
from meridian.serve.api.errors import ApiError, bad_parameter
from meridian.serve.api.params import parse_date

log = logging.getLogger(__name__)

LINK_SECONDS = 24 * 3600
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
GENERATE_BODY_SCHEMA = {
    "type": "object",
    "required": ["report_type", "start_date", "end_date"],
    "properties": {
        "report_type": {"type": "string"},
        "formats": {"type": "array", "items": {"type": "string", "enum": ["pdf", "csv", "xlsx", "html"]}},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        "email_to": {"type": "array", "items": {"type": "string", "format": "email"}},
    },
}


class RawBody:
    """A response body that is not JSON (the monthly report as HTML)."""

    def __init__(self, content: bytes, media_type: str):
        self.content = content
        self.media_type = media_type


def _frequency(start: date, end: date) -> str:
    if start == end:
        return "daily"
    if start.day == 1 and (end + timedelta(days=1)).day == 1 and (start.year, start.month) == (end.year, end.month):
        return "monthly"
    return "weekly"


def parse_generate_body(raw: bytes | None, max_days: int) -> dict[str, Any]:
    from meridian.reports.registry import REPORT_TYPES, ReportConfigError
    from meridian.reports.render import check_formats

    try:
        body = json.loads(raw or b"")
    except ValueError:
        raise bad_parameter("body", "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise bad_parameter("body", "the request body must be a JSON object")
    unknown = sorted(set(body) - set(GENERATE_BODY_SCHEMA["properties"]))
    if unknown:
        raise bad_parameter(unknown[0], f"unknown field {unknown[0]!r}; fields: report_type, formats, start_date, "
                            "end_date, email_to")
    report_type = body.get("report_type")
    if not isinstance(report_type, str) or report_type not in REPORT_TYPES:
        raise bad_parameter("report_type", f"report_type={report_type!r} is not one of {', '.join(REPORT_TYPES)}")
    formats = body.get("formats", ["pdf"])
    if not isinstance(formats, list) or not all(isinstance(item, str) for item in formats):
        raise bad_parameter("formats", "formats must be a list of format names")
    try:
        formats = check_formats(formats)
    except ReportConfigError as exc:
        raise bad_parameter("formats", str(exc)) from None
    dates = {}
    for name in ("start_date", "end_date"):
        value = body.get(name)
        if not isinstance(value, str):
            raise bad_parameter(name, f"{name} is required as YYYY-MM-DD")
        dates[name] = parse_date(value, name)
    if dates["start_date"] > dates["end_date"]:
        raise bad_parameter("start_date", f"start_date={dates['start_date']} is after end_date={dates['end_date']}")
    if (dates["end_date"] - dates["start_date"]).days + 1 > max_days:
        raise bad_parameter("end_date", f"the period is longer than {max_days} days")
    email_to = body.get("email_to") or []
    if isinstance(email_to, str):
        email_to = [email_to]
    if not isinstance(email_to, list) or not all(isinstance(item, str) and EMAIL.fullmatch(item) for item in email_to):
        raise bad_parameter("email_to", f"email_to={body.get('email_to')!r} must be a list of e-mail addresses")
    return {"report_type": report_type, "formats": formats, "start": dates["start_date"], "end": dates["end_date"],
            "email_to": email_to}


def generate(ctx: Context) -> dict:
    """Record the job (any API process can answer its status) and render it in a thread of this one."""
    service = ctx.extra["service"]
    request = parse_generate_body(ctx.extra.get("body"), ctx.settings.max_range_days)
    job_id = secrets.token_hex(8)
    stored = {**request, "start": request["start"].isoformat(), "end": request["end"].isoformat()}
    ctx.cur.execute(
        "insert into security.api_report_jobs (job_id, tenant_id, key_id, status, request) "
        "values (%s, %s, %s, 'queued', %s)", (job_id, ctx.tenant_id, ctx.extra.get("key_id"), json.dumps(stored)))
    threading.Thread(target=_render, args=(service, job_id, ctx.tenant_id, request), name=f"report-{job_id}",
                     daemon=True).start()
    return {"id": job_id, "status": "queued", "status_url": f"analytics/reports/{job_id}"}


def _update(service, job_id: str, **values: Any) -> None:
    columns = ", ".join(f"{name} = %({name})s" for name in values)
    with service.pool.connection() as conn, conn.cursor() as cur:
        cur.execute(f"update security.api_report_jobs set {columns} where job_id = %(job_id)s",
                    {**values, "job_id": job_id})
        conn.commit()


def _render(service, job_id: str, tenant_id: str, request: dict) -> None:
    from meridian.reports.data import load_report_data
    from meridian.reports.periods import Period
    from meridian.reports.registry import REPORT_TYPES
    from meridian.reports.render import render_report

    try:
        _update(service, job_id, status="rendering")
        period = Period(_frequency(request["start"], request["end"]), request["start"], request["end"])
        with service.pool.connection() as conn:
            service._enter_scope(conn, tenant_id)
            with rls.tenant_scope(conn, tenant_id):
                data = load_report_data(conn, REPORT_TYPES[request["report_type"]], tenant_id, period, {},
                                        generated_at=datetime.now(UTC))
        folder = service.settings.reports_dir / tenant_id / job_id
        files = render_report(data, request["formats"], folder)
        mailed = None
        if request["email_to"]:
            from meridian.delivery.message import build_message
            from meridian.smtp import send_message, smtp_settings

            smtp = smtp_settings()
            send_message(smtp, build_message(data, files, request["email_to"], sender=smtp.from_email, report_id=0))
            mailed = request["email_to"]
        _update(service, job_id, status="done", folder=str(folder), files=[path.name for path in files],
                mailed_to=mailed, finished_at=datetime.now(UTC))
    except Exception as exc:  # noqa: BLE001 - the job records why it failed; the client reads it
        log.exception("report job %s failed", job_id)
        _update(service, job_id, status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=datetime.now(UTC))


def sign(key: bytes, job_id: str, name: str, expires: int) -> str:
    return hmac.new(key, f"{job_id}/{name}/{expires}".encode(), hashlib.sha256).hexdigest()


def status(ctx: Context) -> dict:
    job_id = str(ctx.args.get("id"))
    ctx.cur.execute("select * from security.api_report_jobs where job_id = %s and tenant_id = %s",
                    (job_id, ctx.tenant_id))
    job = ctx.cur.fetchone()
    if job is None:
        raise ApiError(404, f"no report job {job_id!r} for this key's tenant", "id")
    key = ctx.extra["service"].link_key()
    expires = int(time.time()) + LINK_SECONDS
    links = [{"name": name, "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
              "url": f"analytics/reports/{job_id}/files/{name}?expires={expires}"
                     f"&signature={sign(key, job_id, name, expires)}"}
             for name in job["files"]] if job["status"] == "done" else []
    request = job["request"]
    return {"id": job_id, "status": job["status"], "report_type": request["report_type"],
            "formats": request["formats"], "start_date": request["start"], "end_date": request["end"],
            "email_to": request["email_to"], "mailed_to": job["mailed_to"], "error": job["error"],
            "created_at": job["created_at"], "finished_at": job["finished_at"], "downloads": links}


def download(service, job_id: str, name: str, expires: str | None, signature: str | None) -> Path:
    """The file of a signed link (no key needed: the signature is the authorisation)."""
    if not expires or not expires.isdigit():
        raise bad_parameter("expires", "expires must be the link's expiry (a whole number of seconds)")
    if not signature or not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise bad_parameter("signature", "signature is missing or malformed")
    if not hmac.compare_digest(sign(service.link_key(), job_id, name, int(expires)), signature):
        raise ApiError(403, "the download link's signature does not match", "signature")
    if int(expires) < time.time():
        raise ApiError(410, "the download link has expired; ask the report's status for a new one", "expires")
    with service.pool.connection() as conn, conn.cursor() as cur:
        cur.execute("select folder, files from security.api_report_jobs where job_id = %s", (job_id,))
        row = cur.fetchone()
    if row is None or row[0] is None or name not in row[1]:
        raise ApiError(404, f"no file {name!r} in report job {job_id!r}", "name")
    path = Path(row[0]) / name
    if not path.exists():
        raise ApiError(410, f"{name} is no longer on this server's disk", "name")
    return path


def payments_report_html(ctx: Context, month: date) -> RawBody:
    from meridian.reports.data import load_report_data
    from meridian.reports.periods import Period
    from meridian.reports.registry import REPORT_TYPES
    from meridian.reports.render.html import html_document

    end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    data = load_report_data(ctx.cur.connection, REPORT_TYPES["payments"], ctx.tenant_id,
                            Period("monthly", month, end), {}, generated_at=datetime.now(UTC))
    return RawBody(html_document(data).encode(), "text/html; charset=utf-8")
