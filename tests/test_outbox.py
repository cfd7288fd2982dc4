"""The outbox on a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, retries and backoff,
refusals given up visibly, crash recovery, the health numbers, the moderators' page, the CLI."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import socket
import time

import pytest
from aiosmtpd.controller import Controller

from portal import create_app
from portal.complaints import mail, notify, outbox
from portal.complaints.db import open_complaints_db, transaction
from prongsai.cli import cli
from prongsai.core import clock
from prongsai.core.errors import UserError

SENDER = "noreply@prongsai.test"


class Inbox:
    """An aiosmtpd handler keeping what arrived; ``rules`` answer RCPT for some addresses."""

    def __init__(self):
        self.messages, self.rules, self.port = [], {}, None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rules:
            return self.rules[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg.rcpt_tos = list(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if address in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


def mail_config(port, **extra):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "plain", "SMTP_FROM": SENDER,
            "SMTP_TIMEOUT": 5, "PUBLIC_URL": "https://prongsai.example", **extra}


@pytest.fixture
def mail_app(demo_db, tmp_path, smtp):
    return create_app({"TESTING": True, "DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"),
                       "SECRET_KEY": "test", **mail_config(smtp.port)})


@pytest.fixture
def conn(mail_app):
    with mail_app.app_context():
        c = open_complaints_db(mail_app.config["COMPLAINTS_DATABASE"])
        yield c
        c.close()


def queue(conn, key="k1", to="reader@example.org", **kw):
    with transaction(conn):
        return outbox.enqueue(conn, key, "test", to={"address": to}, subject=kw.pop("subject", "เรื่องทดสอบ"),
                              text="ข้อความ", html="<p>ข้อความ</p>", **kw)


def deliver(app, conn):
    return notify.deliver(conn, mail.settings(app.config))


def test_a_queued_message_arrives_once_with_its_message_id_plain_and_html(mail_app, conn, smtp):
    assert queue(conn) is True
    assert queue(conn) is False  # the same key: still one message
    assert deliver(mail_app, conn) == {"sent": 1, "retry": 0, "failed": 0}
    assert deliver(mail_app, conn) == {"sent": 0, "retry": 0, "failed": 0}
    [msg] = smtp.messages
    row = conn.execute("SELECT * FROM outbox").fetchone()
    assert msg["Message-ID"] == row["message_id"] and row["message_id"].endswith("@prongsai.test>")
    assert msg["Subject"] == "เรื่องทดสอบ" and msg["From"] == SENDER
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert row["status"] == "sent" and row["attempts"] == 1 and not row["unconfirmed"]
    assert [a["outcome"] for a in conn.execute("SELECT outcome FROM outbox_attempts")] == ["sent"]


def test_payloads_are_stored_compressed_and_older_rows_still_read(mail_app, conn):
    import json

    from portal.complaints import crypto

    text = "ข่าวใหม่ของหน่วยงานที่คุณติดตาม " * 200
    queue(conn, "big", subject="s")
    conn.execute("UPDATE outbox SET payload = ? WHERE idem_key = 'big'", [outbox.sealed({"text": text})])
    row = conn.execute("SELECT * FROM outbox WHERE idem_key = 'big'").fetchone()
    assert outbox.payload(row) == {"text": text} and len(row["payload"]) < len(text.encode()) / 10
    old = crypto.encrypt(json.dumps({"text": "ก่อน"}, ensure_ascii=False))  # queued before compression
    assert outbox.payload({"payload": old}) == {"text": "ก่อน"}


def test_a_message_is_queued_only_if_its_event_commits(mail_app, conn):
    with pytest.raises(RuntimeError), transaction(conn):
        outbox.enqueue(conn, "k", "test", to={"address": "a@example.org"}, subject="s", text="t", html="h")
        raise RuntimeError("the event failed")
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_refused_recipient_is_given_up_at_once_with_the_servers_words(mail_app, conn, smtp, caplog):
    """The server's words, but never the address: the error is logged and shown to moderators."""
    smtp.rules["gone@example.org"] = "550 5.1.1 <Gone@example.org>: no such mailbox"
    queue(conn, "a", to="gone@example.org")
    queue(conn, "b", to="fine@example.org")
    assert deliver(mail_app, conn) == {"sent": 1, "retry": 0, "failed": 1}
    row = conn.execute("SELECT * FROM outbox WHERE idem_key = 'a'").fetchone()
    assert row["status"] == "failed" and "550 5.1.1 <<recipient>>: no such mailbox" in row["last_error"]
    assert "gone@example.org" not in row["last_error"].lower() and "gone@example.org" not in caplog.text.lower()
    assert len(smtp.to("fine@example.org")) == 1
    assert outbox.health(conn)["failed"] == 1


