"""Security headers on every portal route and method, the same set under /data/, cookies,
the ASGI body guard, and which client address counts (rate limits: test_rate_limits.py)."""
from __future__ import annotations

import contextlib
import re

import httpx
import pytest

from prongsai.asgi import create_asgi_app
from prongsai.asgi_guards import Guarded

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def sample_url(rule):
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", "1", url)
    return url


def check_portal_headers(headers, https=False):
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-inline'" not in directives["default-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert ("Strict-Transport-Security" in headers) == https
    if https:
        assert "max-age=31536000" in headers["Strict-Transport-Security"]


@pytest.mark.parametrize("https", [False, True])
def test_every_portal_route_and_method_carries_the_headers(app, https):
    client = app.test_client()
    base = "https://localhost" if https else "http://localhost"
    rules = [r for r in app.url_map.iter_rules() if not r.endpoint.endswith("static")]
    assert len(rules) > 20
    for rule in rules:
        for method in METHODS:
            r = client.open(sample_url(rule), method=method, base_url=base)
            assert r.status_code < 500, (rule.rule, method, r.status_code)
            check_portal_headers(r.headers, https)


def test_session_cookie_flags(app, demo_db):
    client = app.test_client()
    r = client.get("/track", base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    r = app.test_client().get("/track")
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]


@contextlib.asynccontextmanager
async def combined(demo_db, tmp_path, **config):
    """An in-process client of the combined app (portal + /data/), as ``prongsai serve`` builds it."""
    from portal import create_app
    flask_app = create_app({"TESTING": True, "DATABASE": str(demo_db),
                            "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "t", **config})
    app = create_asgi_app(demo_db, flask_app=flask_app)
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def http(demo_db, tmp_path):
    async with combined(demo_db, tmp_path, MAX_EVIDENCE_BYTES=100_000, MAX_FORM_BYTES=100_000) as client:
        yield client


DATA_PAGES = ["/data/", "/data/procurement", "/data/procurement/projects.json?_size=1",
              "/data/procurement.json?sql=select+1", "/data/no-such-thing"]
SHARED = ["x-frame-options", "x-content-type-options", "referrer-policy", "cross-origin-opener-policy",
          "permissions-policy"]


@pytest.mark.parametrize("behind_proxy", [False, True])
async def test_one_set_of_headers_on_portal_and_data_pages(demo_db, tmp_path, behind_proxy):
    """HSTS follows the proxy's X-Forwarded-Proto on both sides, only behind the proxy; the shared
    headers are the same everywhere; /data/'s CSP differs from the portal's only by inline scripts."""
    forwarded = {"X-Forwarded-Proto": "https"}
    async with combined(demo_db, tmp_path, BEHIND_FLY_PROXY=behind_proxy) as http:
        portal = await http.get("/outcomes", headers=forwarded)
        check_portal_headers(portal.headers, https=behind_proxy)
        for path in DATA_PAGES:
            r = await http.get(path, headers=forwarded)
            assert r.status_code in (200, 302, 404), path
            assert [r.headers.get(h) for h in SHARED] == [portal.headers[h] for h in SHARED], path
            assert r.headers.get("strict-transport-security") == portal.headers.get("strict-transport-security")
            data_csp, portal_csp = r.headers["content-security-policy"], portal.headers["content-security-policy"]
            assert data_csp == portal_csp.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


async def test_oversized_body_refused_by_content_length_before_the_app_runs():
    called = []

    async def app(scope, receive, send):
        called.append(scope)

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        raise AssertionError("the body must not be read")

    guarded = Guarded(app, body_limit=lambda scope: 1000)
    scope = {"type": "http", "path": "/projects/x/report", "headers": [(b"content-length", b"1001")]}
    await guarded(scope, receive, send)
    assert not called and sent[0]["status"] == 413


async def test_streamed_body_cut_off_at_the_cap():
    chunks = [b"x" * 400] * 5
    seen = []

    async def receive():
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored!"})

    sent = []

    async def send(message):
        sent.append(message)

    await Guarded(app, body_limit=lambda scope: 1000)({"type": "http", "path": "/x", "headers": []}, receive, send)
    assert seen == ["http.request", "http.request", "http.disconnect"]
    assert sent[0]["status"] == 413 and all(m.get("body") != b"stored!" for m in sent)


async def test_upload_over_the_cap_gets_413_through_the_combined_app(http):
    r = await http.post("/projects/x/report", content=b"x" * 300_000,
                        headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413 and "nothing was stored" in r.text

    async def chunked():
        for _ in range(30):
            yield b"y" * 10_000

    r = await http.post("/projects/x/report", content=chunked(),
                        headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413


@pytest.mark.parametrize("behind_fly, separate", [(False, False), (True, True)])
def test_fly_client_ip_trusted_only_behind_fly(demo_db, tmp_path, behind_fly, separate):
    from portal import create_app
    app = create_app({"TESTING": True, "DATABASE": str(demo_db), "SECRET_KEY": "t", "BEHIND_FLY_PROXY": behind_fly,
                      "COMPLAINTS_DATABASE": str(tmp_path / "c.db"),
                      "RATE_LIMITS": {"track": {"client": [1, 600]}}})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/track").get_data(as_text=True)).group(1)
    first = client.post("/track", data={"csrf_token": token, "code": "x"}, headers={"Fly-Client-IP": "198.51.100.1"})
    second = client.post("/track", data={"csrf_token": token, "code": "x"},
                         headers={"Fly-Client-IP": "198.51.100.2", "X-Forwarded-For": "198.51.100.3"})
    assert first.status_code == 404
    assert (second.status_code == 404) == separate
    if not separate:
        assert second.status_code == 429


async def test_chunked_body_under_the_cap_reaches_the_app_with_a_length():
    chunks = [b"a" * 100, b"b" * 100, b"c" * 100]

    async def receive():
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    got = {}

    async def app(scope, receive, send):
        got["length"] = dict(scope["headers"]).get(b"content-length")
        got["body"] = (await receive())["body"]

    scope = {"type": "http", "path": "/x", "headers": [(b"transfer-encoding", b"chunked")]}
    await Guarded(app, body_limit=lambda scope: 1000)(scope, receive, None)
    assert got == {"length": b"300", "body": b"a" * 100 + b"b" * 100 + b"c" * 100}
