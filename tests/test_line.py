"""The LINE channel against a stand-in for LINE's API on 127.0.0.1 (the SDK pointed at it), with
webhook bodies signed here: signatures, replays, a tip with a GPS-tagged photo becoming a case,
and the raw LINE user id in no database file and no log."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
import uuid

import httpx
import line_standin
import pytest
from line_standin import (  # noqa: F401 - fixtures
    OTHER,
    USER,
    body_of,
    event,
    image,
    line,
    line_app,
    photo_with_gps,
    post,
    project_id,
    raw_bytes,
    say,
    sign,
    text,
)
from PIL import Image
from test_request_limits import raw_post, server  # noqa: F401 - fixture: uvicorn over ``flask_app``

from portal import create_app
from portal.complaints import cases, notify
from portal.complaints.db import open_complaints_db
from portal.line import chat
from prongsai.core import clock
from prongsai.core.config import evidence_dir


@pytest.fixture
def flask_app(line_app):  # noqa: F811
    return line_app


# -- the door -----------------------------------------------------------------------------------------

def test_a_signed_body_is_taken(line_app, line):
    client = line_app.test_client()
    texts = say(client, line, event("follow"))
    assert "LINE อ่านข้อความ" in texts[0]               # the privacy warning comes first
    assert line.replies()[0].headers["authorization"] == f"Bearer {line_standin.TOKEN}"


def test_unsigned_wrongly_signed_and_malformed_bodies_are_refused(line_app, line):
    client = line_app.test_client()
    body = body_of(text("hello"))
    assert post(client, body, signature=None).status_code == 401
    assert post(client, body, signature=sign(body, "another-secret")).status_code == 401
    assert post(client, body + b" ", signature=sign(body)).status_code == 401   # the body was changed
    assert post(client, b"\xff\xfe").status_code == 400
    assert post(client, b"{not json").status_code == 400
    assert post(client, json.dumps({"events": [{"type": "message"}]}).encode()).status_code == 400
    assert post(client, json.dumps({"destination": "x"}).encode()).status_code == 400
    assert post(client, body_of(event("follow", timestamp=10 ** 20))).status_code == 400
    time.sleep(0.2)
    assert line.calls == []                                      # nothing was answered
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(*) FROM line_inbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM line_events_seen").fetchone()[0] == 0


def test_a_replayed_body_and_an_old_event_are_refused(line_app, line):
    client = line_app.test_client()
    body = body_of(event("follow"))
    assert post(client, body).status_code == 200
    line.wait_for(lambda: len(line.delivered) == 1)
    replayed = post(client, body)
    assert replayed.status_code == 409 and "replayed" in replayed.get_json()["error"]
    redelivered = json.loads(body)
    redelivered["events"][0]["deliveryContext"]["isRedelivery"] = True   # LINE resending what we hold
    response = post(client, json.dumps(redelivered).encode())
    assert response.status_code == 200 and response.get_json() == {"received": 0, "already_held": 1}
    old = event("follow", timestamp=int((time.time() - 2 * 3600) * 1000))
    assert post(client, body_of(old)).status_code == 409
    time.sleep(0.2)
    assert len(line.delivered) == 1


def test_lines_verify_button_gets_its_200(line_app, line):
    assert post(line_app.test_client(), body_of()).status_code == 200


def test_the_webhook_needs_no_csrf_token_but_has_the_body_limit(demo_db, tmp_path, line):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True, "DATABASE": str(demo_db),
                      "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "test",
                      **line_standin.line_config(line)})
    client = app.test_client()
    assert post(client, body_of(event("follow"))).status_code == 200
    line.wait_for(lambda: len(line.delivered) == 1)
    big = body_of(text("a" * app.config["MAX_FORM_BYTES"]))
    assert post(client, big).status_code == 413


def test_served_by_uvicorn_the_webhook_answers_then_replies_and_has_the_door_limit(server, line, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{server}/line/webhook"
    body = body_of(event("follow"))
    with httpx.Client(timeout=10) as client:
        response = client.post(url, content=body, headers={"X-Line-Signature": sign(body),
                                                          "Content-Type": "application/json"})
        assert response.status_code == 200 and response.json() == {"received": 1, "already_held": 0}
        line.wait_for(lambda: len(line.delivered) == 1)
    assert raw_post(server, "/line/webhook", {"Content-Length": str(300 * 1024)}) == 413   # refused at the door
    assert USER not in caplog.text


def test_the_channel_is_off_without_its_secret(app):
    response = post(app.test_client(), body_of(event("follow")))
    assert response.status_code == 404 and "PRONGSAI_LINE_CHANNEL_SECRET" in response.get_json()["error"]


# -- a tip becomes a case ----------------------------------------------------------------------------

def test_a_tip_with_a_gps_photo_becomes_a_clean_case_and_the_user_id_is_nowhere(line_app, line, project_id, demo_db,
                                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    client = line_app.test_client()
    line.contents["9001"] = photo_with_gps()
    warned = say(client, line, text(f"https://prongsai.example/projects/{project_id}"))
    assert "LINE อ่านข้อความ" in warned[0] and f"/projects/{project_id}/report" in warned[0]
    say(client, line, text("ผู้รับเหมาเทคอนกรีตบางกว่าที่สัญญากำหนด ถนนแตกภายในสองเดือน"))
    noted = say(client, line, image("9001"))
    assert "รูป/ไฟล์ 1 ชิ้น" in noted[0]
    received = say(client, line, text("ส่งรายงาน"))[0]
    code = received.split("รหัสติดตาม: ")[1].split()[0]

    db_path = line_app.config["COMPLAINTS_DATABASE"]
    conn = open_complaints_db(db_path)
    case = conn.execute("SELECT * FROM complaints").fetchone()
    assert case["project_id"] == project_id and case["state"] == "received" and case["anonymous"] == 1
    body = conn.execute("SELECT body FROM complaint_versions").fetchone()[0]
    assert body.startswith("ผู้รับเหมาเทคอนกรีต")
    evidence = conn.execute("SELECT * FROM evidence").fetchone()
    stored = (evidence_dir(db_path) / evidence["stored_name"]).read_bytes()
    with Image.open(io.BytesIO(stored)) as img:
        assert not img.getexif() and "comment" not in img.info and "exif" not in img.info
    assert b"SecretCameraMaker" not in stored and b"somchai" not in stored
    assert cases.find_by_code(conn, code)["id"] == case["id"]   # the code /track takes, like a web report's
    # the conversation is gone, and nothing waits
    for table in ("line_chats", "line_draft_files", "line_inbox"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    conn.close()

    everything = raw_bytes(db_path, demo_db) + raw_bytes(*evidence_dir(db_path).iterdir())
    assert USER.encode() not in everything and USER.encode("utf-16-le") not in everything
    assert b"SecretCameraMaker" not in everything
    assert USER not in caplog.text and code not in caplog.text


def test_the_warning_comes_before_anything_is_asked(line_app, line):
    first = say(line_app.test_client(), line, text("แจ้งเบาะแส"))[0]
    assert first.index("LINE อ่านข้อความ") < first.index("แบบฟอร์มบนเว็บ")
    assert "https://prongsai.example" in first


def test_a_photo_before_a_project_is_not_kept(line_app, line):
    line.contents["77"] = photo_with_gps()
    answer = say(line_app.test_client(), line, image("77"))[0]
    assert "ไม่ถูกเก็บ" in answer and "LINE อ่านข้อความ" in answer
    assert not any(c.path.endswith("/77/content") for c in line.calls)   # not even fetched


def test_an_unknown_project_number_is_said(line_app, line):
    assert "ไม่พบโครงการ" in say(line_app.test_client(), line, text("99999999999"))[0]


def test_a_short_report_is_not_sent_and_cancel_forgets_it(line_app, line, project_id):
    client = line_app.test_client()
    say(client, line, text(project_id))
    say(client, line, text("สั้น"))
    assert "อย่างน้อย 20" in say(client, line, text("ส่งรายงาน"))[0]
    assert f"กำลังเขียนรายงานเรื่องโครงการ {project_id}" in say(client, line, text("แจ้งเบาะแส"))[0]
    assert "ยกเลิกแล้ว" in say(client, line, text("ยกเลิก"))[0]
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(*) FROM complaints").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM line_chats").fetchone()[0] == 0


def test_reports_by_line_have_the_web_forms_rate_limit(line_app, line, project_id):
    line_app.config["RATE_LIMITS"] = {"report": {"client": [1, 3600]}}
    client = line_app.test_client()
    for n in range(2):
        say(client, line, text(project_id))
        say(client, line, text("ถนนสายนี้ทรุดตัวหลังส่งมอบงานเพียงสามเดือน รอบที่ %d" % n))
        answer = say(client, line, text("ส่งรายงาน"))[0]
    assert "ถี่เกินไป" in answer and "รายงานที่เขียนไว้ยังอยู่" in answer
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(*) FROM complaints").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM line_chats").fetchone()[0] == 1


def test_a_refused_file_is_said_and_not_kept(line_app, line, project_id):
    client = line_app.test_client()
    line.contents["55"] = b"MZ\x90\x00 not a photo"
    say(client, line, text(project_id))
    answer = say(client, line, event(message={"type": "file", "id": "55", "fileName": "x.exe", "fileSize": 14}))[0]
    assert "รับไฟล์นี้ไม่ได้" in answer
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(*) FROM line_draft_files").fetchone()[0] == 0


def test_an_expired_reply_token_falls_back_to_one_push(line_app, line):
    post(line_app.test_client(), body_of(event("follow", replyToken="expired")))
    line.wait_for(lambda: len(line.delivered) == 1)
    assert line.delivered[0][0] == USER
    assert uuid.UUID(line.pushes()[0].headers["x-line-retry-key"])


def test_what_a_dead_process_left_is_handled_by_the_notify_worker(line_app, line, project_id, monkeypatch):
    client = line_app.test_client()
    say(client, line, text(project_id))                                  # a report begun, never sent
    monkeypatch.setattr("portal.line.webhook.start_handling", lambda app: None)   # died right after the 200
    assert post(client, body_of(event("follow", replyToken="expired"))).status_code == 200
    delivered = len(line.delivered)
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    with line_app.app_context():
        assert chat.drain(conn, min_age=60) == 0          # too new: its own request may still take it
        later = clock.utcnow() + dt.timedelta(days=chat.DRAFT_DAYS, minutes=1)
        monkeypatch.setattr(clock, "utcnow", lambda: later)
        notify.tick(conn)
    assert len(line.delivered) == delivered + 1 and line.delivered[-1][0] == USER   # its token expired: pushed
    assert conn.execute("SELECT count(*) FROM line_inbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM line_chats").fetchone()[0] == 0


def test_one_users_events_are_handled_in_order_whichever_process_takes_them(line_app, line, monkeypatch):
    monkeypatch.setattr("portal.line.webhook.start_handling", lambda app: None)
    client = line_app.test_client()
    first, second, other = event("follow"), text("วิธีใช้"), text("วิธีใช้", user=OTHER)
    for e in (first, second, other):
        assert post(client, body_of(e)).status_code == 200
    conn = open_complaints_db(line_app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(DISTINCT user_hash) FROM line_inbox").fetchone()[0] == 2
    conn.execute("UPDATE line_inbox SET lease_until = '2999-01-01T00:00:00+00:00' WHERE id = (SELECT min(id) "
                 "FROM line_inbox)")                      # another process is handling USER's first event
    with line_app.app_context():
        assert chat.drain(conn) == 1                       # OTHER's only: USER's second waits for the first
    assert [to for to, _m in line.delivered] == [f"reply:{other['replyToken']}"]
    conn.execute("UPDATE line_inbox SET lease_until = NULL")
    with line_app.app_context():
        assert chat.drain(conn) == 2
    assert [to for to, _m in line.delivered][1:] == [f"reply:{first['replyToken']}", f"reply:{second['replyToken']}"]


# -- the rich menu -----------------------------------------------------------------------------------

def test_prongsai_line_richmenu_creates_the_thai_menu_through_the_api(line_app, line):
    from prongsai.cli import cli

    result = line_app.test_cli_runner().invoke(cli, ["line", "richmenu"])
    assert result.exit_code == 0, result.output
    [(menu_id, menu)] = line.rich_menus.items()
    assert menu_id in result.output and line.default_rich_menu == menu_id
    labels = [area["action"]["label"] for area in menu["menu"]["areas"]]
    assert labels == ["แจ้งเบาะแส", "ติดตาม", "วิธีใช้"] and menu["menu"]["chatBarText"] == "เมนูโปร่งใส"
    assert menu["menu"]["areas"][2]["action"]["uri"] == "https://prongsai.example/learn"
    with Image.open(io.BytesIO(menu["image"])) as img:
        assert img.size == (2500, 843)
    upload = next(c for c in line.calls if c.path.endswith("/content") and c.method == "POST")
    assert upload.headers["content-type"] == "image/png"


def test_a_rich_menu_image_of_the_wrong_size_is_refused_before_any_call(line_app, line, tmp_path):
    from prongsai.cli import cli

    path = tmp_path / "menu.png"
    Image.new("RGB", (800, 270)).save(path)
    result = line_app.test_cli_runner().invoke(cli, ["line", "richmenu", "--image", str(path)])
    assert result.exit_code != 0 and "2500 x 843" in result.output
    assert line.calls == []


def test_learn_and_about_tell_of_the_line_channel(line_app):
    line_app.config["LINE_FRIEND_URL"] = "https://lin.ee/example"   # the account's add-friend link
    client = line_app.test_client()
    learn = client.get("/learn", base_url="http://line.test/").get_data(as_text=True)  # a page of its own in the cache
    assert "แจ้งเบาะแสและติดตามทาง LINE" in learn and "LINE อ่านข้อความและรูปในแชตได้" in learn
    assert 'href="https://lin.ee/example"' in learn
    about = client.get("/about").get_data(as_text=True)
    assert "แต่ละช่องทางเก็บอะไรไว้" in about and "LINE เองอ่านแชตได้" in about
