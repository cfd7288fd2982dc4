"""The citizen network loop end to end on a real SMTP server: report -> two-person verification ->
package e-mailed to the agency -> the agency answers through its link -> moderated -> the reporter
sees it on /track -> the board counts it; reminders, overdue, digests, the outcomes page."""
from __future__ import annotations

import datetime as dt
import io
import os
import re

import pytest
from test_complaints_citizen import form_tokens, submit, tracking_code
from test_complaints_moderation import PASSWORD, jpeg, login, make_case, post
from test_outbox import mail_app, smtp  # noqa: F401 - fixtures

from portal.complaints import cases, digests, mail, notify
from portal.complaints.auth import create_user
from portal.complaints.db import open_complaints_db
from portal.complaints.evidence import clean
from prongsai.core import clock
from prongsai.core.config import evidence_dir

INTAKE = "intake@nacc.example"
REPORTER = "reporter@example.org"
LINK = re.compile(r"https://prongsai\.example(/reply/[A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def _intake(monkeypatch):
    monkeypatch.setenv("PRONGSAI_INTAKE_NACC", INTAKE)


@pytest.fixture
def conn(mail_app):  # noqa: F811
    c = open_complaints_db(mail_app.config["COMPLAINTS_DATABASE"])
    with mail_app.app_context():
        for name in ("alice", "bob"):
            create_user(c, name, PASSWORD, "moderator")
    yield c
    c.close()


def uid(conn, name):
    return conn.execute("SELECT id FROM users WHERE username = ?", [name]).fetchone()[0]


def run_worker(app, conn):
    with app.app_context():
        return notify.run(conn, mail.settings(app.config), once=True)


def project_of(app):
    with app.app_context():
        from portal.db import get_db

        return get_db().execute("SELECT project_id FROM red_flags ORDER BY project_id LIMIT 1").fetchone()[0]


def forward(app, conn, case_no):
    """Two moderators: triage, verify (alice proposes, bob approves), forward to the NACC (the same)."""
    alice, _ = login(app, "alice")
    bob, _ = login(app, "bob")
    assert post(alice, f"/moderate/cases/{case_no}/transition", to_state="triage", reason="claim").status_code == 303
    for state in ("verified", "forwarded"):
        r = post(alice, f"/moderate/cases/{case_no}/propose", to_state=state, reason="checked", agency="nacc",
                 channel="e-mail")
        assert r.status_code == 303
        proposal = conn.execute("SELECT max(id) FROM proposals").fetchone()[0]
        assert post(bob, f"/moderate/proposals/{proposal}/approve").status_code == 303
    return alice


def answer(client, path, **fields):
    data = {**form_tokens(client, path + "?lang=en"), **fields}
    return client.post(path + "?lang=en", data=data, content_type="multipart/form-data")


def complaint_text(conn):
    return conn.execute("SELECT body FROM complaint_versions").fetchone()[0]


def test_the_whole_loop(mail_app, conn, smtp):  # noqa: F811
    pid = project_of(mail_app)
    citizen = mail_app.test_client()
    r = submit(citizen, pid, lang="th", mode="contact", contact=f"โทร 081-000-0000 หรือ {REPORTER}",
               evidence=[])
    code = tracking_code(r.get_data(as_text=True))
    case = conn.execute("SELECT * FROM complaints").fetchone()
    with mail_app.app_context():  # the reporter adds a photo from /track
        cases.complainant_message(conn, evidence_dir(mail_app.config["COMPLAINTS_DATABASE"]), case["id"],
                                  body="", files=[clean(jpeg(), "photo.jpg")], nonce="photo-1")
    sha = conn.execute("SELECT sha256 FROM evidence").fetchone()[0]
    alice = forward(mail_app, conn, case["case_no"])
    assert conn.execute("SELECT count(*) FROM outbox WHERE kind = 'agency_package'").fetchone()[0] == 1
    assert smtp.messages == []  # nobody waited on SMTP: the worker sends

    assert run_worker(mail_app, conn)["sent"] >= 2
    [package] = smtp.to(INTAKE)
    text = package.get_body(("plain",)).get_content()
    assert case["case_no"] in package["Subject"] and complaint_text(conn) in text
    assert sha in text and REPORTER not in package.as_string() and "081-000-0000" not in package.as_string()
    assert [p.get_filename() for p in package.iter_attachments()] == [f"{case['case_no']}-1.jpg"]
    html = package.get_body(("html",)).get_content()
    assert "<img" not in html and all(u.startswith("https://prongsai.example") for u in re.findall(r'href="([^"]+)"', html))
    news = smtp.to(REPORTER)
    assert news and all(case["case_no"] not in m.as_string() and "/track" in m.get_body(("plain",)).get_content()
                        for m in news)
    page = alice.get(f"/moderate/cases/{case['case_no']}?lang=en").get_data(as_text=True)
    assert "agency_package · sent" in page

    link = LINK.search(text).group(1)
    agency_client = mail_app.test_client()
    form = agency_client.get(link + "?lang=en")
    assert form.status_code == 200 and case["case_no"] in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "same-origin" and form.headers["Cache-Control"] == "no-store"
    r = answer(agency_client, link, kind="acknowledge", body="ได้รับเรื่องแล้ว จะลงพื้นที่สัปดาห์หน้า", reference="ปช 123/2569",
               document=(io.BytesIO(b"not a pdf"), "memo.txt"))
    assert r.status_code == 400 and "is not a photo" in r.get_data(as_text=True)
    tokens = form_tokens(agency_client, link + "?lang=en")
    data = {**tokens, "kind": "acknowledge", "body": "ได้รับเรื่องแล้ว จะลงพื้นที่สัปดาห์หน้า", "reference": "ปช 123/2569"}
    r = agency_client.post(link + "?lang=en", data={**data, "document": (io.BytesIO(jpeg()), "memo.jpg")},
                           content_type="multipart/form-data")
    assert r.status_code == 200 and "Answer received" in r.get_data(as_text=True)
    r = agency_client.post(link + "?lang=en", data=data, content_type="multipart/form-data")
    assert r.status_code == 409  # the same form again: stored once
    assert conn.execute("SELECT count(*) FROM agency_answers").fetchone()[0] == 1

    citizen.post("/track", data={"csrf_token": form_tokens(citizen, "/track")["csrf_token"], "code": code})
    before_moderation = citizen.get("/track").get_data(as_text=True)
    assert "ลงพื้นที่" not in before_moderation and "ปช 123" not in before_moderation  # nothing before moderation
    answer_id = conn.execute("SELECT id FROM agency_answers").fetchone()[0]
    r = post(alice, f"/moderate/answers/{answer_id}", decision="published", public_text="หน่วยงานรับเรื่องแล้ว จะลงพื้นที่")
    assert r.status_code == 303
    assert alice.get(f"/moderate/answers/{answer_id}/document").status_code == 200
    before = len(smtp.to(REPORTER))
    run_worker(mail_app, conn)
    assert len(smtp.to(REPORTER)) == before + 1
    track = citizen.get("/track?lang=en").get_data(as_text=True)
    assert "หน่วยงานรับเรื่องแล้ว จะลงพื้นที่" in track and "We received the report" in track

    r = answer(agency_client, link, kind="outcome", outcome="investigating", body="ส่งเรื่องให้ฝ่ายสอบสวนแล้ว")
    assert r.status_code == 200
    reused = agency_client.get(link + "?lang=en")
    assert reused.status_code == 410 and "already given" in reused.get_data(as_text=True)
    assert agency_client.get("/reply/not-a-real-token").status_code == 404

    board = mail_app.test_client().get("/responsiveness?lang=en").get_data(as_text=True)
    assert "fewer than 3 cases" in board
    with mail_app.app_context():
        for n in range(2):
            _code, other = make_case(mail_app, conn, body=f"Another road never built, number {n}. " * 2)
            cases.transition(conn, uid(conn, "alice"), other["id"], "triage", "claim")
            for state in ("verified", "forwarded"):
                cases.propose(conn, uid(conn, "alice"), other["id"], state, "ok", agency="nacc", channel="e-mail")
                cases.approve(conn, uid(conn, "bob"), conn.execute("SELECT max(id) FROM proposals").fetchone()[0])
    board = mail_app.test_client().get("/responsiveness?lang=en").get_data(as_text=True)
    row = re.search(r"National Anti-Corruption Commission.*?</tr>", board, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["3", "1", "0", "0"]


def reply_link(smtp):
    return LINK.search(smtp.to(INTAKE)[-1].get_body(("plain",)).get_content()).group(1)


def test_reminders_at_30_60_90_days_then_overdue_and_moderators_told(mail_app, conn, smtp, monkeypatch):  # noqa: F811
    start = dt.datetime.now(dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    code, case = make_case(mail_app, conn, contact=REPORTER)
    forward(mail_app, conn, case["case_no"])
    with mail_app.app_context():
        digests.save_choice(conn, uid(conn, "alice"), email="alice@example.org", mode="immediate", lang="en")
    run_worker(mail_app, conn)
    link = reply_link(smtp)
    for days, expected in [(29, 0), (30, 1), (45, 1), (60, 2), (90, 3), (119, 3)]:
        monkeypatch.setattr(clock, "utcnow", lambda d=days: start + dt.timedelta(days=d))
        run_worker(mail_app, conn)
        reminders = [m for m in smtp.to(INTAKE) if "reminder" in m["Subject"].lower() or "เตือน" in m["Subject"]]
        assert len(reminders) == expected, days
    assert link in reminders[-1].get_body(("plain",)).get_content()  # the same link again
    assert conn.execute("SELECT overdue_at FROM forwardings").fetchone()[0] is None
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(days=120))
    run_worker(mail_app, conn)
    assert conn.execute("SELECT overdue_at FROM forwardings").fetchone()[0] is not None
    digest = smtp.to("alice@example.org")[-1].get_body(("plain",)).get_content()
    assert "Overdue" in digest and case["case_no"] in digest and "never built" not in digest
    citizen = mail_app.test_client()
    citizen.post("/track", data={"csrf_token": form_tokens(citizen, "/track")["csrf_token"], "code": code})
    track = citizen.get("/track?lang=en").get_data(as_text=True)
    assert "Reminder 3 of 3 sent to the agency" in track and "Overdue" in track
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(days=400))
    expired = mail_app.test_client().get(link + "?lang=en")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)


