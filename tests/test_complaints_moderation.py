"""Accounts, the state machine and two-person rule, conflicts, redactions, forwarding packages,
follow-up reminders, public counts, outcomes, right of reply and retention."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import pathlib
import re
import sqlite3

import pytest
from PIL import Image

from portal.complaints import cases, retention
from portal.complaints.auth import create_user
from portal.complaints.db import open_complaints_db
from portal.complaints.evidence import clean
from prongsai.cli import cli
from prongsai.core.config import evidence_dir

PASSWORD = "correct horse battery staple"


@pytest.fixture
def conn(app):
    c = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
    yield c
    c.close()


@pytest.fixture
def users(app, conn):
    with app.app_context():
        return {name: create_user(conn, name, PASSWORD, role)
                for name, role in [("alice", "moderator"), ("bob", "moderator"), ("vera", "volunteer")]}


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 0)).save(out, "JPEG")
    return out.getvalue()


def make_case(app, conn, *, body="A road was paid for but never built. " * 2, contact=None, province="จังหวัดทดสอบ",
              files=(), nonce=None, project_id="P-1"):
    with app.app_context():
        code = cases.create_complaint(
            conn, evidence_dir(app.config["COMPLAINTS_DATABASE"]), nonce=nonce or f"n-{id(body)}-{project_id}"
            f"-{conn.execute('SELECT count(*) FROM complaints').fetchone()[0]}",
            project={"project_id": project_id, "title": "ถนนลาดยาง", "buyer_id": "AG-1", "supplier_ids": ["0105555000001"],
                     "province": province, "flag_codes": ["R018"]},
            body=body, concern="money", contact=contact, files=[clean(d, n) for d, n in files])
        return code, conn.execute("SELECT * FROM complaints ORDER BY id DESC LIMIT 1").fetchone()


def csrf(client, url="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def tokens(client, url):
    """The CSRF token and the one-time nonce of the form at ``url``."""
    html = client.get(url).get_data(as_text=True)
    return {name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1) for name in ("csrf_token", "nonce")}


def login(app, username, password=PASSWORD):
    client = app.test_client()
    r = client.post("/login?lang=en", data={"csrf_token": csrf(client), "username": username, "password": password})
    return client, r


def post(client, url, **data):
    return client.post(url + ("&" if "?" in url else "?") + "lang=en",
                       data={"csrf_token": csrf(client, "/moderate"), **data})


# --- accounts -----------------------------------------------------------------------------------

def test_users_cli_add_list_revoke_disable(runner, app):
    r = runner.invoke(cli, ["users", "add", "mod1", "--role", "moderator", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0 and "moderator mod1 added" in r.output
    r = runner.invoke(cli, ["users", "add", "mod1", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code != 0 and "already exists" in r.output
    r = runner.invoke(cli, ["users", "add", "mod2", "--password-stdin"], input="short\n")
    assert r.exit_code != 0 and "too short" in r.output and "Traceback" not in r.output
    stored = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute(
        "SELECT password_hash FROM users WHERE username = 'mod1'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "mod1\tmoderator\tactive" in runner.invoke(cli, ["users", "list"]).output

    client, r = login(app, "mod1")
    assert r.status_code == 303 and client.get("/moderate").status_code == 200
    assert "1 session(s) of mod1 revoked" in runner.invoke(cli, ["users", "revoke", "mod1"]).output
    assert client.get("/moderate").status_code == 302  # back to /login
    client, _ = login(app, "mod1")
    assert runner.invoke(cli, ["users", "disable", "mod1"]).exit_code == 0
    assert client.get("/moderate").status_code == 302
    assert login(app, "mod1")[1].status_code == 401
    assert runner.invoke(cli, ["users", "revoke", "nobody"]).exit_code != 0


def login_from(app, address, username, password=PASSWORD):
    client = app.test_client()
    r = client.post("/login?lang=en", data={"csrf_token": csrf(client), "username": username, "password": password},
                    environ_base={"REMOTE_ADDR": address})
    return client, r


def test_wrong_passwords_slow_the_guesser_but_never_lock_the_owner_out(app, users, conn):
    clock = [1000.0]
    app.extensions["rate_limiter"].clock = lambda: clock[0]
    attacker = "198.51.100.66"
    statuses = [login_from(app, attacker, "alice", "wrong password here!!")[1].status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 401]
    _, r = login_from(app, attacker, "alice", PASSWORD)  # backing off: not even the right password is checked
    assert r.status_code == 429 and "Too many failed attempts for this account from your connection" in r.get_data(
        as_text=True)
    first_wait = int(r.headers["Retry-After"])
    clock[0] += first_wait
    assert login_from(app, attacker, "alice", "wrong password here!!")[1].status_code == 401
    assert int(login_from(app, attacker, "alice", PASSWORD)[1].headers["Retry-After"]) == 2 * first_wait
    client, r = login_from(app, "203.0.113.20", "alice")  # the owner, elsewhere, signs in at once
    assert r.status_code == 303 and client.get("/moderate").status_code == 200
    assert login_from(app, attacker, "bob")[1].status_code == 303  # other accounts from that client are not slowed
    unknown = login_from(app, "203.0.113.21", "nobody", "whatever password")[1]
    wrong = login_from(app, "203.0.113.21", "bob", "wrong password here!!")[1]
    assert unknown.status_code == wrong.status_code == 401
    actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE user_id = ?", [users["alice"]])]
    assert actions.count("login_failed") == 5 and "login" in actions
    assert "login_failures" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_a_version_2_database_loses_its_stored_login_failures(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);"
                      "CREATE TABLE users (id INTEGER PRIMARY KEY);"
                      "CREATE TABLE login_failures (id INTEGER PRIMARY KEY, user_id INTEGER, at TEXT NOT NULL);")
    old.close()
    conn = open_complaints_db(path)
    assert "login_failures" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()


def test_logout_revokes_the_session_server_side(app, users):
    client, _ = login(app, "alice")
    cookie = client.get_cookie("session")
    assert client.get("/moderate").status_code == 200
    post(client, "/logout")
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)  # the old cookie no longer opens anything
    assert thief.get("/moderate").status_code == 302


def test_idle_and_old_sessions_end(app, users, conn):
    client, _ = login(app, "alice")
    assert client.get("/moderate").status_code == 200
    conn.execute("UPDATE sessions SET last_seen = '2000-01-01T00:00:00+00:00'")
    assert client.get("/moderate").status_code == 302
    client, _ = login(app, "alice")
    conn.execute("UPDATE sessions SET created_at = '2000-01-01T00:00:00+00:00' WHERE revoked_at IS NULL")
    assert client.get("/moderate").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"])
def test_login_next_never_leaves_the_site(app, users, target):
    client = app.test_client()
    r = client.post("/login", data={"csrf_token": csrf(client), "username": "alice", "password": PASSWORD,
                                    "next": target})
    assert r.status_code == 303 and r.headers["Location"] == "/moderate"


def test_volunteers_cannot_moderate(app, users, conn):
    _, case = make_case(app, conn)
    client, _ = login(app, "vera")
    assert client.get("/moderate").status_code == 403
    assert client.get(f"/moderate/cases/{case['case_no']}").status_code == 403


# --- state machine -------------------------------------------------------------------------------

ALL = list(cases.TRANSITIONS)


def _force_state(conn, complaint_id, state):
    conn.execute("UPDATE complaints SET state = ? WHERE id = ?", [state, complaint_id])


@pytest.mark.parametrize("source", ALL)
def test_only_listed_transitions_are_allowed(app, conn, users, source):
    _, case = make_case(app, conn)
    other = make_case(app, conn, body="Another report about the same road, long enough.")[1]
    with app.app_context():
        for target in ALL:
            _force_state(conn, case["id"], source)
            allowed = target in cases.TRANSITIONS[source]
            kwargs = {"duplicate_of_case": other["case_no"], "outcome": "no_answer"}
            if target in cases.TWO_PERSON:
                act = lambda: cases.propose(conn, users["alice"], case["id"], target, "why",  # noqa: E731
                                            agency="sao", channel="letter")
            else:
                act = lambda: cases.transition(conn, users["alice"], case["id"], target, "why", **kwargs)  # noqa
            if allowed:
                act()
                conn.execute("UPDATE proposals SET status = 'withdrawn'")
            else:
                with pytest.raises(cases.Refused):
                    act()


def test_transitions_need_a_reason_and_are_audited(app, conn, users):
    _, case = make_case(app, conn)
    with app.app_context():
        with pytest.raises(cases.Refused):
            cases.transition(conn, users["alice"], case["id"], "triage", "  ")
        cases.transition(conn, users["alice"], case["id"], "triage", "claimed")
    row = conn.execute("SELECT * FROM audit WHERE action = 'transition'").fetchone()
    assert (row["user_id"], row["from_state"], row["to_state"], row["reason"]) == \
        (users["alice"], "received", "triage", "claimed")


def test_two_person_rule_for_verify_and_forward(app, conn, users):
    code, case = make_case(app, conn, files=[(jpeg(), "p.jpg")])
    alice, _ = login(app, "alice")
    bob, _ = login(app, "bob")
    url = f"/moderate/cases/{case['case_no']}"
    assert post(alice, url + "/transition", to_state="triage", reason="claim").status_code == 303
    r = post(alice, url + "/transition", to_state="verified", reason="sure")
    assert r.status_code == 400 and "second moderator" in r.get_data(as_text=True)
    assert post(alice, url + "/propose", to_state="verified", reason="documents match").status_code == 303
    proposal = conn.execute("SELECT id FROM proposals").fetchone()[0]
    r = post(alice, f"/moderate/proposals/{proposal}/approve")
    assert r.status_code == 400 and "different moderator" in r.get_data(as_text=True)
    assert conn.execute("SELECT state FROM complaints").fetchone()[0] == "triage"
    assert post(bob, f"/moderate/proposals/{proposal}/approve").status_code == 303
    assert conn.execute("SELECT state FROM complaints").fetchone()[0] == "verified"

    assert post(bob, url + "/propose", to_state="forwarded", reason="to SAO", agency="sao",
                channel="registered letter").status_code == 303
    proposal = conn.execute("SELECT id FROM proposals WHERE to_state = 'forwarded'").fetchone()[0]
    assert post(bob, f"/moderate/proposals/{proposal}/approve").status_code == 400
    assert post(alice, f"/moderate/proposals/{proposal}/approve").status_code == 303
    fwd = conn.execute("SELECT * FROM forwardings").fetchone()
    assert (fwd["agency"], fwd["channel"], fwd["proposed_by"], fwd["approved_by"]) == \
        ("sao", "registered letter", users["bob"], users["alice"])
    audit = conn.execute("SELECT * FROM audit WHERE action = 'transition' AND to_state = 'forwarded'").fetchone()
    assert audit["user_id"] == users["bob"] and f"approved_by={users['alice']}" in audit["detail"]

    r = post(alice, f"/moderate/forwardings/{fwd['id']}", reference="สตง. 123/2569")
    assert r.status_code == 303
    assert conn.execute("SELECT agency_reference FROM forwardings").fetchone()[0] == "สตง. 123/2569"


def test_conflicts_of_interest_hide_cases(app, conn, users):
    _, case = make_case(app, conn, province="เชียงราย")
    bob, _ = login(app, "bob")
    assert bob.get(f"/moderate/cases/{case['case_no']}").status_code == 200
    assert post(bob, "/moderate/conflicts", kind="province", value="เชียงราย").status_code == 303
    assert bob.get(f"/moderate/cases/{case['case_no']}").status_code == 404
    assert case["case_no"] not in bob.get("/moderate").get_data(as_text=True)
    assert post(bob, f"/moderate/cases/{case['case_no']}/transition", to_state="triage", reason="x").status_code == 404
    alice, _ = login(app, "alice")
    assert case["case_no"] in alice.get("/moderate").get_data(as_text=True)
    post(alice, "/moderate/conflicts", kind="supplier", value="0105555000001")
    assert alice.get(f"/moderate/cases/{case['case_no']}").status_code == 404


def test_redaction_is_a_new_version_and_originals_never_change(app, conn, users):
    _, case = make_case(app, conn, body="นายสมชาย ใจดี ปลัด อบต. เป็นคนสั่งให้ทำแบบนี้ทั้งหมด",
                        files=[(jpeg(), "a.jpg")])
    alice, _ = login(app, "alice")
    r = post(alice, f"/moderate/cases/{case['case_no']}/redact", body="[ชื่อ] ปลัด อบต. เป็นคนสั่ง", reason="names")
    assert r.status_code == 303
    versions = conn.execute("SELECT version, body FROM complaint_versions ORDER BY version").fetchall()
    assert [tuple(v) for v in versions] == [(1, "นายสมชาย ใจดี ปลัด อบต. เป็นคนสั่งให้ทำแบบนี้ทั้งหมด"),
                                            (2, "[ชื่อ] ปลัด อบต. เป็นคนสั่ง")]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE complaint_versions SET body = 'changed' WHERE version = 1")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE evidence SET sha256 = 'x'")


def test_forwarding_package_carries_facts_text_and_cleaned_evidence_but_not_the_sender(app, conn, users, demo_db):
    pid = sqlite3.connect(demo_db).execute("SELECT project_id FROM red_flags LIMIT 1").fetchone()[0]
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40
    _, case = make_case(app, conn, contact="secret-contact-123", project_id=pid,
                        files=[(jpeg(), "a.jpg"), (mp4, "clip.mp4")])
    alice, _ = login(app, "alice")
    post(alice, f"/moderate/cases/{case['case_no']}/redact", body="redacted text for the agency", reason="names")
    r = alice.get(f"/moderate/cases/{case['case_no']}/package.json")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    doc = json.loads(r.get_data(as_text=True))
    assert doc["project"]["project_id"] == pid and doc["red_flags"]
    assert doc["complaint_text"] == "redacted text for the agency"
    assert len(doc["evidence"]) == 1 and doc["evidence"][0]["mime"] == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(doc["evidence"][0]["content_base64"]))).size == (8, 8)
    assert "secret-contact-123" not in r.get_data(as_text=True)
    page = alice.get(f"/moderate/cases/{case['case_no']}/package?lang=en").get_data(as_text=True)
    assert "redacted text for the agency" in page and "secret-contact-123" not in page
    assert "State Audit Office" in page  # suggested recipient for "misuse of state money"
    thai = alice.get(f"/moderate/cases/{case['case_no']}/package?lang=th").get_data(as_text=True)
    letter = thai.split('class="package letter"')[1]
    for part in ("เรื่อง", "เรียน" if "เรียน" in letter else "ถึง", "อ้างถึง", "สิ่งที่ส่งมาด้วย", "ขอแสดงความนับถือ"):
        assert part in letter, part
    assert "บาท" in letter and "THB" not in letter and not re.search(r"\d\.0 ", letter)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", letter.split("<code>")[0])  # B.E. dates, no ISO dates


def test_evidence_is_served_to_moderators_only_as_download(app, conn, users):
    _, case = make_case(app, conn, files=[(jpeg(), "a.jpg")])
    eid = conn.execute("SELECT id FROM evidence").fetchone()[0]
    alice, _ = login(app, "alice")
    r = alice.get(f"/moderate/evidence/{eid}")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    assert r.mimetype == "application/octet-stream" and "sandbox" in r.headers["Content-Security-Policy"]
    assert conn.execute("SELECT count(*) FROM audit WHERE action = 'evidence_downloaded'").fetchone()[0] == 1
    assert app.test_client().get(f"/moderate/evidence/{eid}").status_code == 302
    assert login(app, "vera")[0].get(f"/moderate/evidence/{eid}").status_code == 403


def test_follow_up_after_30_days_and_the_complainant_sees_it(app, conn, users):
    code, case = make_case(app, conn)
    with app.app_context():
        cases.transition(conn, users["alice"], case["id"], "triage", "claim")
        for state in ("verified", "forwarded"):
            cases.propose(conn, users["alice"], case["id"], state, "ok", agency="nacc", channel="web form")
            cases.approve(conn, users["bob"], conn.execute("SELECT max(id) FROM proposals").fetchone()[0])
        assert cases.follow_ups_due(conn, 30, users["alice"]) == []
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31)).isoformat()
    conn.execute("UPDATE forwardings SET forwarded_at = ?", [old])
    alice, _ = login(app, "alice")
    queue = alice.get("/moderate?lang=en").get_data(as_text=True)
    assert "Follow-up due" in queue and case["case_no"] in queue.split("Open cases")[0]
    fwd = conn.execute("SELECT id FROM forwardings").fetchone()[0]
    post(alice, f"/moderate/forwardings/{fwd}", reminder="1")
    assert case["case_no"] not in alice.get("/moderate").get_data(as_text=True).split("Open cases")[0]
    citizen = app.test_client()
    citizen.post("/track", data={"csrf_token": csrf(citizen, "/track"), "code": code})
    page = citizen.get("/track?lang=en").get_data(as_text=True)
    assert "Forwarded to National Anti-Corruption Commission" in page and "Reminder sent to the agency" in page


def test_messages_between_moderator_and_complainant(app, conn, users):
    code, case = make_case(app, conn)
    alice, _ = login(app, "alice")
    post(alice, f"/moderate/cases/{case['case_no']}/transition", to_state="triage", reason="claim")
    post(alice, f"/moderate/cases/{case['case_no']}/transition", to_state="needs_info", reason="ask")
    post(alice, f"/moderate/cases/{case['case_no']}/message", body="มีรูปถ่ายหน้างานไหมครับ")
    citizen = app.test_client()
    citizen.post("/track", data={"csrf_token": csrf(citizen, "/track"), "code": code})
    page = citizen.get("/track?lang=en").get_data(as_text=True)
    assert "มีรูปถ่ายหน้างานไหมครับ" in page and "Needs more information" in page
    citizen.post("/track/message", data={**tokens(citizen, "/track"), "body": "มีครับ แนบให้แล้ว",
                                         "evidence": (io.BytesIO(jpeg()), "site.jpg")})
    case_page = alice.get(f"/moderate/cases/{case['case_no']}").get_data(as_text=True)
    assert "มีครับ แนบให้แล้ว" in case_page
    assert conn.execute("SELECT state FROM complaints").fetchone()[0] == "triage"  # back in the queue
    assert conn.execute("SELECT count(*) FROM evidence").fetchone()[0] == 1


def test_script_in_every_field_is_escaped_in_moderator_views(app, conn, users):
    evil = "<script>alert(1)</script>"
    _, case = make_case(app, conn, body=evil * 3, contact=evil, files=[(jpeg(), evil + ".jpg")])
    alice, _ = login(app, "alice")
    page = alice.get(f"/moderate/cases/{case['case_no']}").get_data(as_text=True)
    assert evil not in page and "&lt;script&gt;" in page


# --- public numbers ----------------------------------------------------------------------------

def _verified(app, conn, users, n, *, days_old, project_id="P-9"):
    for i in range(n):
        _, case = make_case(app, conn, project_id=project_id, body=f"report number {i} long enough text")
        with app.app_context():
            cases.transition(conn, users["alice"], case["id"], "triage", "claim")
            cases.propose(conn, users["alice"], case["id"], "verified", "ok")
            cases.approve(conn, users["bob"], conn.execute("SELECT max(id) FROM proposals").fetchone()[0])
        created = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_old)).isoformat()
        conn.execute("UPDATE complaints SET created_at = ? WHERE id = ?", [created, case["id"]])


@pytest.mark.parametrize("n, days_old, shown", [(3, 15, 3), (2, 30, None), (3, 5, None), (4, 20, 4)])
def test_public_report_counts_need_three_and_two_weeks(app, conn, users, n, days_old, shown):
    _verified(app, conn, users, n, days_old=days_old)
    make_case(app, conn, project_id="P-9")  # unverified ones never count
    with app.test_request_context():
        counts = app.jinja_env.globals["complaint_counts"]("P-9")
    assert counts["reports"] == shown


def test_volunteer_flags_count_once_approved(app, conn, users, demo_db):
    pid = sqlite3.connect(demo_db).execute("SELECT project_id FROM projects LIMIT 1").fetchone()[0]
    vera, _ = login(app, "vera")
    url = f"/projects/{pid}/flag"
    assert vera.get(url).status_code == 200
    form = {**tokens(vera, url), "category": "not_built", "note": "ไปดูมาแล้ว ไม่มีถนน"}
    assert vera.post(url, data=form).status_code == 303
    assert vera.post(url, data=form).status_code == 409  # the same form again: stored once
    assert vera.post(url, data={**tokens(vera, url), "category": "x", "note": ""}).status_code == 400
    assert conn.execute("SELECT count(*) FROM flags").fetchone()[0] == 1
    with app.test_request_context():
        assert app.jinja_env.globals["complaint_counts"](pid)["flags"] == 0
    alice, _ = login(app, "alice")
    flag = conn.execute("SELECT id FROM flags").fetchone()[0]
    assert post(alice, f"/moderate/flags/{flag}", decision="approved").status_code == 303
    with app.test_request_context():
        assert app.jinja_env.globals["complaint_counts"](pid)["flags"] == 1
    assert app.test_client().get(url).status_code == 302  # sign-in needed
    page = app.test_client().get(f"/projects/{pid}?lang=en").get_data(as_text=True)
    assert "Volunteer flags on this project: 1" in page  # shown publicly on the project page


def test_public_counts_follow_a_complaints_database_put_in_place(app, conn, users, tmp_path):
    """The counts read a connection kept across requests; a restored file is read, not the old one."""
    import shutil

    _verified(app, conn, users, 3, days_old=15)
    path = pathlib.Path(app.config["COMPLAINTS_DATABASE"])
    with app.test_request_context():
        assert app.jinja_env.globals["complaint_counts"]("P-9")["reports"] == 3
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(path, tmp_path / "restored.db")
    _verified(app, conn, users, 1, days_old=15)
    with app.test_request_context():
        assert app.jinja_env.globals["complaint_counts"]("P-9")["reports"] == 4  # a commit since: seen
    os.replace(tmp_path / "restored.db", path)  # as ``prongsai restore`` does
    for suffix in ("-wal", "-shm"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
    with app.test_request_context():
        assert app.jinja_env.globals["complaint_counts"]("P-9")["reports"] == 3


def test_outcomes_by_month(app, conn, users, client):
    _verified(app, conn, users, 3, days_old=0)
    _, case = make_case(app, conn)
    with app.app_context():
        cases.transition(conn, users["alice"], case["id"], "rejected", "spam")
    page = client.get("/outcomes?lang=en").get_data(as_text=True)
    month = dt.date.today().isoformat()[:7]
    row = re.search(rf"<th scope=\"row\">{month}</th><td>(\d+)</td><td>(\d+)</td>", page)
    assert row and row.groups() == ("4", "3")  # counts under three are not published


def test_right_of_reply_and_public_corrections_log(app, conn, users, client):
    url = "/corrections/request"
    page = client.get(url).get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf(client, url), "nonce": nonce, "page": "/suppliers/0105555000001",
            "requester": "บริษัท ตัวอย่าง จำกัด", "contact": "02-000-0000",
            "body": "บริษัทไม่ได้เป็นผู้ชนะการประมูลโครงการนี้ ข้อมูลสัญญาผิด"}
    assert client.post(url, data=data).status_code == 200
    assert client.post(url, data=data).status_code == 409
    alice, _ = login(app, "alice")
    assert "ข้อมูลสัญญาผิด" in alice.get("/moderate").get_data(as_text=True)
    cid = conn.execute("SELECT id FROM corrections").fetchone()[0]
    assert post(alice, f"/moderate/corrections/{cid}", decision="accepted").status_code == 400  # summary needed
    post(alice, f"/moderate/corrections/{cid}", decision="accepted", public_summary="แก้ชื่อผู้ชนะแล้ว")
    log = client.get("/corrections").get_data(as_text=True)
    assert "แก้ชื่อผู้ชนะแล้ว" in log and "02-000-0000" not in log


# --- retention ---------------------------------------------------------------------------------

def test_retention_erases_and_purges_on_schedule_and_is_audited(app, conn, users, runner):
    folder = evidence_dir(app.config["COMPLAINTS_DATABASE"])
    _, old_rejected = make_case(app, conn, contact="c1", files=[(jpeg(), "a.jpg")])
    _, recent_rejected = make_case(app, conn, contact="c2", files=[(jpeg(), "b.jpg")])
    _, open_case = make_case(app, conn, contact="c3")
    with app.app_context():
        for case in (old_rejected, recent_rejected):
            cases.transition(conn, users["alice"], case["id"], "rejected", "out of scope")
    long_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)).isoformat()
    conn.execute("UPDATE complaints SET closed_at = ? WHERE id = ?", [long_ago, old_rejected["id"]])
    stray = folder / "deadbeef.jpg"
    stray.write_bytes(b"x")
    import os
    os.utime(stray, (0, 0))
    old_file = conn.execute("SELECT stored_name FROM evidence WHERE complaint_id = ?",
                            [old_rejected["id"]]).fetchone()[0]

    dry = runner.invoke(cli, ["retention", "--dry-run"])
    assert dry.exit_code == 0 and "cases_purged=1" in dry.output and stray.exists()
    assert conn.execute("SELECT count(*) FROM complaint_versions").fetchone()[0] == 3

    conn.execute("INSERT INTO used_nonces VALUES ('spent', '2000-01-01T00:00:00+00:00'), ('fresh', ?)",
                 [dt.datetime.now(dt.timezone.utc).isoformat()])
    r = runner.invoke(cli, ["retention"])
    assert "nonces_deleted=1" in r.output
    assert r.exit_code == 0 and "cases_purged=1" in r.output and "stray_files_deleted=1" in r.output
    row = conn.execute("SELECT * FROM complaints WHERE id = ?", [old_rejected["id"]]).fetchone()
    assert row["purged_at"] and row["contact_encrypted"] is None and row["state"] == "rejected"
    assert conn.execute("SELECT count(*) FROM complaint_versions WHERE complaint_id = ?",
                        [old_rejected["id"]]).fetchone()[0] == 0
    assert not (folder / old_file).exists() and not stray.exists()
    kept = conn.execute("SELECT contact_encrypted FROM complaints WHERE id IN (?, ?)",
                        [recent_rejected["id"], open_case["id"]]).fetchall()
    assert all(k[0] for k in kept)
    assert conn.execute("SELECT detail FROM audit WHERE action = 'retention'").fetchone()[0].startswith(
        "contact_erased=1")  # the old rejected case's contact goes first
    assert sorted(retention.SCHEDULE) == sorted(retention.SCHEDULE)  # documented in the module docstring
    for key in ("contact details", "audit log", "stray evidence files"):
        assert key in retention.__doc__


def test_case_page_survives_a_missing_or_changed_key(app, conn, users):
    from cryptography.fernet import Fernet
    _, case = make_case(app, conn, contact="081-555-0199")
    alice, _ = login(app, "alice")
    url = f"/moderate/cases/{case['case_no']}"
    assert "081-555-0199" in post(alice, url).get_data(as_text=True)
    app.config["COMPLAINTS_KEY"] = Fernet.generate_key()
    page = post(alice, url)
    assert page.status_code == 200 and "cannot be decrypted" in page.get_data(as_text=True)


def test_the_contact_is_shown_only_by_a_deliberate_click_and_each_showing_is_logged_once(app, conn, users):
    _, case = make_case(app, conn, contact="081-555-0199")
    alice, _ = login(app, "alice")
    url = f"/moderate/cases/{case['case_no']}"
    for _ in range(3):
        page = alice.get(url + "?lang=th").get_data(as_text=True)
        assert "081-555-0199" not in page and "แสดงช่องทางติดต่อ" in page
    assert "081-555-0199" in post(alice, url).get_data(as_text=True)
    actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE complaint_id = ?", [case["id"]])]
    assert actions.count("contact_viewed") == 1
    history = alice.get(url + "?lang=th").get_data(as_text=True).split('class="audit"')[1]
    assert "contact_viewed" not in history and "แสดงช่องทางติดต่อผู้แจ้งแล้ว" in history
    assert " น.</time>" in history and "T" not in history.split("<time")[1].split(">")[1][:12]


def test_each_role_lands_on_a_page_it_can_use_and_a_refusal_is_the_sites_own(app, users, conn, demo_db):
    volunteer, signed_in = login(app, "vera")
    assert signed_in.headers["Location"].endswith("/volunteer")
    r = volunteer.get("/volunteer?lang=th")
    assert r.status_code == 200 and "ธงที่คุณแจ้ง" in r.get_data(as_text=True)
    refused = volunteer.get("/moderate")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and 'href="/volunteer"' in html and "Forbidden" not in html
    assert "ไปยังหน้าของคุณ" in html and '<html lang="th"' in html
    english = volunteer.get("/moderate?lang=en").get_data(as_text=True)
    assert "This page is not part of your role." in english
    assert login(app, "alice")[1].headers["Location"].endswith("/moderate")
