"""A local SMTP sink: accepts every message and writes it as an ``.eml`` file.

The embedded stand-in for Mailpit or a relay (connection ``smtp_reports`` =
``smtp://127.0.0.1:8025``). Each message is written to ``settings().mail_dir``
(``out/mail``) as ``<UTC time>-<n>-<recipient>.eml``, exactly as received,
after two added headers that record the SMTP envelope:
``X-Sink-Envelope-From`` and ``X-Sink-Envelope-To`` (the real recipients,
which include any Bcc). Files are written via a temporary name and renamed,
so a reader never sees half a message. No TLS, no authentication; it listens
on loopback only unless told otherwise.

    python -m meridian.mailsink --port 8025          # foreground, Ctrl-C to stop

    handle = start_background(8025)                   # in a test or the demo
    ...
    stop(handle)
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import re
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from meridian.config import settings

log = logging.getLogger(__name__)


class MailSinkHandler:
    """aiosmtpd handler writing each message into ``mail_dir``."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = Path(mail_dir)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _path_for(self, recipients: list[str]) -> Path:
        with self._lock:
            number = next(self._counter)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        first = re.sub(r"[^A-Za-z0-9@._-]+", "_", recipients[0] if recipients else "unknown")[:80]
        return self.mail_dir / f"{stamp}-{os.getpid()}-{number:05d}-{first}.eml"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        recipients = list(envelope.rcpt_tos)
        header = (
            f"X-Sink-Envelope-From: {envelope.mail_from}\r\nX-Sink-Envelope-To: {', '.join(recipients)}\r\n"
        ).encode()
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        path = self._path_for(recipients)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(header + content)
        os.replace(tmp, path)
        log.info("mail sink: message from %s to %s written to %s", envelope.mail_from, recipients, path)
        return "250 Message accepted for delivery"


@dataclass
class SinkHandle:
    controller: Controller
    host: str
    port: int
    mail_dir: Path
    stopped: bool = False

    @property
    def uri(self) -> str:
        """The value for ``AIRFLOW_CONN_SMTP_REPORTS``."""
        return f"smtp://{self.host}:{self.port}"

    def stop(self) -> None:
        """Same as :func:`stop` (``handle.stop()``)."""
        stop(self)

    def messages(self) -> list[Path]:
        """The ``.eml`` files written so far, oldest first."""
        return sorted(self.mail_dir.glob("*.eml"))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_background(port: int | None = None, *, host: str = "127.0.0.1", mail_dir: Path | None = None) -> SinkHandle:
    """Start the sink in a background thread; ``port`` None = ``settings().smtp_port``, 0 = any free port."""
    cfg = settings()
    if port is None:
        port = cfg.smtp_port
    if port == 0:
        port = free_port(host)
    target = Path(mail_dir) if mail_dir is not None else cfg.mail_dir
    target.mkdir(parents=True, exist_ok=True)
    protocol_log = logging.getLogger("mail.log")  # aiosmtpd logs every SMTP command at INFO
    if protocol_log.level == logging.NOTSET:
        protocol_log.setLevel(logging.WARNING)
    controller = Controller(MailSinkHandler(target), hostname=host, port=port, ready_timeout=10)
    try:
        controller.start()
    except Exception as exc:
        raise RuntimeError(
            f"could not start the mail sink on {host}:{port}: {exc}. Is the port taken? "
            "Set MERIDIAN_SMTP_PORT (and AIRFLOW_CONN_SMTP_REPORTS) to another port."
        ) from exc
    log.info("mail sink listening on %s:%s, writing to %s", host, port, target)
    return SinkHandle(controller, host, port, target)


def stop(handle: SinkHandle) -> None:
    """Stop a sink started with :func:`start_background` (harmless if already stopped)."""
    if not handle.stopped:
        handle.controller.stop()
        handle.stopped = True
        log.info("mail sink on %s:%s stopped", handle.host, handle.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meridian.mailsink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default MERIDIAN_SMTP_PORT or 8025)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write .eml files (default out/mail)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    handle = start_background(args.port, host=args.host, mail_dir=args.dir)
    print(f"mail sink on {handle.uri}, writing to {handle.mail_dir} (Ctrl-C to stop)", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        stop(handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
