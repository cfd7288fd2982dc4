"""The citizen's path end to end with ``client``, and every bad input from the issue's list."""
from __future__ import annotations

import io
import pathlib
import re
import sqlite3

import pytest
from PIL import Image

from portal.complaints import crypto
from prongsai.core.config import evidence_dir

BODY = "เห็นรถขนดินเข้าออกตอนกลางคืน แต่ถนนยังไม่เสร็จ ผู้รับเหมาไม่อยู่หน้างานเลย (test)"


@pytest.fixture
def project_id(app):
    with app.app_context():
        from portal.db import get_db
        row = get_db().execute("SELECT project_id FROM red_flags ORDER BY project_id LIMIT 1").fetchone() \
            or get_db().execute("SELECT project_id FROM projects LIMIT 1").fetchone()
        return row[0]


def form_tokens(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    return {"csrf_token": csrf, **({"nonce": nonce.group(1)} if nonce else {})}


def report_url(pid):
    return f"/projects/{pid}/report"


def submit(client, pid, files=(), lang="en", **fields):
    url = f"{report_url(pid)}?lang={lang}"
    data = {**form_tokens(client, url), "body": BODY, "mode": "anonymous", "concern": "money"}
    data.update(fields)
    if files:
        data["evidence"] = list(files)
    return client.post(url, data=data, content_type="multipart/form-data")


def tracking_code(html):
    match = re.search(r'<output id="tracking-code"[^>]*>([^<]+)</output>', html)
    return match.group(1) if match else None


def photo_with_exif():
    """A JPEG carrying a camera maker, GPS position and a comment, as phones write them."""
    img = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"        # Make
    exif[0x8825] = {2: (13.0, 45.0, 0.0)}     # GPS latitude
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"owner: somchai")
    return out.getvalue()


def raw_bytes(db_path):
    """The database file and its WAL as bytes (what a stolen disk would show)."""
    paths = [pathlib.Path(db_path + suffix) for suffix in ("", "-wal")]
    return b"".join(p.read_bytes() for p in paths if p.exists())


def counts(app):
    conn = sqlite3.connect(app.config["COMPLAINTS_DATABASE"])
    try:
        return (conn.execute("SELECT count(*) FROM complaints").fetchone()[0],
                conn.execute("SELECT count(*) FROM evidence").fetchone()[0],
                sorted(p.name for p in evidence_dir(app.config["COMPLAINTS_DATABASE"]).iterdir()))
    except sqlite3.OperationalError:
        return (0, 0, [])
    finally:
        conn.close()