def test_an_answer_stops_the_reminders(mail_app, conn, smtp, monkeypatch):  # noqa: F811
    start = dt.datetime.now(dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    _code, case = make_case(mail_app, conn)
    forward(mail_app, conn, case["case_no"])
    run_worker(mail_app, conn)
    r = answer(mail_app.test_client(), reply_link(smtp), kind="need_info", body="ขอเอกสารสัญญาเพิ่มเติม")
    assert r.status_code == 200
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(days=31))
    run_worker(mail_app, conn)
    assert conn.execute("SELECT count(*) FROM reminders").fetchone()[0] == 0


def test_digests_daily_once_and_never_with_case_text(mail_app, conn, smtp, monkeypatch):  # noqa: F811
    start = dt.datetime.now(dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    with mail_app.app_context():
        digests.save_choice(conn, uid(conn, "bob"), email="bob@example.org", mode="daily", lang="th")
        digests.save_choice(conn, uid(conn, "alice"), email="alice@example.org", mode="off", lang="th")
    _code, case = make_case(mail_app, conn)
    run_worker(mail_app, conn)
    run_worker(mail_app, conn)
    [digest] = smtp.to("bob@example.org")
    assert case["case_no"] in digest.get_body(("plain",)).get_content()
    assert "never built" not in digest.as_string() and smtp.to("alice@example.org") == []
    monkeypatch.setattr(clock, "utcnow", lambda: start + dt.timedelta(days=1))
    run_worker(mail_app, conn)
    assert len(smtp.to("bob@example.org")) == 2


def test_notification_choices_refuse_a_malformed_address(mail_app, conn):  # noqa: F811
    alice, _ = login(mail_app, "alice")
    r = post(alice, "/moderate/notifications", email="alice at example", mode="daily", lang="th")
    assert r.status_code == 400 and "not an e-mail address" in r.get_data(as_text=True)
    assert post(alice, "/moderate/notifications", email="alice@example.org", mode="daily", lang="en").status_code == 303
    assert conn.execute("SELECT mode, lang FROM notify_prefs").fetchone()[:] == ("daily", "en")


def test_english_reporters_get_thai_first_then_english(mail_app, conn, smtp):  # noqa: F811
    citizen = mail_app.test_client()
    submit(citizen, project_of(mail_app), lang="en", mode="contact", contact=REPORTER)
    case = conn.execute("SELECT * FROM complaints").fetchone()
    assert case["lang"] == "en"
    alice, _ = login(mail_app, "alice")
    post(alice, f"/moderate/cases/{case['case_no']}/transition", to_state="triage", reason="claim")
    run_worker(mail_app, conn)
    [news] = smtp.to(REPORTER)
    body = news.get_body(("plain",)).get_content()
    assert body.index("รายงาน") < body.index("-- English --") < body.index("There is news about a report")


def test_outcomes_show_moderated_summaries_linking_to_the_project(mail_app, conn):  # noqa: F811
    _code, case = make_case(mail_app, conn)
    with mail_app.app_context():
        cases.transition(conn, uid(conn, "alice"), case["id"], "rejected", "not enough")
        cases.transition(conn, uid(conn, "alice"), case["id"], "closed", "done", outcome="no_action")
    alice, _ = login(mail_app, "alice")
    r = post(alice, f"/moderate/cases/{case['case_no']}/summary", summary="หน่วยงานตรวจแล้วไม่พบความผิด")
    assert r.status_code == 303
    page = mail_app.test_client().get("/outcomes?lang=en").get_data(as_text=True)
    assert "หน่วยงานตรวจแล้วไม่พบความผิด" in page and 'href="/projects/P-1"' in page and "#flags-h" in page


def test_a_revoked_link_is_refused_and_agency_documents_survive_retention(mail_app, conn, smtp):  # noqa: F811
    from portal.complaints import retention

    _code, case = make_case(mail_app, conn)
    alice = forward(mail_app, conn, case["case_no"])
    run_worker(mail_app, conn)
    link = reply_link(smtp)
    r = answer(mail_app.test_client(), link, kind="acknowledge", body="รับเรื่องแล้ว",
               document=(io.BytesIO(jpeg()), "memo.jpg"))
    assert r.status_code == 200
    forwarding = conn.execute("SELECT id FROM forwardings").fetchone()[0]
    assert post(alice, f"/moderate/forwardings/{forwarding}/revoke-link").status_code == 303
    revoked = mail_app.test_client().get(link + "?lang=en")
    assert revoked.status_code == 410 and "withdrawn" in revoked.get_data(as_text=True)
    document = evidence_dir(mail_app.config["COMPLAINTS_DATABASE"]) / conn.execute(
        "SELECT doc_stored_name FROM agency_answers").fetchone()[0]
    os.utime(document, (0, 0))  # old enough to be taken for a stray
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)
    counts = retention.run(conn, mail_app.config["COMPLAINTS_DATABASE"], today=later)
    assert counts["outbox_deleted"] >= 1 and counts["stray_files_deleted"] == 0 and document.exists()