def test_a_try_later_answer_backs_off_exponentially_then_gives_up(mail_app, conn, smtp, monkeypatch):
    smtp.rules["busy@example.org"] = "451 4.3.0 try again later"
    mail_app.config.update(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BASE_DELAY=60)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    queue(conn, to="busy@example.org")
    waits = []
    for _ in range(3):
        assert sum(deliver(mail_app, conn).values()) == 1
        row = conn.execute("SELECT * FROM outbox").fetchone()
        waits.append((dt.datetime.fromisoformat(row["next_attempt_at"]) - start).total_seconds())
        assert deliver(mail_app, conn) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
        start = dt.datetime.fromisoformat(row["next_attempt_at"])
    assert waits[:2] == [60, 120]
    row = conn.execute("SELECT * FROM outbox").fetchone()
    assert row["status"] == "failed" and row["attempts"] == 3 and "451" in row["last_error"]
    assert [r[0] for r in conn.execute("SELECT outcome FROM outbox_attempts ORDER BY id")] == ["retry", "retry", "failed"]


def test_a_server_that_is_down_is_retried_and_the_error_says_where(mail_app, conn, smtp):
    queue(conn)
    mail_app.config["SMTP_PORT"] = free_port()
    assert deliver(mail_app, conn)["retry"] == 1
    row = conn.execute("SELECT * FROM outbox").fetchone()
    assert row["status"] == "pending" and "cannot reach the SMTP server 127.0.0.1" in row["last_error"]


def test_a_malformed_address_fails_naming_it(mail_app, conn, smtp):
    queue(conn, to="not an address")
    assert deliver(mail_app, conn)["failed"] == 1
    assert "not an e-mail address: 'not an address'" in conn.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert smtp.messages == []


def test_an_agency_without_an_intake_address_waits_and_says_how_to_set_it(mail_app, conn, smtp, monkeypatch):
    monkeypatch.delenv("PRONGSAI_INTAKE_NACC", raising=False)
    with transaction(conn):
        outbox.enqueue(conn, "p", "agency_package", to={"agency": "nacc"}, subject="s", text="t", html="h")
    assert deliver(mail_app, conn)["retry"] == 1
    assert "set PRONGSAI_INTAKE_NACC" in conn.execute("SELECT last_error FROM outbox").fetchone()[0]
    monkeypatch.setenv("PRONGSAI_INTAKE_NACC", "intake@nacc.example")
    conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01'")
    assert deliver(mail_app, conn)["sent"] == 1 and len(smtp.to("intake@nacc.example")) == 1


def test_rows_of_a_dead_worker_are_recovered_by_how_far_they_got(mail_app, conn, smtp):
    for key in ("before-end", "after-end"):
        queue(conn, key)
    claimed = outbox.claim(conn, 10)
    assert len(claimed) == 2 and outbox.health(conn)["pending"] == 2
    outbox.final_dot(conn, claimed[1], lambda: None)  # then the worker dies before the server's answer
    assert outbox.recover(conn) == 0  # leases still running
    assert outbox.recover(conn, everything=True) == 2
    rows = {r["idem_key"]: r for r in conn.execute("SELECT * FROM outbox")}
    assert rows["before-end"]["status"] == "pending" and "worker stopped" in rows["before-end"]["last_error"]
    assert rows["after-end"]["status"] == "sent" and rows["after-end"]["unconfirmed"] == 1
    assert deliver(mail_app, conn)["sent"] == 1 and len(smtp.messages) == 1
    assert outbox.health(conn) == {"pending": 0, "failed": 0, "unconfirmed": 1, "oldest_pending_seconds": None}


def test_a_dot_that_cannot_be_recorded_never_reaches_the_server(mail_app, conn, smtp, monkeypatch):
    """The journal's disk is full after the dot was written (corked): the connection is reset, the
    dot never leaves, and the message is sent once, later."""
    queue(conn)
    full = os.open("/dev/full", os.O_WRONLY)
    monkeypatch.setitem(outbox._journals, outbox.journal_path(conn), full)
    assert deliver(mail_app, conn)["retry"] == 1
    time.sleep(0.3)
    assert smtp.messages == []
    monkeypatch.undo()
    os.close(full)
    conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01'")
    assert deliver(mail_app, conn)["sent"] == 1 and len(smtp.messages) == 1