def test_report_route_wins_over_project_page_for_ids_with_slashes_and_spaces(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/projects/a/b c/report") == ("complaints.report", {"project_id": "a/b c"})
    assert adapter.match("/projects/a/b c/report", method="POST")[0] == "complaints.report"
    project_page = adapter.match("/projects/a/b c")[0]
    assert project_page != "complaints.report"


def test_form_is_prefilled_with_project_and_flags_and_states_anonymity(client, project_id, app):
    html = client.get(report_url(project_id) + "?lang=en").get_data(as_text=True)
    assert project_id in html
    with app.app_context():
        from portal.db import get_db
        title = get_db().execute("SELECT title FROM projects WHERE project_id = ?", [project_id]).fetchone()[0]
        flag_titles = [r[0] for r in get_db().execute(
            "SELECT d.title_en FROM red_flags f JOIN flag_definitions d USING (code) WHERE f.project_id = ?",
            [project_id])]
    from markupsafe import escape
    assert str(escape(title)) in html
    for flag_title in flag_titles:
        assert str(escape(flag_title)) in html
    assert "We cannot hide that your device connected" in html
    assert "Tor Browser" in html
    thai = client.get(report_url(project_id) + "?lang=th").get_data(as_text=True)
    assert "แจ้ง" in thai


def test_unknown_project_is_404(client):
    assert client.get("/projects/no-such-project/report").status_code == 404


def test_citizen_path_end_to_end(client, app, project_id):
    r = submit(client, project_id, files=[(io.BytesIO(photo_with_exif()), "IMG_0001.jpg")])
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    code = tracking_code(r.get_data(as_text=True))
    assert code and re.fullmatch(r"([0-9A-Z]{4}-){5}[0-9A-Z]{4}", code)
    assert len(code.replace("-", "")) * 5 >= 112

    conn = sqlite3.connect(app.config["COMPLAINTS_DATABASE"])
    raw = raw_bytes(app.config["COMPLAINTS_DATABASE"])
    assert code.encode() not in raw and code.replace("-", "").encode() not in raw
    (tracking_hash, pid, state, anonymous) = conn.execute(
        "SELECT tracking_hash, project_id, state, anonymous FROM complaints").fetchone()
    assert tracking_hash == crypto.code_hash(code.replace("-", "")) and pid == project_id
    assert (state, anonymous) == ("received", 1)
    assert conn.execute("SELECT body FROM complaint_versions").fetchone()[0] == BODY.strip()
    stored_name, original_name, status = conn.execute(
        "SELECT stored_name, original_name, status FROM evidence").fetchone()
    assert original_name == "IMG_0001.jpg" and status == "clean" and "IMG" not in stored_name
    cleaned = (evidence_dir(app.config["COMPLAINTS_DATABASE"]) / stored_name).read_bytes()
    assert b"SecretCameraMaker" not in cleaned and b"somchai" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as img:
        assert not img.getexif() and "comment" not in img.info and "exif" not in img.info

    # follow-up: the code in a form (lower case, spaces, Thai digits forgiven), never in a URL
    sloppy = " ".join(code.lower().split("-")).replace("0", "๐")
    r = client.post("/track", data={"csrf_token": form_tokens(client, "/track")["csrf_token"], "code": sloppy})
    assert r.status_code == 303 and code not in r.headers["Location"]
    page = client.get("/track?lang=en").get_data(as_text=True)
    assert "Received" in page and r.headers.get("Cache-Control") == "no-store"
    message = {**form_tokens(client, "/track"), "body": "ข้อมูลเพิ่มเติม: สัญญาลงวันที่ 3 มีนาคม"}
    assert client.post("/track/message", data=message).status_code == 303
    assert client.post("/track/message", data=message).status_code == 409  # replayed: stored once
    assert "สัญญาลงวันที่ 3 มีนาคม" in client.get("/track").get_data(as_text=True)
    assert conn.execute("SELECT sender FROM messages").fetchone()[0] == "complainant"
    # the audit notes the message, never its text
    assert "มีนาคม" not in " ".join(str(v) for row in conn.execute("SELECT * FROM audit") for v in row)

    client.post("/track/leave", data={"csrf_token": form_tokens(client, "/track")["csrf_token"]})
    assert "Received" not in client.get("/track?lang=en").get_data(as_text=True)


def test_contact_details_are_encrypted_at_rest(client, app, project_id):
    r = submit(client, project_id, mode="contact", contact="สมชาย 081-555-0199 canary-contact-77")
    assert r.status_code == 200
    db = app.config["COMPLAINTS_DATABASE"]
    raw = raw_bytes(db)
    assert b"canary-contact-77" not in raw and "สมชาย".encode() not in raw
    conn = sqlite3.connect(db)
    token, anonymous = conn.execute("SELECT contact_encrypted, anonymous FROM complaints").fetchone()
    assert anonymous == 0
    with app.app_context():
        assert "canary-contact-77" in crypto.decrypt(token)


def test_anonymous_mode_ignores_contact_field(client, app, project_id):
    assert submit(client, project_id, mode="anonymous", contact="someone").status_code == 200
    conn = sqlite3.connect(app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT contact_encrypted FROM complaints").fetchone()[0] is None


def test_pdf_rewritten_from_pages_only(client, app, project_id):
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": "Somchai Secret", "/Title": "internal memo"})
    writer.add_attachment("hidden.txt", b"attached secret")
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")})
    buf = io.BytesIO()
    writer.write(buf)
    r = submit(client, project_id, files=[(io.BytesIO(buf.getvalue()), "memo.pdf")])
    assert r.status_code == 200
    name = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute("SELECT stored_name FROM evidence").fetchone()[0]
    data = (evidence_dir(app.config["COMPLAINTS_DATABASE"]) / name).read_bytes()
    assert b"Somchai" not in data and b"attached secret" not in data and b"app.alert" not in data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1 and not reader.attachments
    assert "/Author" not in (reader.metadata or {})


def test_video_is_held_in_quarantine(client, app, project_id):
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    assert submit(client, project_id, files=[(io.BytesIO(mp4), "clip.mp4")]).status_code == 200
    kind, status = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute(
        "SELECT kind, status FROM evidence").fetchone()
    assert (kind, status) == ("video", "quarantine")


def _png(width, height):
    img = Image.new("1", (width, height))
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


POLYGLOT = photo_with_exif() + b"<html><script>alert('polyglot')</script></html>"


@pytest.mark.parametrize("files, fields, status, message", [
    ((), {"body": ""}, 400, "This field is required"),
    ((), {"body": "สั้น"}, 400, "at least 20 characters"),
    ((), {"body": "ก" * 20_001}, 400, "under 20000 characters"),
    ((), {"body": "ข้อความที่มีอักขระ NUL \x00 อยู่ข้างใน ยาวพอ"}, 400, "control characters"),
    ((), {"body": "ข้อความที่มี \ufffd ไบต์เสียจากการถอดรหัส ยาวพอแล้ว"}, 400, "not valid UTF-8"),
    ((), {"mode": ""}, 400, "Choose whether to stay anonymous"),
    ((), {"mode": "contact", "contact": ""}, 400, "This field is required"),
    ((), {"concern": "president"}, 400, "Choose one of the options"),
    (((b"MZ\x90\x00 windows exe", "evil.jpg"),), {}, 400, "is not a photo"),
    (((b"<svg><script>alert(1)</script></svg>", "a.svg"),), {}, 400, "is not a photo"),
    (((b"PK\x03\x04zipbomb", "a.zip"),), {}, 400, "is not a photo"),
    (((b"\xff\xd8\xff\xe0 truncated jpeg", "a.jpg"),), {}, 400, "could not be read as an image"),
    (((b"%PDF-1.4 garbage", "a.pdf"),), {}, 400, "could not be read as a PDF"),
    (((b"", "empty.jpg"),), {}, 400, "is empty"),
    ((("pixels", "bomb.png"),), {}, 400, "too many pixels"),
    (tuple((b"x", f"{i}.jpg") for i in range(11)), {}, 400, "at most 10 files"),
])
def test_bad_input_is_refused_clearly_and_nothing_is_stored(client, app, project_id, files, fields, status,
                                                            message):
    before = counts(app)
    files = [(_png(20_000, 20_000) if data == "pixels" else data, name) for data, name in files]
    r = submit(client, project_id, files=[(io.BytesIO(d), n) for d, n in files], **fields)
    assert r.status_code == status
    assert message in r.get_data(as_text=True)
    assert counts(app) == before
    thai = submit(client, project_id, files=[(io.BytesIO(d), n) for d, n in files], lang="th", **fields)
    assert thai.status_code == status and message not in thai.get_data(as_text=True)


def stored_files(app):
    folder = evidence_dir(app.config["COMPLAINTS_DATABASE"])
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_polyglot_image_is_rebuilt_from_pixels(client, app, project_id):
    assert submit(client, project_id, files=[(io.BytesIO(POLYGLOT), "photo.jpg")]).status_code == 200
    (data,) = stored_files(app).values()
    assert b"<script>" not in data and b"polyglot" not in data


def test_lying_type_is_judged_by_its_bytes(client, app, project_id):
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    buf = io.BytesIO()
    writer.write(buf)
    assert submit(client, project_id, files=[(io.BytesIO(buf.getvalue()), "holiday.jpg")]).status_code == 200
    kind, mime, stored = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute(
        "SELECT kind, mime, stored_name FROM evidence").fetchone()
    assert (kind, mime) == ("pdf", "application/pdf") and stored.endswith(".pdf")


def test_file_names_never_become_paths_and_thai_names_do_not_collide(client, app, project_id):
    names = ["../../etc/passwd", "..\\..\\win.ini", "ใบเสร็จ.jpg", "ใบเสร็จ.jpg", "a.jpg\x00.php", "\u202egpj.exe"]
    files = [(io.BytesIO(photo_with_exif()), name) for name in names]
    assert submit(client, project_id, files=files).status_code == 200
    rows = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute(
        "SELECT stored_name, original_name FROM evidence ORDER BY id").fetchall()
    assert len({r[0] for r in rows}) == 6
    for stored, original in rows:
        assert re.fullmatch(r"[0-9a-f]{32}\.jpg", stored)
        assert "/" not in original and "\\" not in original and "\x00" not in original and "\u202e" not in original
    assert rows[2][1] == rows[3][1] == "ใบเสร็จ.jpg"
    assert set(stored_files(app)) == {r[0] for r in rows}


def test_missing_or_foreign_csrf_token_is_refused(client, app, project_id):
    tokens = form_tokens(client, report_url(project_id))
    data = {"nonce": tokens["nonce"], "body": BODY, "mode": "anonymous", "concern": "money"}
    r = client.post(report_url(project_id) + "?lang=en", data=data)
    assert r.status_code == 400 and "did not come from this site" in r.get_data(as_text=True)
    other = app.test_client()
    foreign = form_tokens(other, report_url(project_id))["csrf_token"]
    r = client.post(report_url(project_id), data={**data, "csrf_token": foreign})
    assert r.status_code == 400
    assert counts(app)[0] == 0


def test_a_resent_form_shows_the_same_code_and_is_stored_once(client, app, project_id):
    """The response was lost and the browser sends the form again: the citizen still gets the code."""
    url = report_url(project_id) + "?lang=en"
    data = {**form_tokens(client, url), "body": BODY, "mode": "anonymous", "concern": "money"}
    first = client.post(url, data={**data, "evidence": [(io.BytesIO(photo_with_exif()), "a.jpg")]},
                        content_type="multipart/form-data")
    again = client.post(url, data={**data, "evidence": [(io.BytesIO(photo_with_exif()), "a.jpg")]},
                        content_type="multipart/form-data")
    assert first.status_code == again.status_code == 200
    code = tracking_code(first.get_data(as_text=True))
    assert code and tracking_code(again.get_data(as_text=True)) == code
    stored, files, names = counts(app)
    assert (stored, files, len(names)) == (1, 1, 1)  # the re-sent file is not kept twice
    with app.test_request_context():
        from portal.complaints import forms
        nonce = forms.check_nonce(data["nonce"])
    private = raw_bytes(app.config["COMPLAINTS_DATABASE"])
    for secret in (code, code.replace("-", ""), nonce):  # nothing that would give the code back is stored
        assert secret.encode() not in private

    other = client.post(url, data={**form_tokens(client, url), "body": BODY, "mode": "anonymous",
                                   "concern": "money"})
    assert other.status_code == 200 and tracking_code(other.get_data(as_text=True)) not in (None, code)
    assert counts(app)[0] == 2  # a new form is a new report


def test_the_same_form_with_other_content_is_refused(client, app, project_id):
    url = report_url(project_id) + "?lang=en"
    data = {**form_tokens(client, url), "body": BODY, "mode": "anonymous", "concern": "money"}
    assert client.post(url, data=data).status_code == 200
    r = client.post(url, data={**data, "body": BODY + " และอีกเรื่องหนึ่ง"})
    assert r.status_code == 409 and "already sent" in r.get_data(as_text=True)
    assert tracking_code(r.get_data(as_text=True)) is None
    assert counts(app)[0] == 1


def test_forged_nonce_is_refused(client, app, project_id):
    url = report_url(project_id) + "?lang=en"
    data = {**form_tokens(client, url), "body": BODY, "mode": "anonymous", "concern": "money"}
    data["nonce"] = "made-up"
    assert client.post(url, data=data).status_code == 400
    assert counts(app)[0] == 0


def test_wrong_content_types_and_raw_invalid_utf8(client, app, project_id):
    url = report_url(project_id) + "?lang=en"
    tokens = form_tokens(client, url)
    r = client.post(url, json={**tokens, "body": BODY, "mode": "anonymous"})
    assert r.status_code == 400
    body = b"csrf_token=" + tokens["csrf_token"].encode() + b"&nonce=" + tokens["nonce"].encode() + \
        b"&mode=anonymous&body=" + b"\xff\xfe\xfa" * 20
    r = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400
    assert counts(app)[0] == 0


def test_extra_fields_cannot_set_state_or_anything_else(client, app, project_id):
    r = submit(client, project_id, state="verified", anonymous="0", case_no="X", tracking_hash="y")
    assert r.status_code == 200
    state, case_no = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute(
        "SELECT state, case_no FROM complaints").fetchone()
    assert state == "received" and case_no != "X"


def test_flood_from_one_client_gets_429_and_others_are_not_blocked(app, project_id):
    app.config["RATE_LIMITS"] = {"report": {"client": [3, 3600]}}
    client = app.test_client()
    statuses = [submit(client, project_id, body=BODY + f" {i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    r = submit(client, project_id)
    assert int(r.headers["Retry-After"]) > 0 and "nothing from this attempt was stored" in r.get_data(as_text=True)
    assert counts(app)[0] == 3
    other = app.test_client()
    other_r = other.post(report_url(project_id), data={
        **form_tokens(other, report_url(project_id)), "body": BODY, "mode": "anonymous", "concern": "money"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_r.status_code == 200


def test_wrong_tracking_code_answers_like_not_found(client, app, project_id):
    tokens = form_tokens(client, "/track")
    unknown = client.post("/track?lang=en", data={**tokens, "code": "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01"})
    malformed = client.post("/track?lang=en", data={**tokens, "code": "hello"})
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.get_data() == malformed.get_data()
    assert "No report matches this code" in unknown.get_data(as_text=True)
    overlong = client.post("/track", data={**tokens, "code": "A" * 10_000})
    assert overlong.status_code == 400
    # the code is never accepted from the URL
    code_in_url = client.get("/track?code=ABCD-EFGH-JKMN-PQRS-TVWX-YZ01&lang=en")
    assert "Your report" not in code_in_url.get_data(as_text=True)


def test_wrong_methods_answer_405(client):
    assert client.get("/track/message").status_code == 405
    assert client.put("/track").status_code == 405
    assert client.delete("/projects/x/report").status_code == 405


def test_script_in_every_field_is_escaped_for_the_complainant(client, app, project_id):
    evil = "<script>alert('x')</script> {{7*7}} " + BODY
    r = submit(client, project_id, body=evil, mode="contact", contact="<img src=x onerror=alert(1)>")
    code = tracking_code(r.get_data(as_text=True))
    client.post("/track", data={**form_tokens(client, "/track"), "code": code})
    client.post("/track/message", data={**form_tokens(client, "/track"), "body": "<script>alert(2)</script>"})
    page = client.get("/track").get_data(as_text=True)
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)" in page


def test_complaints_refuse_to_start_without_a_key_outside_testing(demo_db, tmp_path, monkeypatch):
    from portal import create_app
    monkeypatch.delenv("PRONGSAI_COMPLAINTS_KEY", raising=False)
    app = create_app({"DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(tmp_path / "c.db"), "SECRET_KEY": "s"})
    assert "PRONGSAI_COMPLAINTS_KEY is not set" in app.extensions["complaints_disabled"]
    r = app.test_client().get("/projects/x/report?lang=en")
    assert r.status_code == 503 and "encryption key" in r.get_data(as_text=True)
    from cryptography.fernet import Fernet
    keyed = create_app({"DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(tmp_path / "c.db"), "SECRET_KEY": "s",
                        "COMPLAINTS_KEY": Fernet.generate_key().decode()})
    assert keyed.test_client().get("/projects/x/report").status_code == 404


def test_intake_closes_when_the_disk_is_nearly_full(client, app, project_id):
    app.config["MIN_FREE_DISK_BYTES"] = 10**18
    r = submit(client, project_id)
    assert r.status_code == 503 and "disk space" in r.get_data(as_text=True)
    assert counts(app)[0] == 0


def test_a_message_quoting_the_own_tracking_code_is_refused(client, app, project_id):
    code = tracking_code(submit(client, project_id).get_data(as_text=True))
    client.post("/track", data={**form_tokens(client, "/track"), "code": code})
    quoted = f"รหัสของฉันคือ {code.lower().replace('-', ' ')} ครับ"
    r = client.post("/track/message?lang=en", data={**form_tokens(client, "/track"), "body": quoted})
    assert r.status_code == 400 and "do not write your tracking code" in r.get_data(as_text=True)
    other = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01"
    r = client.post("/track/message", data={**form_tokens(client, "/track"), "body": f"เลขอ้างอิง {other}"})
    assert r.status_code == 303
    bodies = [r[0] for r in sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute("SELECT body FROM messages")]
    assert bodies == [f"เลขอ้างอิง {other}"]


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_cross_site_posts_are_refused_even_with_a_token(client, app, project_id, headers):
    url = report_url(project_id) + "?lang=en"
    data = {**form_tokens(client, url), "body": BODY, "mode": "anonymous", "concern": "money"}
    r = client.post(url, data=data, headers=headers)
    assert r.status_code == 400 and "did not come from this site" in r.get_data(as_text=True)
    assert client.post(url, data=data, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
                       ).status_code == 200
    assert counts(app)[0] == 1


def test_photos_inside_a_pdf_lose_their_metadata(client, app, project_id):
    with Image.open(io.BytesIO(photo_with_exif())) as photo:
        pdf = io.BytesIO()
        photo.save(pdf, "PDF")
    assert b"somchai" in pdf.getvalue()
    assert submit(client, project_id, files=[(io.BytesIO(pdf.getvalue()), "scan.pdf")]).status_code == 200
    (data,) = stored_files(app).values()
    assert b"somchai" not in data and b"SecretCameraMaker" not in data
    from pypdf import PdfReader
    assert PdfReader(io.BytesIO(data)).pages[0].images[0].image.size == (40, 30)


def test_follow_up_evidence_has_a_per_report_quota(client, app, project_id):
    photo = photo_with_exif()
    code = tracking_code(submit(client, project_id, files=[(io.BytesIO(photo), "a.jpg")]).get_data(as_text=True))
    held = sqlite3.connect(app.config["COMPLAINTS_DATABASE"]).execute("SELECT size FROM evidence").fetchone()[0]
    app.config["MAX_CASE_EVIDENCE_BYTES"] = held + 10
    client.post("/track", data={**form_tokens(client, "/track"), "code": code})
    r = client.post("/track/message?lang=en", data={**form_tokens(client, "/track"), "body": "อีกรูปครับ",
                                                    "evidence": (io.BytesIO(photo), "b.jpg")})
    assert r.status_code == 413 and "as much evidence as one report can" in r.get_data(as_text=True)
    assert counts(app)[1] == 1 and len(counts(app)[2]) == 1


def forward(app, agencies):
    """The newest case, verified and forwarded (as two moderators would have done it)."""
    conn = sqlite3.connect(app.config["COMPLAINTS_DATABASE"], isolation_level=None)
    cid = conn.execute("SELECT max(id) FROM complaints").fetchone()[0]
    conn.execute("UPDATE complaints SET state = 'forwarded', verified_at = created_at WHERE id = ?", [cid])
    for agency in agencies:
        conn.execute("INSERT INTO forwardings (complaint_id, agency, channel, forwarded_at) "
                     "VALUES (?, ?, 'email', datetime('now'))", [cid, agency])
    conn.close()


def outcomes_row(client, lang="en"):
    import datetime as dt
    page = client.get(f"/outcomes?lang={lang}").get_data(as_text=True)
    month = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    return page, re.search(rf'<tr><th scope="row">{month}</th>(.*?)</tr>', page, re.S).group(1)


def test_outcomes_publish_no_count_under_three(client, app, project_id):
    assert submit(client, project_id).status_code == 200
    forward(app, ["sao"])
    page, row = outcomes_row(client)
    assert not re.search(r"\b[12]\b", row), row  # not "1 received", not "State Audit Office: 1"
    assert row.count("fewer than 3") == 3 and "State Audit Office" in row
    assert "shown only as “fewer than 3”" in page
    assert "น้อยกว่า 3" in outcomes_row(client, "th")[1] and "น้อยกว่า 3" in outcomes_row(client, "th")[0]

    for _ in range(2):
        assert submit(client, project_id).status_code == 200
        forward(app, ["sao", "nacc"])  # one case, two agencies: still one report received
    _, row = outcomes_row(client)
    assert re.match(r"<td>3</td><td>3</td>", row), row
    assert "State Audit Office (สตง.): 3" in row and "fewer than 3" in row  # NACC had two
