"""The local proof of read copies: a primary and two copies (real ``prongsai serve`` processes on
127.0.0.1) behind bench/read_copies.py's stand-in for Fly's proxy. Pages come from the copies,
every write lands in the primary's complaints.db, a restarted copy loses no request."""
import asyncio
import functools
import http.server
import io
import json
import random
import shutil
import sqlite3
import sys
import threading

import httpx
import pytest
from PIL import Image

from prongsai.asgi import create_asgi_app
from prongsai.copies import PrimaryWatch
from prongsai.core.config import ROOT
from prongsai.ops.publish import publish

sys.path.insert(0, str(ROOT / "bench"))
from portal_load import sample_urls  # noqa: E402
from read_copies import REPLAY_LIMIT, Browser, FlyProxy, load, machines, start_all, stored_reports  # noqa: E402


@pytest.fixture
def cluster(demo_db, tmp_path):
    group = machines(tmp_path, demo_db, copies=2)
    try:
        start_all(group)
        yield group
    finally:
        for machine in group:
            machine.stop()


def big_photo() -> bytes:
    """A PNG of noise just past what Fly's proxy will replay."""
    rng = random.Random(7)
    img = Image.frombytes("RGB", (620, 620), bytes(rng.getrandbits(8) for _ in range(620 * 620 * 3)))
    out = io.BytesIO()
    img.save(out, "PNG")
    assert len(out.getvalue()) > REPLAY_LIMIT
    return out.getvalue()


async def test_copies_serve_pages_and_every_write_lands_on_the_primary(cluster, demo_db):
    primary, copy1, copy2 = cluster
    urls = sample_urls(demo_db, 50, random.Random(1))
    project = urls["project"][0]
    proxy = FlyProxy(cluster)
    try:
        results = await load(proxy, urls, 1.5, clients=4)
        assert results and all(status == 200 for _k, _t, status, _m in results)
        served = {m for *_r, m in results}
        assert {"copy1", "copy2"} <= served and proxy.replayed == 0  # copies answer pages themselves

        for copy in (copy1, copy2):
            health = httpx.get(copy.url + "/healthz").json()
            assert health["role"] == "copy" and health["status"] == "ok"
            assert health["build_id"] == health["primary_build_id"] == httpx.get(primary.url + "/healthz").json()[
                "build_id"]

        # writes, wherever the proxy sends them: replayed (small) or sent on with a 307 (past 1 MB)
        outcomes = [await Browser(proxy).report(project) for _ in range(3)]
        photo = {"evidence": ("noise.png", big_photo(), "image/png")}
        outcomes.append(await Browser(proxy).report(project, files=photo, first=copy2))
        assert [status for status, _ in outcomes] == [200] * 4
        assert {served for _, served in outcomes[:3]} == {"primary"} and outcomes[3][1] == "primary (307)"
        assert stored_reports(primary) == 4 and proxy.replayed > 0

        # a copy restarted mid-load: the proxy retries elsewhere; reads and writes all arrive
        retried = proxy.retried
        reading = asyncio.create_task(load(proxy, urls, 5.0, clients=4, seed=2))
        await asyncio.sleep(0.8)
        await asyncio.to_thread(copy1.stop)
        writes = [await Browser(proxy).report(project) for _ in range(2)]
        copy1.start()
        await asyncio.to_thread(copy1.wait_ready)
        results = await reading
        assert all(status == 200 for _k, _t, status, _m in results), "a read was lost during the restart"
        assert [status for status, _ in writes] == [200, 200] and stored_reports(primary) == 6
        assert proxy.retried > retried  # the restart was really felt
        after, _ = await proxy.request("GET", "/healthz")
        assert after.status_code == 200
        print(f"retried {proxy.retried}, replayed {proxy.replayed}, forms without a session {proxy.sessionless_forms}")
    finally:
        await proxy.close()
    for copy in (copy1, copy2):  # nothing private was ever made on a copy
        assert not (copy.data_dir / "complaints.db").exists() and not (copy.data_dir / "evidence").exists()
        assert not (copy.data_dir / "secret_key").exists()


class _Files(http.server.SimpleHTTPRequestHandler):
    """The primary's /healthz and the published release, from one folder on 127.0.0.1."""

    build_id = None

    def do_GET(self):
        if self.path == "/healthz":
            body = json.dumps({"status": "ok", "build_id": self.build_id}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def primary_and_release(demo_db, tmp_path):
    """A new build published in a release folder, and a primary that already serves it."""
    built = tmp_path / "built.db"
    shutil.copy(demo_db, built)
    conn = sqlite3.connect(built)
    conn.execute("UPDATE meta SET value = 'newer-build' WHERE key = 'build_id'")
    conn.commit()
    conn.close()
    publish(built, tmp_path / "release" / "procurement.db")
    handler = type("Handler", (_Files,), {"build_id": "newer-build"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(
        tmp_path / "release")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


async def test_a_stale_copy_says_so_then_fetches_the_primarys_build(primary_and_release, demo_db, tmp_path,
                                                                    monkeypatch):
    base = primary_and_release
    local = tmp_path / "copy" / "public" / "procurement.db"
    local.parent.mkdir(parents=True)
    publish(demo_db, local)  # what the copy fetched at its start: the older build
    for key, value in {"PRONGSAI_ROLE": "copy", "PRONGSAI_PRIMARY_INSTANCE": "primary0001",
                       "PRONGSAI_PRIMARY_URL": base, "PRONGSAI_SECRET_KEY": "k",
                       "PRONGSAI_PUBLIC_DB_URL": base + "/procurement.db", "PRONGSAI_REFRESH_SECONDS": "3600"}.items():
        monkeypatch.setenv(key, value)
    app = create_asgi_app(local, tmp_path / "copy" / "complaints.db")
    await app.datasette.invoke_startup()
    watch = app.flask_app.extensions["primary_build"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://copy") as client:
        watch.update(build_id="newer-build", checked_at="2026-12-07T00:00:00+00:00", error=None)
        health = (await client.get("/healthz")).json()
        assert health["status"] == "stale" and health["primary_build_id"] == "newer-build" != health["build_id"]
        checker = PrimaryWatch(base, local, base + "/procurement.db")
        await asyncio.to_thread(checker.check)  # what the copy's watch does every PRONGSAI_REFRESH_SECONDS
        assert checker.state["build_id"] == "newer-build" and checker.state["error"] is None
        assert (await client.get("/healthz")).json()["build_id"] == "newer-build"
        meta = (await client.get("/data/procurement/meta.json?key=build_id&_shape=array")).json()
        assert meta[0]["value"] == "newer-build"  # Datasette reopened the swapped-in file
    assert not (tmp_path / "copy" / "complaints.db").exists()
