"""Following by chat and digests by LINE push, on the stand-in for LINE's API: one digest pushed once
after a build with news, nothing after unfollowing; a push retried or recovered after a kill is
delivered once (X-Line-Retry-Key); refusals given up or retried like e-mail."""
from __future__ import annotations

import sqlite3
import uuid

import line_standin
import pytest
from line_standin import (
    USER,
    line,  # noqa: F401 - fixture
    raw_bytes,
    say,
    text,
)
from test_outbox import mail_config, smtp  # noqa: F401 - fixture
from test_watchlists import ADDRESS, UNSUBSCRIBE, a_supplier, build, follow_by_email, seed_project, watch_db  # noqa: F401

from portal import create_app
from portal.complaints import mail, notify, outbox
from portal.complaints.db import open_complaints_db, transaction
from portal.line import client

SETTINGS = mail.Settings("127.0.0.1", 9, "plain", None, None, "noreply@prongsai.test", 2.0)  # never dialled here


@pytest.fixture
def push_app(watch_db, tmp_path, line):  # noqa: F811
    return create_app({"TESTING": True, "DATABASE": str(watch_db), "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"),
                       "SECRET_KEY": "test", **line_standin.line_config(line)})


@pytest.fixture
def cdb(push_app):
    conn = open_complaints_db(push_app.config["COMPLAINTS_DATABASE"])
    yield conn
    conn.close()


def deliver(app, conn):
    with app.app_context():
        return notify.deliver(conn, SETTINGS)


def queue(app, conn, key="digest:test:1", to=USER, body="มีโครงการใหม่ 1 รายการ"):
    with app.app_context(), transaction(conn):
        outbox.enqueue(conn, key, "digest", to={"line": to}, subject="โปร่งใส", text=body, html="<p>x</p>")


def make_due(conn):
    conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00+00:00' WHERE status = 'pending'")


def test_follow_by_chat_one_digest_pushed_once_unfollow_then_nothing(push_app, watch_db, cdb, line):  # noqa: F811
    supplier_id, supplier_name, buyer_id = a_supplier(watch_db)
    build(push_app, watch_db)  # the baseline: the demo's own data is nobody's news
    chat = push_app.test_client()
    link = f"https://prongsai.example/suppliers/{supplier_id}"
    assert "แล้ว" in say(chat, line, text(f"ติดตาม {link}"))[0]
    assert supplier_name in say(chat, line, text("ติดตามอะไรอยู่"))[0]
    quick = [i["action"]["text"] for i in line.replies()[-1].json()["messages"][0]["quickReply"]["items"]]
    assert quick == [f"เลิกติดตาม {supplier_name}"]

    seed_project(watch_db, "66099000001", buyer_id=buyer_id, supplier_id=supplier_id)
    assert "1 digest(s) queued" in build(push_app, watch_db).output
    assert deliver(push_app, cdb)["sent"] == 1
    [push] = line.pushes(USER)
    key = cdb.execute("SELECT idem_key FROM outbox WHERE kind = 'digest'").fetchone()[0]
    assert push.headers["x-line-retry-key"] == client.retry_key(key) and uuid.UUID(push.headers["x-line-retry-key"])
    [message] = push.json()["messages"]
    assert "จ้างก่อสร้างถนนคอนกรีตสายทดสอบ" in message["text"] and len(message["text"]) <= 5000
    assert deliver(push_app, cdb)["sent"] == 0 and len(line.pushes(USER)) == 1

    build(push_app, watch_db)  # a build that brings nothing pushes nothing
    assert deliver(push_app, cdb)["sent"] == 0

    assert "เลิกติดตาม" in say(chat, line, text(quick[0]))[0]      # the quick reply: by the name it was given
    assert cdb.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0
    seed_project(watch_db, "66099000002", buyer_id=buyer_id, supplier_id=supplier_id)
    build(push_app, watch_db)
    assert deliver(push_app, cdb)["sent"] == 0 and len(line.pushes(USER)) == 1

    # followed and pushed, yet the raw id is in no database file: encrypted while followed, overwritten once sent
    everything = raw_bytes(push_app.config["COMPLAINTS_DATABASE"], watch_db)
    assert USER.encode() not in everything


def test_blocking_the_account_forgets_its_follows(push_app, watch_db, cdb, line):  # noqa: F811
    supplier_id, _name, _buyer = a_supplier(watch_db)
    chat = push_app.test_client()
    say(chat, line, text(f"ติดตาม https://prongsai.example/suppliers/{supplier_id}"))
    assert cdb.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 1
    line_standin.post(chat, line_standin.body_of(line_standin.event("unfollow")))
    line.wait_for(lambda: cdb.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0)


def test_unfollow_everything_forgets_the_id(push_app, watch_db, cdb, line):  # noqa: F811
    chat = push_app.test_client()
    say(chat, line, text("ติดตาม จังหวัดน่าน"))
    say(chat, line, text("ติดตาม ธง R018"))
    assert "2 รายการ" in say(chat, line, text("เลิกติดตาม ทั้งหมด"))[0]
    assert cdb.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0


def test_an_unknown_thing_to_follow_is_said(push_app, line):
    answer = say(push_app.test_client(), line, text("ติดตาม ไม่มีชื่อนี้แน่นอนเลยจริงๆ"))[0]
    assert "ไม่มีชื่อนี้แน่นอนเลยจริงๆ" in answer and "ติดตาม กรมทางหลวง" in answer


