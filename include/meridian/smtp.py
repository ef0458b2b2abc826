"""Sending mail: the SMTP connection and sending with retries (the report e-mail,
the data-quality notices and the transform alerts all go out through it).

Connection id ``smtp_reports``, resolved like the database ones
(:mod:`meridian.db`): the ``AIRFLOW_CONN_SMTP_REPORTS`` environment variable
(a URI such as ``smtp://127.0.0.1:8025`` or Airflow's JSON form), then an
Airflow connection of that id, then the embedded default (the local sink).

Why smtplib and not ``airflow.providers.smtp.hooks.smtp.SmtpHook``: the hook
(provider 3.2) turns SSL *and* STARTTLS on unless the connection carries
``disable_ssl``/``disable_tls`` extras, so the plain ``smtp://127.0.0.1:8025``
the embedded setup and the docker-compose Mailpit use fails with it; its
``send_email_smtp`` builds its own HTML-only MIME message from file paths (no
plain-text part, no custom Message-ID) and retries immediately, without
backoff. So the message is an :class:`email.message.EmailMessage` built here
and sent with :mod:`smtplib`, from the same connection and honouring the
hook's extras with the same names:

- ``from_email`` the sender (default ``Meridian Reports <reports@meridian.local>``);
- ``disable_ssl``: SSL from the first byte when ``false``; when absent, only on port 465;
- ``disable_tls``: ``true`` never sends STARTTLS, ``false`` requires it; when
  absent, STARTTLS is used if the server offers it;
- ``timeout`` seconds (default 30); login and password from the connection, if set;
- ``allow_plaintext_login``: credentials go only over an encrypted connection
  (SSL or STARTTLS); when the server offers neither, sending stops with an error
  naming this extra, unless it is ``true`` (an explicit opt-out, for a relay on a
  trusted network).

Sending retries transient failures with exponential backoff: anything before
the message's content goes out (connection refused, greeting, MAIL, RCPT, the
DATA command), a 4xx reply to the content, and a dropped connection or a
timeout after the content went out and before the reply. That last one leaves
the outcome unknown (the server may have queued the message: RFC 1047's
duplicate-message problem); the retry sends the very same message, with the
same Message-ID, so a receiving system that keeps the first copy of a
Message-ID deduplicates it. :class:`SendError` says ``outcome_unknown`` when
the last attempt ended that way. 5xx replies (recipient or sender refused,
authentication failed, content rejected) are not retried.
``send_message(before_data=...)`` calls back just before the content goes out,
so the caller can record that moment first.

The report e-mail itself is built by :mod:`meridian.delivery.message`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from meridian.config import SMTP_CONN_ID, embedded_uri

log = logging.getLogger(__name__)

DEFAULT_FROM = "Meridian Reports <reports@meridian.local>"


class SmtpConfigError(ValueError):
    """The SMTP connection is unusable; the message names the connection and where it came from."""


class SendError(RuntimeError):
    """Sending failed after ``attempts``; ``retryable``: a later attempt may succeed.

    ``outcome_unknown``: the last attempt's connection broke after the
    message's content had gone out and before the server replied, so the
    server may have accepted it; resending it (same Message-ID) is safe.
    """

    def __init__(self, message: str, attempts: int, retryable: bool, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    starttls: str = "auto"  # never | auto | always
    from_email: str = DEFAULT_FROM
    timeout: float = 30.0
    allow_plaintext_login: bool = False  # credentials over an unencrypted connection only when opted out
    source: str = ""  # where the settings came from, for error messages

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.source})"


def _flag(extras: dict[str, Any], name: str) -> bool | None:
    value = extras.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise SmtpConfigError(f"extra {name}={value!r} must be true or false")


def _settings_from_parts(
    host: str | None, port: int | None, login: str | None, password: str | None, extras: dict[str, Any], source: str
) -> SmtpSettings:
    if not host:
        raise SmtpConfigError(f"no host in the SMTP connection from {source}")
    disable_ssl = _flag(extras, "disable_ssl")
    use_ssl = (disable_ssl is False) or (disable_ssl is None and port == 465)
    disable_tls = _flag(extras, "disable_tls")
    starttls = "never" if use_ssl or disable_tls else ("always" if disable_tls is False else "auto")
    try:
        timeout = float(extras.get("timeout", 30))
    except (TypeError, ValueError) as exc:
        raise SmtpConfigError(f"extra timeout={extras.get('timeout')!r} from {source} must be seconds") from exc
    return SmtpSettings(
        host=host,
        port=int(port or (465 if use_ssl else 25)),
        login=login or None,
        password=password or None,
        use_ssl=use_ssl,
        starttls=starttls,
        from_email=str(extras.get("from_email") or DEFAULT_FROM),
        timeout=timeout,
        allow_plaintext_login=bool(_flag(extras, "allow_plaintext_login")),
        source=source,
    )


def parse_smtp_uri(uri: str, source: str) -> SmtpSettings:
    """``smtp://[login:password@]host[:port][?from_email=..&disable_tls=true]`` or Airflow's JSON form."""
    text = uri.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SmtpConfigError(f"{source} is not valid JSON: {exc}") from exc
        extras = parsed.get("extra") or {}
        if isinstance(extras, str):
            extras = json.loads(extras or "{}")
        return _settings_from_parts(
            parsed.get("host"), parsed.get("port"), parsed.get("login"), parsed.get("password"), dict(extras), source
        )
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps", "email"):
        raise SmtpConfigError(f"{source} has scheme {parts.scheme!r}; expected smtp://host:port")
    try:
        port = parts.port
    except ValueError as exc:
        raise SmtpConfigError(f"{source} has an invalid port: {exc}") from exc
    extras: dict[str, Any] = dict(parse_qsl(parts.query))
    if "__extra__" in extras:  # Airflow's URI form for nested extras
        extras.update(json.loads(extras.pop("__extra__")))
    if parts.scheme == "smtps" and "disable_ssl" not in extras:
        extras["disable_ssl"] = "false"
    return _settings_from_parts(
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        extras,
        source,
    )


