"""A stand-in for LINE's Messaging API on 127.0.0.1: a real HTTP server the SDK is pointed at.

It serves what Prongsai calls (reply, push, a message's content, rich menus), checks the bearer
token, records every call, and honours ``X-Line-Retry-Key`` as LINE documents it: a push whose
key was accepted before is not delivered again and gets 409 with ``X-Line-Accepted-Request-Id``.
``fail_next`` makes the next calls to a path answer an error (a 500, a 429) first; ``lose_next``
makes the next pushes be delivered but answered 500, as when LINE's answer is lost on the way.
"""

import base64
import hashlib
import hmac
import io
import json
import pathlib
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

TOKEN = "test-access-token"
SECRET = "test-channel-secret"


@dataclass
class Call:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Standin:
    url: str = ""
    calls: list = field(default_factory=list)
    contents: dict = field(default_factory=dict)          # message id -> bytes
    delivered: list = field(default_factory=list)         # (to, messages) of replies and pushes, once each
    retry_keys: dict = field(default_factory=dict)        # key -> request id accepted
    fail_next: dict = field(default_factory=dict)         # path -> [status, ...]
    lose_next: int = 0                                    # pushes delivered whose answer is "lost"
    rich_menus: dict = field(default_factory=dict)        # id -> {"menu": ..., "image": bytes}
    default_rich_menu: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pushes(self, to=None):
        return [c for c in self.calls if c.path == "/v2/bot/message/push" and (to is None or c.json()["to"] == to)]

    def replies(self):
        return [c for c in self.calls if c.path == "/v2/bot/message/reply"]

    def texts(self):
        """Every text delivered (replies and accepted pushes), in order."""
        return [m["text"] for _to, messages in self.delivered for m in messages if m.get("type") == "text"]

    def wait_for(self, condition, timeout=10.0):
        """Replies are sent by a thread after the webhook's 200: wait for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        raise AssertionError("the LINE stand-in did not receive what was expected in time")


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _handler(state: Standin):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: tests read ``state.calls``
            pass

        def _answer(self, status, body=b"{}", headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) or body[:1] in
                             (b"{", b"[") else "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            call = Call(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with state.lock:
                state.calls.append(call)
                failures = state.fail_next.get(self.path)
                failure = failures.pop(0) if failures else None
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._answer(401, {"message": "Authentication failed"})
            if failure:
                return self._answer(failure, {"message": "stand-in failure"})
            return self._route(call)

        do_GET = do_POST = do_DELETE = _handle

        def _route(self, call):
            path = call.path
            if path == "/v2/bot/message/reply" and call.method == "POST":
                data = call.json()
                if data.get("replyToken") in (None, "", "-", "expired"):
                    return self._answer(400, {"message": "Invalid reply token"})
                with state.lock:
                    state.delivered.append((f"reply:{data['replyToken']}", data["messages"]))
                return self._answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
            if path == "/v2/bot/message/push" and call.method == "POST":
                data = call.json()
                key = call.headers.get("x-line-retry-key")
                with state.lock:
                    if key and key in state.retry_keys:
                        return self._answer(409, {"message": "The retry key is already accepted",
                                                  "sentMessages": []},
                                            [("X-Line-Accepted-Request-Id", state.retry_keys[key])])
                    if key:
                        state.retry_keys[key] = str(uuid.uuid4())
                    state.delivered.append((data["to"], data["messages"]))
                    lost, state.lose_next = state.lose_next > 0, max(0, state.lose_next - 1)
                if lost:
                    return self._answer(500, {"message": "stand-in: delivered, but this answer is lost"})
                return self._answer(200, {"sentMessages": [{"id": "2", "quoteToken": "q"}]})
            match = re.fullmatch(r"/v2/bot/message/([^/]+)/content", path)
            if match and call.method == "GET":
                data = state.contents.get(match.group(1))
                return self._answer(200, data) if data is not None else self._answer(404, {"message": "Not found"})
            if path == "/v2/bot/richmenu" and call.method == "POST":
                menu_id = f"richmenu-{uuid.uuid4().hex}"
                state.rich_menus[menu_id] = {"menu": call.json(), "image": None}
                return self._answer(200, {"richMenuId": menu_id})
            match = re.fullmatch(r"/v2/bot/richmenu/([^/]+)/content", path)
            if match and call.method == "POST" and match.group(1) in state.rich_menus:
                state.rich_menus[match.group(1)]["image"] = call.body
                return self._answer(200, {})
            match = re.fullmatch(r"/v2/bot/user/all/richmenu/([^/]+)", path)
            if match and call.method == "POST" and match.group(1) in state.rich_menus:
                state.default_rich_menu = match.group(1)
                return self._answer(200, {})
            return self._answer(404, {"message": f"the stand-in has no {call.method} {path}"})

    return Handler


def start() -> tuple[Standin, ThreadingHTTPServer]:
    state = Standin()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


# -- fixtures and helpers for tests/test_line*.py ------------------------------------------------------

USER = "U" + "4f1c" * 8          # a LINE user id: U and 32 hex digits
OTHER = "U" + "9a0b" * 8


@pytest.fixture
def line():
    state, server = start()
    yield state
    server.shutdown()
    server.server_close()


def line_config(line, **extra):
    return {"LINE_CHANNEL_SECRET": SECRET, "LINE_ACCESS_TOKEN": TOKEN, "LINE_API_URL": line.url,
            "LINE_DATA_API_URL": line.url, "PUBLIC_URL": "https://prongsai.example", **extra}


@pytest.fixture
def line_app(demo_db, tmp_path, line):
    from portal import create_app

    return create_app({"TESTING": True, "DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"),
                       "SECRET_KEY": "test", **line_config(line)})


@pytest.fixture
def project_id(demo_db):
    conn = sqlite3.connect(demo_db)
    try:
        return conn.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def event(kind="message", user=USER, **extra):
    return {"type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user}, "webhookEventId": uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex, **extra}


def text(words, user=USER):
    return event(user=user, message={"type": "text", "id": str(uuid.uuid4().int)[:18], "text": words,
                                     "quoteToken": "q"})


def image(message_id, user=USER):
    return event(user=user, message={"type": "image", "id": message_id, "contentProvider": {"type": "line"},
                                     "quoteToken": "q"})


def body_of(*events):
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}, ensure_ascii=False).encode()


def post(client, body: bytes, signature: str | None = "sign"):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Line-Signature"] = sign(body)
    elif signature is not None:
        headers["X-Line-Signature"] = signature
    return client.post("/line/webhook", data=body, headers=headers)


def say(client, line, *events):
    """Send events as LINE does; the bot's texts in answer (sent by a thread after the 200)."""
    before = len(line.delivered)
    response = post(client, body_of(*events))
    assert response.status_code == 200, response.get_json()
    line.wait_for(lambda: len(line.delivered) >= before + len(events) and handled(client.application))
    return line.texts()[before:]


def handled(app) -> bool:
    """Whether the inbox is empty: every event's writes are committed."""
    conn = sqlite3.connect(app.config["COMPLAINTS_DATABASE"])
    try:
        return conn.execute("SELECT count(*) FROM line_inbox").fetchone()[0] == 0
    finally:
        conn.close()


def photo_with_gps():
    """A JPEG as phones write them: camera maker, GPS position, a comment."""
    img = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    exif[0x8825] = {1: "N", 2: (13.0, 45.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"owner: somchai")
    return out.getvalue()


def raw_bytes(*paths):
    """Files with their WAL and journals, as bytes (what a stolen disk shows)."""
    found = [pathlib.Path(str(p) + suffix) for p in paths for suffix in ("", "-wal", "-journal", "-shm")]
    return b"".join(p.read_bytes() for p in found if p.exists())
