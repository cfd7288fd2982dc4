"""Watchlists end to end on a real SMTP server (aiosmtpd on 127.0.0.1): follow by e-mail with a
confirmation link, a build with seeded changes, exactly one digest in Thai, one-click unsubscribe,
and a second build that sends nothing; the contact never reaches the public database.

The fixtures (``watch_app``, ``seed_project``, ``build``) are meant for other channels' tests too."""
from __future__ import annotations

import re
import shutil

import pytest
from test_complaints_citizen import form_tokens
from test_outbox import mail_config, smtp  # noqa: F401 - fixture

from portal import create_app
from portal.complaints import mail, notify
from portal.complaints.db import open_complaints_db
from prongsai.cli import cli
from prongsai.core.schema import open_db

ADDRESS = "watcher@example.org"
CONFIRM = re.compile(r"https://prongsai\.example(/watch/confirm/[A-Za-z0-9_-]+)")
UNSUBSCRIBE = re.compile(r"https://prongsai\.example(/watch/unsubscribe/[0-9]+-[A-Za-z0-9_-]+)")


@pytest.fixture
def watch_db(demo_db, tmp_path):
    """A copy of the built demo database that builds may change (its first build is the baseline)."""
    path = tmp_path / "procurement.db"
    shutil.copy(demo_db, path)
    return path


@pytest.fixture
def watch_app(watch_db, tmp_path, smtp):  # noqa: F811
    return create_app({"TESTING": True, "DATABASE": str(watch_db), "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"),
                       "SECRET_KEY": "test", **mail_config(smtp.port)})


@pytest.fixture
def cdb(watch_app):
    conn = open_complaints_db(watch_app.config["COMPLAINTS_DATABASE"])
    yield conn
    conn.close()


def a_supplier(db_path):
    db = open_db(db_path)
    row = db.execute("SELECT c.supplier_id, s.name_th, p.buyer_id FROM contracts c JOIN suppliers s ON s.id = "
                     "c.supplier_id JOIN projects p ON p.project_id = c.project_id ORDER BY c.id LIMIT 1").fetchone()
    db.close()
    return row


def seed_project(db_path, project_id, *, buyer_id, supplier_id=None, title="จ้างก่อสร้างถนนคอนกรีตสายทดสอบ",
                 province="น่าน", budget=2_500_000):
    """A new project (and a contract with ``supplier_id``), as a source run would add them."""
    db = open_db(db_path)
    db.execute("BEGIN")
    db.execute("INSERT INTO projects (project_id, title, buyer_id, procuring_entity_id, method, fiscal_year, "
               "announce_date, budget, currency, province) VALUES (?, ?, ?, ?, 'เฉพาะเจาะจง', 2568, '2025-09-01', ?, "
               "'THB', ?)", [project_id, title, buyer_id, buyer_id, budget, province])
    if supplier_id:
        db.execute("INSERT INTO contracts (id, project_id, contract_no, supplier_id, contract_amount, currency, "
                   "signed_date) VALUES (?, ?, '1/2568', ?, ?, 'THB', '2025-09-20')",
                   [f"{project_id}/1", project_id, supplier_id, budget - 10_000])
    db.execute("COMMIT")
    db.close()


def build(app, db_path):
    result = app.test_cli_runner().invoke(cli, ["build", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return result


def deliver(app, conn):
    with app.app_context():
        return notify.deliver(conn, mail.settings(app.config))


def follow_by_email(app, conn, smtp, path, address=ADDRESS, lang="th"):  # noqa: F811
    """Fill the follow form at ``path``, open the confirmation link from the e-mail, press confirm."""
    client = app.test_client()
    r = client.post(path, data={**form_tokens(client, path), "email": address, "lang": lang})
    assert r.status_code == 303 and r.headers["Location"].endswith("/watch/check")
    deliver(app, conn)
    [message] = smtp.to(address)
    link = CONFIRM.search(message.get_body(("plain",)).get_content()).group(1)
    assert "ยืนยัน" in str(message["Subject"]) or "ยืนยัน" in message.get_body(("plain",)).get_content()
    assert conn.execute("SELECT count(*) FROM watch_follows WHERE confirmed_at IS NOT NULL").fetchone()[0] == 0
    assert client.get(link).status_code == 200  # a GET (a mail scanner) confirms nothing
    assert conn.execute("SELECT count(*) FROM watch_follows WHERE confirmed_at IS NOT NULL").fetchone()[0] == 0
    r = client.post(link, data=form_tokens(client, link))
    assert r.status_code == 200
    smtp.messages.clear()
    return client


def test_follow_a_supplier_by_email_one_digest_in_thai_unsubscribe_then_nothing(watch_app, watch_db, cdb, smtp):  # noqa: F811
    supplier_id, supplier_name, buyer_id = a_supplier(watch_db)
    build(watch_app, watch_db)  # the baseline: the demo's own data is nobody's news
    follow_by_email(watch_app, cdb, smtp, f"/watch/follow?kind=supplier&key={supplier_id}")

    seed_project(watch_db, "66099000001", buyer_id=buyer_id, supplier_id=supplier_id)
    seed_project(watch_db, "66099000002", buyer_id=buyer_id, title="ซื้อวัสดุสำนักงานทดสอบ")  # no contract of theirs
    out = build(watch_app, watch_db).output
    assert "1 digest(s) queued" in out
    assert deliver(watch_app, cdb)["sent"] == 1
    [digest] = smtp.to(ADDRESS)
    text = digest.get_body(("plain",)).get_content()
    assert "สัญญาใหม่" in text and "จ้างก่อสร้างถนนคอนกรีตสายทดสอบ" in text and supplier_name in text
    assert "2,490,000 บาท" in text and "/projects/66099000001" in text
    assert "ซื้อวัสดุสำนักงานทดสอบ" not in text and "-- English --" not in text
    assert "ติดตาม" in str(digest["Subject"]) or "ใหม่" in str(digest["Subject"])
    unsubscribe = UNSUBSCRIBE.search(text).group(1)
    assert digest["List-Unsubscribe"].strip() == f"<https://prongsai.example{unsubscribe}>"
    assert digest["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
    html = digest.get_body(("html",)).get_content()
    assert "<img" not in html and all(u.startswith("https://prongsai.example") for u in re.findall(r'href="([^"]+)"', html))

    build(watch_app, watch_db)  # a build that brings nothing sends nothing
    assert deliver(watch_app, cdb)["sent"] == 0

    # RFC 8058 one-click: a POST with no CSRF token, as a mail client sends it
    r = watch_app.test_client().post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    assert cdb.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0
    seed_project(watch_db, "66099000003", buyer_id=buyer_id, supplier_id=supplier_id)
    build(watch_app, watch_db)
    assert deliver(watch_app, cdb)["sent"] == 0 and smtp.to(ADDRESS) == [digest]

    for path in (watch_db, watch_db.with_name("procurement.db-wal")):
        if path.exists():
            assert ADDRESS.encode() not in path.read_bytes()