def smtp_settings(conn_id: str = SMTP_CONN_ID) -> SmtpSettings:
    """Resolve ``conn_id``: environment variable, then Airflow connection, then the embedded sink."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    uri = os.environ.get(variable)
    if uri:
        return parse_smtp_uri(uri, f"environment variable {variable}")
    try:
        from airflow.sdk import BaseHook  # only inside Airflow

        conn = BaseHook.get_connection(conn_id)
        return _settings_from_parts(
            conn.host, conn.port, conn.login, conn.password, dict(conn.extra_dejson), f"Airflow connection {conn_id!r}"
        )
    except SmtpConfigError:
        raise
    except Exception:  # noqa: BLE001 - not in Airflow, or no such connection: use the embedded default
        log.debug("connection %s not found in Airflow; using the embedded default", conn_id)
    if conn_id != SMTP_CONN_ID:
        raise SmtpConfigError(f"no SMTP connection {conn_id!r}: set {variable}=smtp://host:port")
    return parse_smtp_uri(embedded_uri(conn_id), "the embedded default (local mail sink)")


class _DataTracking:
    """``data()`` of :class:`smtplib.SMTP`, with a callback just before the content goes out.

    Same steps as the standard library's (DATA, 354, dot-stuffed content, the
    final ``.``, the reply), plus ``before_data`` and two attributes:
    ``data_sent`` (the content has started going out) and ``data_reply`` (the
    server's reply to it, None until read). ``data_sent and data_reply is None``
    after an error means the server may hold the message.
    """

    before_data: Callable[[], None] | None = None
    data_sent = False
    data_reply: tuple[int, bytes] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = re.sub(r"\r\n|\n|\r", "\r\n", msg).encode("ascii")
        content = re.sub(rb"(?m)^\.", b"..", msg)
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        if self.before_data is not None:
            self.before_data()
        self.data_sent = True
        self.send(content + b".\r\n")  # type: ignore[attr-defined]
        self.data_reply = self.getreply()  # type: ignore[attr-defined]
        return self.data_reply


class _SMTP(_DataTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_DataTracking, smtplib.SMTP_SSL):
    pass


def _open(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.use_ssl:
        client: smtplib.SMTP = _SMTPSSL(
            settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
        )
    else:
        client = _SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo()
        encrypted = settings.use_ssl
        if settings.starttls == "always" or (settings.starttls == "auto" and client.has_extn("starttls")):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
            encrypted = True
        if settings.login and settings.password:
            if not encrypted and not settings.allow_plaintext_login:
                raise SmtpConfigError(
                    f"SMTP server {settings.describe()} offers no TLS: the login {settings.login!r} would be sent "
                    "in clear; use SSL/STARTTLS, or set the connection extra allow_plaintext_login=true to allow it"
                )
            client.login(settings.login, settings.password)
    except BaseException:
        client.close()
        raise
    return client


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return isinstance(exc, (smtplib.SMTPException, OSError))


def send_message(
    settings: SmtpSettings,
    message: EmailMessage,
    *,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    before_data: Callable[[], None] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Send ``message``; returns (attempts used, recipients the server refused while accepting others).

    Raises :class:`SendError` after ``attempts`` transient failures (waiting
    ``backoff_seconds`` × 2ⁿ between them) or at the first permanent one. A
    connection that broke after the content went out and before the server's
    reply is transient: the next attempt sends the same message (same
    Message-ID); ``outcome_unknown`` on the error says the last attempt ended
    so. ``before_data`` is called before each attempt's content goes out; if
    it raises, nothing is sent and its error propagates.
    """
    last: BaseException | None = None
    unknown = False
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        client: smtplib.SMTP | None = None
        try:
            client = _open(settings)
            client.before_data = before_data  # type: ignore[attr-defined]
            refused = client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            if client is not None:
                client.close()
            last = exc
            unknown = client is not None and client.data_sent and client.data_reply is None  # type: ignore[attr-defined]
            if unknown:
                log.warning(
                    "SMTP attempt %s/%s to %s: the connection broke after the message %s was handed over and before "
                    "the server replied (%r); the server may hold it, the next attempt resends the same Message-ID",
                    attempt, attempts, settings.describe(), message["Message-ID"], exc,
                )
                if attempt < attempts:
                    sleep(backoff_seconds * 2 ** (attempt - 1))
                continue
            retryable = _retryable(exc)
            log.warning("SMTP attempt %s/%s to %s failed: %s", attempt, attempts, settings.describe(), exc)
            if not retryable:
                raise SendError(f"SMTP {settings.describe()} refused the message: {exc}", attempt, False) from exc
            if attempt < attempts:
                sleep(backoff_seconds * 2 ** (attempt - 1))
            continue
        except BaseException:
            if client is not None:
                client.close()
            raise
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
        return attempt, dict(refused)
    if unknown:
        raise SendError(
            f"SMTP {settings.describe()} failed {attempts} times; the last attempt's connection broke after the "
            f"message {message['Message-ID']} was handed over and before the server replied ({last!r}): the server "
            "may have accepted it",
            attempts,
            True,
            outcome_unknown=True,
        ) from last
    raise SendError(
        f"SMTP {settings.describe()} failed {attempts} times; last error: {last!r}", attempts, True
    ) from last
