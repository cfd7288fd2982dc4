"""Every route refuses a body over its own limit with 413 before reading it, declared or chunked:
upload forms keep the evidence total they promise, every other form and ``/data/`` get far less.
Checked through a real uvicorn server on 127.0.0.1, and in Flask alone."""
from __future__ import annotations

import inspect
import io
import os
import re
import socket
import sqlite3
import threading
import time

import httpx
import pytest
import uvicorn
from PIL import Image

from portal import create_app, security
from prongsai.asgi import create_asgi_app

MB = 1024 * 1024


@pytest.fixture
def flask_app(demo_db, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(demo_db), "SECRET_KEY": "t",
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db")})


@pytest.fixture
def server(flask_app, demo_db):
    """The combined app under uvicorn in a thread, on a free port; stopped after the test."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_asgi_app(demo_db, flask_app=flask_app), log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield sock.getsockname()[1]
    srv.should_exit = True
    thread.join(10)
    sock.close()


def raw_post(port, path, headers: dict, body: bytes = b"") -> int:
    """Send a request head (and optionally part of a body) on a plain socket; the response status.

    Only what is given is sent, so a 413 that arrives proves the server answered without
    waiting for (or reading) the rest of a declared body."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode() + body)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0


def chunked(total: int, size: int = 16 * 1024) -> bytes:
    """``total`` bytes as HTTP chunks, without the final zero chunk (the sender is still going)."""
    out = b""
    while total > 0:
        n = min(size, total)
        out += f"{n:x}\r\n".encode() + b"x" * n + b"\r\n"
        total -= n
    return out


def project_id(demo_db):
    conn = sqlite3.connect(demo_db)
    return conn.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 1").fetchone()[0]


def test_upload_endpoints_are_exactly_the_views_that_read_files(flask_app):
    """The table of upload routes cannot drift from the views: a new upload form must be listed."""
    reads_files = {endpoint for endpoint, view in flask_app.view_functions.items()
                   if "request.files" in inspect.getsource(inspect.unwrap(view))}
    assert reads_files == security.UPLOAD_ENDPOINTS


def test_limits_keep_the_evidence_promise_and_little_else(flask_app, demo_db):
    pid = project_id(demo_db)
    limit = lambda path, method="POST": security.body_limit_for_path(flask_app, path, method)  # noqa: E731
    assert limit(f"/projects/{pid}/report") >= flask_app.config["MAX_EVIDENCE_BYTES"] + 64 * 1024
    assert limit("/track/message") == limit(f"/projects/{pid}/report")
    for path in ["/track", "/login", "/moderate/cases/X/message", "/corrections/request", "/nowhere", "/"]:
        assert limit(path) == flask_app.config["MAX_FORM_BYTES"] < MB


def test_flask_alone_refuses_bodies_over_the_route_limit(flask_app, demo_db):
    """Defence in depth behind the ASGI door: Flask's own limit is set, per route."""
    client = flask_app.test_client()
    assert flask_app.config["MAX_CONTENT_LENGTH"] == flask_app.config["MAX_FORM_BYTES"]
    r = client.post("/track?lang=en", data={"code": "x" * MB})
    assert r.status_code == 413 and "Nothing was stored" in r.get_data(as_text=True)
    r = client.post(f"/projects/{project_id(demo_db)}/report", content_type="multipart/form-data",
                    data={"body": "x", "evidence": (io.BytesIO(b"x" * (2 * MB)), "a.jpg")})
    assert r.status_code == 400  # read and refused as a form (bad nonce), not cut off at the form limit


def test_declared_too_large_refused_before_the_body_is_sent(server, flask_app, demo_db):
    report = f"/projects/{project_id(demo_db)}/report"
    over = flask_app.config["MAX_EVIDENCE_BYTES"] + flask_app.config["MAX_FORM_BYTES"] + 1
    assert raw_post(server, report, {"Content-Length": over}) == 413
    assert raw_post(server, "/track", {"Content-Length": MB}) == 413
    assert raw_post(server, "/login", {"Content-Length": MB}) == 413
    assert raw_post(server, "/data/procurement", {"Content-Length": MB}) == 413


def test_chunked_too_large_refused(server):
    assert raw_post(server, "/track", {"Transfer-Encoding": "chunked"}, chunked(MB // 2)) == 413
    assert raw_post(server, "/data/procurement", {"Transfer-Encoding": "chunked"}, chunked(MB // 2)) == 413


def test_a_report_with_evidence_larger_than_any_form_still_works(server, demo_db):
    png = io.BytesIO()
    Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3)).save(png, "PNG")  # noise: about 1 MB
    assert png.tell() > security.DEFAULT_FORM_BYTES
    url = f"http://127.0.0.1:{server}/projects/{project_id(demo_db)}/report?lang=en"
    with httpx.Client(timeout=30) as client:
        html = client.get(url).text
        data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
                "nonce": re.search(r'name="nonce" value="([^"]+)"', html).group(1),
                "body": "รถขนดินเข้าออกตอนกลางคืน แต่ถนนยังไม่เสร็จเลย", "concern": "money", "mode": "anonymous"}
        r = client.post(url, data=data, files=[("evidence", ("photo.png", png.getvalue(), "image/png"))])
    assert r.status_code == 200 and 'id="tracking-code"' in r.text