def test_a_push_whose_answer_was_lost_is_delivered_once(push_app, cdb, line):
    queue(push_app, cdb)
    line.lose_next = 1                      # LINE delivered it, but its 200 never reached us
    assert deliver(push_app, cdb)["retry"] == 1
    make_due(cdb)
    assert deliver(push_app, cdb)["sent"] == 1          # the retry: 409, already accepted
    calls = line.pushes(USER)
    assert len(calls) == 2 and calls[0].headers["x-line-retry-key"] == calls[1].headers["x-line-retry-key"]
    assert len(line.delivered) == 1


def test_a_worker_killed_after_the_push_is_delivered_once(push_app, cdb, line, monkeypatch):
    queue(push_app, cdb)
    real = outbox.sent

    def killed(conn, ids):
        if ids:
            raise KeyboardInterrupt  # kill -9 after LINE accepted, before the row was marked sent
        return real(conn, ids)

    monkeypatch.setattr(outbox, "sent", killed)
    with pytest.raises(KeyboardInterrupt):
        deliver(push_app, cdb)
    monkeypatch.setattr(outbox, "sent", real)
    assert cdb.execute("SELECT status FROM outbox").fetchone()[0] == "sending"
    with push_app.app_context():
        assert outbox.recover(cdb, everything=True) == 1   # the next worker, holding the lock
    assert deliver(push_app, cdb)["sent"] == 1
    assert len(line.pushes(USER)) == 2 and len(line.delivered) == 1
    assert cdb.execute("SELECT status, unconfirmed FROM outbox").fetchone()[:] == ("sent", 0)


def test_refusals_are_given_up_and_outages_retried(push_app, cdb, line):
    queue(push_app, cdb, key="a")
    queue(push_app, cdb, key="b", to="U" + "1" * 32)
    line.fail_next["/v2/bot/message/push"] = [400, 503]
    counts = deliver(push_app, cdb)
    assert (counts["failed"], counts["retry"]) == (1, 1)
    errors = [r[0] for r in cdb.execute("SELECT last_error FROM outbox ORDER BY id")]
    assert errors[0].startswith("LINE answered 400") and errors[1].startswith("LINE answered 503")
    assert USER not in " ".join(errors)


def test_without_an_access_token_line_rows_wait(push_app, cdb, line):
    queue(push_app, cdb)
    push_app.config["LINE_ACCESS_TOKEN"] = ""
    assert deliver(push_app, cdb)["retry"] == 1
    assert "PRONGSAI_LINE_ACCESS_TOKEN" in cdb.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert line.calls == []


def test_held_to_one_supplier_by_email_another_by_line_one_digest_each_then_nothing(watch_db, tmp_path, line,  # noqa: F811
                                                                                      smtp):  # noqa: F811
    app = create_app({"TESTING": True, "DATABASE": str(watch_db), "COMPLAINTS_DATABASE": str(tmp_path / "c.db"),
                      "SECRET_KEY": "test", **mail_config(smtp.port), **line_standin.line_config(line)})
    conn = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
    db = sqlite3.connect(watch_db)
    (by_mail, mail_name, buyer), (by_line, line_name, _b) = db.execute(
        "SELECT c.supplier_id, s.name_th, p.buyer_id FROM contracts c JOIN suppliers s ON s.id = c.supplier_id "
        "JOIN projects p ON p.project_id = c.project_id GROUP BY c.supplier_id ORDER BY c.supplier_id LIMIT 2").fetchall()
    db.close()
    build(app, watch_db)
    follow_by_email(app, conn, smtp, f"/watch/follow?kind=supplier&key={by_mail}")
    say(app.test_client(), line, text(f"ติดตาม https://prongsai.example/suppliers/{by_line}"))

    seed_project(watch_db, "66099000011", buyer_id=buyer, supplier_id=by_mail, title="จ้างซ่อมสะพานทดสอบ")
    seed_project(watch_db, "66099000012", buyer_id=buyer, supplier_id=by_line, title="จ้างขุดลอกคลองทดสอบ")
    assert "2 digest(s) queued" in build(app, watch_db).output
    with app.app_context():
        assert notify.deliver(conn, mail.settings(app.config))["sent"] == 2   # one batch, two channels
    [email] = smtp.to(ADDRESS)
    assert "จ้างซ่อมสะพานทดสอบ" in email.get_body(("plain",)).get_content()
    [push] = line.pushes(USER)
    pushed = push.json()["messages"][0]["text"]
    assert "จ้างขุดลอกคลองทดสอบ" in pushed and "จ้างซ่อมสะพานทดสอบ" not in pushed

    unsubscribe = UNSUBSCRIBE.search(email.get_body(("plain",)).get_content()).group(1)
    assert app.test_client().post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    say(app.test_client(), line, text("เลิกติดตาม ทั้งหมด"))
    seed_project(watch_db, "66099000013", buyer_id=buyer, supplier_id=by_mail)
    seed_project(watch_db, "66099000014", buyer_id=buyer, supplier_id=by_line)
    build(app, watch_db)
    with app.app_context():
        assert notify.deliver(conn, mail.settings(app.config))["sent"] == 0
    assert smtp.to(ADDRESS) == [email] and line.pushes(USER) == [push]
    conn.close()
