"""SMTP credentials go only over an encrypted connection unless the connection explicitly opts out.

A real SMTP server (aiosmtpd) that offers AUTH without TLS: a connection with a
login must refuse to send the credentials in clear, naming the extra that
allows it; with ``allow_plaintext_login=true`` the login and the message go out.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from meridian.mailsink import free_port
from meridian.smtp import SendError, SmtpConfigError, parse_smtp_uri, send_message


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def plaintext_auth_server():
    inbox = _Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"reports" and auth_data.password == b"s3cret"
        if ok:
            inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "reports@meridian.local"
    message["To"] = "ops@example.com"
    message["Subject"] = "test"
    message.set_content("hello")
    return message


def test_login_is_not_sent_in_clear_by_default(plaintext_auth_server):
    port, inbox = plaintext_auth_server
    settings = parse_smtp_uri(f"smtp://reports:s3cret@127.0.0.1:{port}", "test")
    with pytest.raises((SmtpConfigError, SendError), match="allow_plaintext_login"):
        send_message(settings, _message(), attempts=1, sleep=lambda _: None)
    assert inbox.logins == [] and inbox.messages == []


def test_explicit_opt_out_logs_in_and_sends(plaintext_auth_server):
    port, inbox = plaintext_auth_server
    settings = parse_smtp_uri(f"smtp://reports:s3cret@127.0.0.1:{port}?allow_plaintext_login=true", "test")
    assert settings.allow_plaintext_login is True
    send_message(settings, _message(), attempts=1, sleep=lambda _: None)
    assert inbox.logins == ["reports"] and len(inbox.messages) == 1


def test_no_login_needs_no_tls(plaintext_auth_server):
    port, inbox = plaintext_auth_server
    send_message(parse_smtp_uri(f"smtp://127.0.0.1:{port}", "test"), _message(), attempts=1, sleep=lambda _: None)
    assert len(inbox.messages) == 1


def test_the_opt_out_must_be_a_boolean():
    with pytest.raises(SmtpConfigError, match="allow_plaintext_login"):
        parse_smtp_uri("smtp://u:p@relay.example.com:25?allow_plaintext_login=maybe", "test")
