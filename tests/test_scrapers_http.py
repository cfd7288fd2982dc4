"""The shared HTTP client: politeness, retries, timeouts, cache and resumable downloads (no network)."""
from __future__ import annotations

import hashlib
import http.server
import threading

import pytest
import requests
import responses
import urllib3.util.retry

from scrapers.http import USER_AGENT, Client, FetchError

HOST = "https://data.example.th"
ROBOTS_OK = "User-agent: *\nDisallow: /private/\n"


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def client(fake_time):
    c = Client(cache_path=None, backoff=0, sleep=fake_time.sleep, clock=fake_time.clock)
    yield c
    c.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        rsps.get(f"{HOST}/robots.txt", body=ROBOTS_OK)
        yield rsps


def test_user_agent_names_prongsai_and_its_url(client, mocked):
    mocked.get(f"{HOST}/a", body="ok")
    client.get(f"{HOST}/a")
    sent = mocked.calls[-1].request.headers["User-Agent"]
    assert sent == USER_AGENT and "Prongsai" in sent and "https://" in sent


def test_robots_txt_is_read_once_and_obeyed(client, mocked):
    mocked.get(f"{HOST}/a", body="ok")
    mocked.get(f"{HOST}/b", body="ok")
    client.get(f"{HOST}/a")
    client.get(f"{HOST}/b")
    with pytest.raises(FetchError, match="robots.txt of data.example.th disallows"):
        client.get(f"{HOST}/private/x.csv")
    assert [c.request.url for c in mocked.calls].count(f"{HOST}/robots.txt") == 1


def test_missing_robots_allows_but_unreachable_robots_refuses(client):
    with responses.RequestsMock() as rsps:
        rsps.get("https://a.example.th/robots.txt", status=404)
        rsps.get("https://a.example.th/x", body="ok")
        rsps.get("https://b.example.th/robots.txt", status=503)
        assert client.get("https://a.example.th/x").text == "ok"
        with pytest.raises(FetchError, match="robots.txt could not be read"):
            client.get("https://b.example.th/x")


def test_rate_limit_per_host_and_slower_for_egp(client, mocked, fake_time):
    mocked.get(f"{HOST}/a", body="ok")
    mocked.get("https://process5.gprocurement.go.th/robots.txt", status=404)
    mocked.get("https://process5.gprocurement.go.th/p", body="ok")
    client.get(f"{HOST}/a")      # robots.txt then /a: one wait of 1 s
    client.get(f"{HOST}/a")      # another second
    assert fake_time.sleeps == [1.0, 1.0]
    client.get("https://process5.gprocurement.go.th/p")  # other host: its robots, then 3 s
    assert fake_time.sleeps == [1.0, 1.0, 3.0]


def test_5xx_is_retried_then_succeeds(client, mocked):
    mocked.get(f"{HOST}/list", status=503)
    mocked.get(f"{HOST}/list", status=502)
    mocked.get(f"{HOST}/list", json={"ok": True})
    assert client.get_json(f"{HOST}/list") == {"ok": True}
    assert len([c for c in mocked.calls if c.request.url == f"{HOST}/list"]) == 3


def test_persistent_5xx_is_one_clear_error(client, mocked):
    for _ in range(5):  # the first try and 4 retries
        mocked.get(f"{HOST}/list", status=500)
    with pytest.raises(FetchError, match=r"HTTP 500 .*data.example.th/list"):
        client.get(f"{HOST}/list")
    assert len([c for c in mocked.calls if c.request.url == f"{HOST}/list"]) == 5


def test_404_is_not_retried(client, mocked):
    mocked.get(f"{HOST}/gone", status=404)
    with pytest.raises(FetchError, match="HTTP 404"):
        client.get(f"{HOST}/gone")
    assert len([c for c in mocked.calls if c.request.url == f"{HOST}/gone"]) == 1