def test_health_reports_the_oldest_pending_age(mail_app, conn, monkeypatch):
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    queue(conn)
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(minutes=5))
    assert outbox.health(conn) == {"pending": 1, "failed": 0, "unconfirmed": 0, "oldest_pending_seconds": 300}


def test_healthz_shows_the_outbox_and_is_degraded_by_a_failed_or_late_message(mail_app, conn, smtp, monkeypatch):
    client = mail_app.test_client()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["outbox"]["pending"] == 0
    start = clock.utcnow()
    queue(conn)
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(hours=1))
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["outbox"]["oldest_pending_seconds"] >= 3600
    assert "ข้อความ" not in client.get("/healthz").get_data(as_text=True)


@pytest.mark.parametrize("change, problem", [
    ({"SMTP_HOST": None}, "PRONGSAI_SMTP_HOST is not set"),
    ({"SMTP_SECURITY": "tls13"}, "PRONGSAI_SMTP_SECURITY must be one of starttls, ssl, plain, not 'tls13'"),
    ({"SMTP_PORT": "x"}, "PRONGSAI_SMTP_PORT is not a port number: 'x'"),
    ({"SMTP_FROM": "prongsai"}, "PRONGSAI_SMTP_FROM: not an e-mail address: 'prongsai'"),
])
def test_smtp_settings_name_what_is_wrong(change, problem):
    with pytest.raises(UserError, match=problem.replace("(", r"\(")):
        mail.settings({**mail_config(25), **change})


def test_starttls_against_a_server_without_it_is_a_clear_error(mail_app, conn, smtp):
    mail_app.config["SMTP_SECURITY"] = "starttls"
    queue(conn)
    assert deliver(mail_app, conn)["retry"] == 1
    assert "STARTTLS" in conn.execute("SELECT last_error FROM outbox").fetchone()[0].upper()


def test_moderators_see_failed_messages_and_queue_them_again(mail_app, smtp):
    from test_complaints_moderation import PASSWORD, login, post

    from portal.complaints.auth import create_user

    conn = open_complaints_db(mail_app.config["COMPLAINTS_DATABASE"])  # requests push their own app context
    smtp.rules["gone@example.org"] = "550 no such mailbox"
    with mail_app.app_context():
        create_user(conn, "alice", PASSWORD, "moderator")
        queue(conn, to="gone@example.org")
        deliver(mail_app, conn)
    alice, _ = login(mail_app, "alice")
    page = alice.get("/moderate/outbox?lang=en").get_data(as_text=True)
    assert "550 no such mailbox" in page and "Try again" in page and "ข้อความ" not in page
    assert "(1)" in alice.get("/moderate?lang=en").get_data(as_text=True)
    row_id = conn.execute("SELECT id FROM outbox").fetchone()[0]
    assert post(alice, "/moderate/outbox", id=str(row_id)).status_code == 303
    assert conn.execute("SELECT status, attempts FROM outbox").fetchone()[:] == ("pending", 0)


def test_notify_once_delivers_and_exits(mail_app, conn, smtp, monkeypatch):
    queue(conn)
    for key, value in mail_config(smtp.port).items():
        monkeypatch.setenv(f"PRONGSAI_{key}", str(value))
    monkeypatch.setenv("PRONGSAI_COMPLAINTS_KEY", "")
    runner = mail_app.test_cli_runner()
    result = runner.invoke(cli, ["notify", "--once", "--complaints-db", mail_app.config["COMPLAINTS_DATABASE"]])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output and len(smtp.messages) == 1


def test_notify_refuses_to_start_without_a_public_url(mail_app):
    mail_app.config["PUBLIC_URL"] = None
    result = mail_app.test_cli_runner().invoke(cli, ["notify", "--once"])
    assert result.exit_code != 0 and "PRONGSAI_PUBLIC_URL is not set" in result.output


def test_sigterm_finishes_the_message_being_sent_and_puts_the_rest_back(mail_app, conn, smtp, monkeypatch):
    import signal

    for n in range(5):
        queue(conn, f"k{n}")
    sent = []
    real = notify.message

    def message_then_term(s, row, data):  # a deploy's SIGTERM arrives while the first message is being sent
        if not sent:
            signal.raise_signal(signal.SIGTERM)
        sent.append(row["id"])
        return real(s, row, data)

    monkeypatch.setattr(notify, "message", message_then_term)
    totals = notify.run(conn, mail.settings(mail_app.config), once=False)
    assert totals["sent"] == 1 and len(smtp.messages) == 1
    assert conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0] == 4
    assert conn.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0] == 0
