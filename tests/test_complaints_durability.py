"""Never lost, never leaked, and usable in a real browser — against a real ``prongsai serve``.

The kill test runs concurrent submitters, kills the server with SIGKILL at random moments, and
proves every tracking code a submitter received is present and complete afterwards. The canary
test submits marker strings from a fake client address, then searches the server's log, the
public database and every public page for them.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from cryptography.fernet import Fernet
from PIL import Image

from portal.complaints.crypto import code_hash, normalise_code
from prongsai.core.config import evidence_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, demo_db, complaints_db, log_path, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-c", "from prongsai.cli import main; main()", "serve", "--db", str(demo_db),
                     "--complaints-db", str(complaints_db), "--port", str(self.port)]
        self.env = {**os.environ, "PRONGSAI_COMPLAINTS_KEY": Fernet.generate_key().decode(),
                    "PRONGSAI_SECRET_KEY": "kill-test-secret", "WEB_CONCURRENCY": "1",
                    "PRONGSAI_RATE_LIMITS": json.dumps({"report": {"client": [10**6, 60], "global": [10**6, 60]}}),
                    **env}
        self.log_path = log_path
        self.proc = None

    def start(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args[-1] = str(self.port)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start: " + open(self.log_path, errors="replace").read()[-2000:])

    def kill(self):
        """SIGKILL to the server and any worker processes at once, like a crash."""
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


def small_jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 256, 80, 160)).save(out, "JPEG")
    return out.getvalue()


def submit(client, base, pid, body, files=(), contact=None, headers=None):
    url = f"{base}/projects/{pid}/report"
    html = client.get(url, headers=headers).text
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
            "nonce": re.search(r'name="nonce" value="([^"]+)"', html).group(1),
            "body": body, "concern": "money", "mode": "contact" if contact else "anonymous", "contact": contact or ""}
    r = client.post(url, data=data, files=[("evidence", f) for f in files], headers=headers)
    match = re.search(r'<output id="tracking-code"[^>]*>([^<]+)</output>', r.text)
    return r, (match.group(1) if match else None)


@pytest.fixture
def project_id(demo_db):
    return sqlite3.connect(demo_db).execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 1").fetchone()[0]


def test_every_acknowledged_report_survives_sigkill(demo_db, tmp_path, project_id):
    complaints_db = tmp_path / "complaints.db"
    server = Server(demo_db, complaints_db, tmp_path / "server.log", WEB_CONCURRENCY="2")  # as on Fly
    acked, lock = [], threading.Lock()
    rng = random.Random(8)

    def submitter(stop, base):
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                marker = f"kill-test {uuid.uuid4()} ถนนไม่เสร็จ"
                image = small_jpeg(rng.randrange(256))
                try:
                    r, code = submit(client, base, project_id, marker, files=[("p.jpg", image, "image/jpeg")])
                except (httpx.HTTPError, AttributeError):
                    continue  # killed mid-request: nothing was acknowledged
                if r.status_code == 200 and code:
                    with lock:
                        acked.append((code, marker))

    for _round in range(3):
        server.start()
        stop = threading.Event()
        threads = [threading.Thread(target=submitter, args=(stop, server.base)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.8, 2.0))
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=15)

    assert len(acked) >= 6, f"the submitters should have been acknowledged many times, not {len(acked)}"
    conn = sqlite3.connect(complaints_db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    folder = evidence_dir(complaints_db)
    for code, marker in acked:
        row = conn.execute("SELECT id FROM complaints WHERE tracking_hash = ?",
                           [code_hash(normalise_code(code))]).fetchone()
        assert row, f"acknowledged report lost ({len(acked)} acknowledged)"
        assert conn.execute("SELECT body FROM complaint_versions WHERE complaint_id = ? AND version = 1",
                            [row[0]]).fetchone()[0] == marker
        files = conn.execute("SELECT stored_name, sha256, size FROM evidence WHERE complaint_id = ?",
                             [row[0]]).fetchall()
        assert len(files) == 1
        data = (folder / files[0][0]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == files[0][1] and len(data) == files[0][2]

    # a fresh app on the same files (a restart) opens the last acknowledged report by its code
    from portal import create_app
    app = create_app({"TESTING": True, "DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(complaints_db)})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/track").get_data(as_text=True)).group(1)
    assert client.post("/track", data={"csrf_token": token, "code": acked[-1][0]}).status_code == 303
    assert "Received" in client.get("/track?lang=en").get_data(as_text=True)


CANARIES = {
    "body": "CANARY-BODY-7f3a9c ข้อความลับ",
    "contact": "CANARY-CONTACT-51be",
    "file": "CANARY-FILE-c0de.jpg",
    "message": "CANARY-MESSAGE-9e9e",
    "agent": "CANARY-AGENT-4242",
    "ip": "203.0.113.199",
}


def portal_pages() -> list[str]:
    """Every portal page a visitor can open without an argument (moderation excluded)."""
    from portal import create_app
    rules = create_app({"TESTING": True}).url_map.iter_rules()
    return sorted({r.rule for r in rules if "GET" in r.methods and not r.arguments
                   and not r.rule.startswith(("/moderate", "/login", "/logout"))})


def test_canaries_never_reach_logs_public_data_or_public_pages(demo_db, tmp_path, project_id):
    complaints_db = tmp_path / "complaints.db"
    log_path = tmp_path / "server.log"
    server = Server(demo_db, complaints_db, log_path, PRONGSAI_BEHIND_FLY_PROXY="true").start()
    headers = {"Fly-Client-IP": CANARIES["ip"], "X-Forwarded-For": CANARIES["ip"], "User-Agent": CANARIES["agent"]}
    try:
        with httpx.Client(timeout=10, headers=headers) as client:
            r, code = submit(client, server.base, project_id, CANARIES["body"], contact=CANARIES["contact"],
                             files=[(CANARIES["file"], small_jpeg(1), "image/jpeg")])
            assert r.status_code == 200 and code
            bad, _ = submit(client, server.base, project_id, "x", files=[(CANARIES["file"], b"MZ" + CANARIES[
                "body"].encode(), "image/jpeg")])
            assert bad.status_code == 400
            html = client.get(server.base + "/track").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            assert client.post(server.base + "/track", data={"csrf_token": token, "code": code}).status_code == 303
            nonce = re.search(r'name="nonce" value="([^"]+)"', client.get(server.base + "/track").text).group(1)
            assert client.post(server.base + "/track/message", data={
                "csrf_token": token, "nonce": nonce, "body": CANARIES["message"]}).status_code == 303
            client.post(server.base + "/track", data={"csrf_token": token, "code": code + "X" * 100})

            public = [f"/projects/{project_id}", f"/projects/{project_id}/report", "/data/",
                      "/data/procurement.json?sql=select+*+from+sqlite_master",
                      f"/data/procurement/projects.csv?project_id={project_id}"] + portal_pages()
            with httpx.Client(timeout=10) as anonymous:
                pages = {path: anonymous.get(server.base + path).text for path in public}
    finally:
        server.kill()

    secrets = {**CANARIES, "code": code, "code_plain": code.replace("-", "")}
    log = log_path.read_text(errors="replace")
    assert "Uvicorn running" in log or "Application startup" in log  # the log is really captured
    assert len(pages) > 10 and "/outcomes" in pages and "/corrections" in pages
    public_db = demo_db.read_bytes()
    for name, secret in secrets.items():
        assert secret not in log, f"{name} leaked into the server log"
        assert secret.encode() not in public_db, f"{name} in the public database"
        for path, text in pages.items():
            assert secret not in text, f"{name} on public page {path}"
    private = b"".join(p.read_bytes() for p in tmp_path.glob("complaints.db*"))
    for name in ("ip", "agent", "code", "code_plain", "contact"):  # never stored in clear, even privately
        assert secrets[name].encode() not in private, f"{name} stored in complaints.db"
    assert CANARIES["body"].encode() in private  # the search would have found it


CHROMIUM = pathlib.Path("/usr/bin/chromium")
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "test-output"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_report_and_follow_up_in_chromium(demo_db, tmp_path):
    """The citizen's path once in a real browser, with no CSP violation (no inline script)."""
    from playwright.sync_api import sync_playwright

    pid = sqlite3.connect(demo_db).execute("SELECT project_id FROM red_flags ORDER BY project_id").fetchone()[0]
    photo = tmp_path / "site.jpg"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 30)).save(out, "JPEG")
    photo.write_bytes(out.getvalue())
    server = Server(demo_db, tmp_path / "complaints.db", tmp_path / "server.log").start()
    OUTPUT.mkdir(exist_ok=True)
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(locale="th-TH").new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text
                    else None)
            page.goto(f"{server.base}/projects/{pid}/report")
            assert "แจ้งเบาะแส" in page.content()
            page.fill("#body", "เห็นรถขนดินเข้าออกตอนกลางคืน แต่ถนนยังไม่เสร็จตามสัญญา")
            page.set_input_files("#evidence", str(photo))
            page.screenshot(path=str(OUTPUT / "complaint-form.png"), full_page=True)
            page.click(".report-form button[type=submit]")
            code = page.text_content("#tracking-code").strip()
            assert re.fullmatch(r"([0-9A-Z]{4}-){5}[0-9A-Z]{4}", code)
            assert code not in page.url
            page.screenshot(path=str(OUTPUT / "complaint-received.png"), full_page=True)

            page.goto(f"{server.base}/track")
            page.fill("#code", code.lower())
            page.press("#code", "Enter")
            page.wait_for_load_state()
            assert "ได้รับเรื่อง" in page.content() and code not in page.url
            page.screenshot(path=str(OUTPUT / "complaint-track.png"), full_page=True)
            browser.close()
    finally:
        server.kill()
    assert problems == []
    assert os.path.getsize(OUTPUT / "complaint-received.png") > 0