def test_timeout_is_a_clear_error_and_every_call_has_a_timeout(client, mocked):
    mocked.get(f"{HOST}/slow", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(FetchError, match=r"timed out fetching https://data.example.th/slow"):
        client.get(f"{HOST}/slow")
    mocked.get(f"{HOST}/a", body="ok")
    client.get(f"{HOST}/a")
    assert mocked.calls[-1].request.req_kwargs["timeout"] == client.timeout


def test_json_expected_but_html_served(client, mocked):
    mocked.get(f"{HOST}/api", body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(FetchError, match="expected JSON .* text/html"):
        client.get_json(f"{HOST}/api")


def test_only_reads(client):
    with pytest.raises(ValueError):
        client.request("POST", f"{HOST}/x")


def test_cache_only_for_documents_marked_static(tmp_path, fake_time):
    client = Client(cache_path=tmp_path / "cache" / "http", backoff=0, sleep=fake_time.sleep,
                    clock=fake_time.clock)
    with responses.RequestsMock() as rsps:
        rsps.get(f"{HOST}/robots.txt", body=ROBOTS_OK)
        rsps.get(f"{HOST}/doc.html", body="announcement")
        rsps.get(f"{HOST}/listing", body="page 1")
        for _ in range(2):
            assert client.get(f"{HOST}/doc.html", cache=True).text == "announcement"
            assert client.get(f"{HOST}/listing").text == "page 1"
        urls = [c.request.url for c in rsps.calls]
    client.close()
    assert urls.count(f"{HOST}/doc.html") == 1      # second one from the cache
    assert urls.count(f"{HOST}/listing") == 2       # listings are never cached
    assert (tmp_path / "cache" / "http.sqlite").exists()


# --- downloads --------------------------------------------------------------------------

BODY = ("รหัสโครงการ,ชื่อโครงการ\n" + "64097344169,ซื้อวัสดุ\n" * 2000).encode("utf-8")


def _range_callback(request):
    start = int(request.headers["Range"].split("=")[1].rstrip("-"))
    return 206, {"Content-Range": f"bytes {start}-{len(BODY) - 1}/{len(BODY)}"}, BODY[start:]


def test_download_streams_and_records_sha256(client, mocked, tmp_path):
    mocked.get(f"{HOST}/f.csv", body=BODY)
    dl = client.download(f"{HOST}/f.csv", tmp_path / "raw" / "f.csv")
    assert dl.path.read_bytes() == BODY
    assert dl.sha256 == hashlib.sha256(BODY).hexdigest() and dl.size == len(BODY)
    assert not (tmp_path / "raw" / "f.csv.part").exists()


def test_truncated_download_resumes_with_range(client, mocked, tmp_path, monkeypatch):
    monkeypatch.setattr("scrapers.http.CHUNK", 256)  # so some bytes reach disk before the cut
    cut = 1000
    mocked.get(f"{HOST}/f.csv", body=BODY[:cut], headers={"Content-Length": str(len(BODY))},
               auto_calculate_content_length=False)
    mocked.add_callback(responses.GET, f"{HOST}/f.csv", callback=_range_callback)
    dl = client.download(f"{HOST}/f.csv", tmp_path / "f.csv")
    assert dl.path.read_bytes() == BODY
    assert dl.sha256 == hashlib.sha256(BODY).hexdigest()
    assert mocked.calls[-1].request.headers["Range"] == "bytes=768-"  # 3 whole chunks were kept


def test_download_restarts_when_range_is_ignored(client, mocked, tmp_path):
    (tmp_path / "f.csv.part").write_bytes(b"stale partial bytes")
    mocked.get(f"{HOST}/f.csv", body=BODY)  # answers 200 with the whole file despite Range
    dl = client.download(f"{HOST}/f.csv", tmp_path / "f.csv")
    assert dl.path.read_bytes() == BODY


def test_download_that_stays_truncated_fails_and_leaves_no_file(client, mocked, tmp_path):
    for _ in range(3):
        mocked.get(f"{HOST}/f.csv", body=b"", status=206,
                   headers={"Content-Range": f"bytes 10-{len(BODY) - 1}/{len(BODY)}"})
    (tmp_path / "f.csv.part").write_bytes(BODY[:10])
    with pytest.raises(FetchError, match=r"download of .*f.csv failed after 3 attempts: truncated: 10 of"):
        client.download(f"{HOST}/f.csv", tmp_path / "f.csv")
    assert not (tmp_path / "f.csv").exists()


# --- Retry-After against a real (local) server: urllib3 does the waiting -----------------

class _Handler(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.hits.count(self.path) == 1:
            self.send_response(429)
            self.send_header("Retry-After", "7")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_429_waits_as_long_as_retry_after_says(monkeypatch, fake_time):
    waits = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waits.append)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = Client(cache_path=None, backoff=0, sleep=fake_time.sleep, clock=fake_time.clock)
        assert client.get(f"http://127.0.0.1:{server.server_port}/list").text == "ok"
        client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert waits == [7.0]
    assert _Handler.hits.count("/list") == 2
