"""E-mail through a real SMTP server (stdlib ``smtplib``), settings from ``PRONGSAI_SMTP_*``.

``send`` writes the message but its final ``.``, the one write that makes the server accept it,
and hands the write of that dot to ``final_dot``, so the outbox can record it in the next system
call. The dot is written corked (``TCP_CORK``, Linux): it waits in the kernel, so the server is not
woken and cannot take the CPU between the dot and its record; uncorking after the record sends it
(and so does the kernel if the process dies first: the data of a closed socket still goes out).
"""
from __future__ import annotations

import dataclasses
import re
import smtplib
import socket
import ssl
import struct
from email import encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

from prongsai.core.errors import UserError

SECURITY = ("starttls", "ssl", "plain")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "plain": 25}
_LEADING_DOT = re.compile(rb"(?m)^\.")
_CORK = getattr(socket, "TCP_CORK", None)  # Linux; elsewhere the dot goes out at once
_EOL = re.compile(rb"\r?\n")


class Permanent(Exception):
    """The server or the address refuses this message: trying again will not help."""


class Temporary(Exception):
    """The server is away or busy, or said "try later" (4xx)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str
    timeout: float = 30.0


def settings(config) -> Settings:
    """From the app config (``PRONGSAI_SMTP_HOST`` … ``_FROM``); UserError naming what is wrong."""
    from portal.complaints.intake import check_address

    host = config.get("SMTP_HOST")
    if not host:
        raise UserError("PRONGSAI_SMTP_HOST is not set: the outbox keeps every message until it is")
    security = str(config.get("SMTP_SECURITY", "starttls")).lower()
    if security not in SECURITY:
        raise UserError(f"PRONGSAI_SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}")
    try:
        port = int(config.get("SMTP_PORT") or DEFAULT_PORTS[security])
    except ValueError:
        raise UserError(f"PRONGSAI_SMTP_PORT is not a port number: {config.get('SMTP_PORT')!r}") from None
    try:
        sender = check_address(str(config.get("SMTP_FROM") or ""))
    except ValueError as exc:
        raise UserError(f"PRONGSAI_SMTP_FROM: {exc}") from None
    user = config.get("SMTP_USER")
    return Settings(str(host), port, security, str(user) if user else None,
                    str(config.get("SMTP_PASSWORD") or "") or None, sender,
                    float(config.get("SMTP_TIMEOUT", 30)))


def build(s: Settings, *, to: str, subject: str, text: str, html: str, message_id: str,
          attachments=(), headers=None) -> Message:
    """Plain text and HTML alternatives, optional files; nothing loaded from elsewhere. Built with
    the ``email.mime`` classes: six times faster than ``EmailMessage``, which set the outbox's pace.
    ``headers`` adds more (e.g. RFC 8058's ``List-Unsubscribe``)."""
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", "utf-8"))
    body.attach(MIMEText(html, "html", "utf-8"))
    msg = body
    if attachments:
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        for name, mime, data in attachments:
            part = MIMEBase(*mime.split("/", 1))
            part.set_payload(data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=name)
            msg.attach(part)
    msg["From"] = s.sender
    msg["To"] = to
    msg["Subject"] = Header(subject, "utf-8")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        msg[name] = value
    return msg


class Connection:
    """One SMTP session for a batch of messages; reopened after any error."""

    def __init__(self, s: Settings):
        self.s = s
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.s
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            # the final dot is a write of its own: without this, Nagle holds it for the server's delayed ACK
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise Permanent(f"the SMTP server refused the login of {s.user}: {exc.smtp_code} "
                            f"{exc.smtp_error.decode(errors='replace')}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Temporary(f"cannot reach the SMTP server {s.host}:{s.port} ({s.security}): {exc}") from None
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, msg: Message, final_dot=lambda write_dot: write_dot()) -> None:
        """Deliver ``msg`` to its ``To``; Permanent or Temporary (with the server's words) on failure.
        ``final_dot(write_dot)`` records "ending" and then calls ``write_dot``."""
        try:
            self._transaction(msg, final_dot)
        except (Permanent, Temporary):
            self._reset()
            raise
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            self._reset()
            raise Temporary(f"the connection to the SMTP server failed: {exc}") from None

    def _reset(self):
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def _transaction(self, msg, final_dot):
        if self.smtp is None:
            self.smtp = self._open()
        smtp = self.smtp
        smtp.ehlo_or_helo_if_needed()
        _expect(smtp.mail(self.s.sender), (250,), f"sender {self.s.sender}")
        _expect(smtp.rcpt(msg["To"]), (250, 251), "the recipient", hide=msg["To"])
        _expect(smtp.docmd("DATA"), (354,), "DATA")
        data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", msg.as_bytes()))
        smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
        _cork(smtp.sock, 1)
        try:
            final_dot(lambda: smtp.sock.sendall(b".\r\n"))
        except BaseException:
            # the dot's record failed: reset the connection, so the corked dot never leaves
            smtp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raise
        _cork(smtp.sock, 0)
        _expect(smtp.getreply(), (250,), "the message")


def _cork(sock, on: int) -> None:
    if _CORK is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _CORK, on)


def _expect(reply, codes, what, hide: str | None = None):
    """Raise Permanent (5xx) or Temporary with the server's words; ``hide``, an address, is never
    repeated in them: the error is logged and shown to moderators, who must not learn a reporter's
    or a subscriber's address from it."""
    code, text = reply
    if code in codes:
        return
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if hide:
        words = re.sub(re.escape(hide), "<recipient>", words, flags=re.I)
    problem = f"the SMTP server refused {what}: {code} {words}"
    raise (Permanent if 500 <= code < 600 else Temporary)(problem)
