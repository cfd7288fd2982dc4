"""One SQL query cannot take the machine: SQLite's own limits on every connection Datasette opens,
and a bound on the bytes a result may carry, while real queries and whole-table exports still work."""
from __future__ import annotations

import csv
import importlib.util
import io
import os
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
from cryptography.fernet import Fernet

from prongsai.asgi import PLUGINS_DIR, create_asgi_app

BLOB = "select length(hex(randomblob(400000000)))"
MANY_ROWS = "select hex(randomblob(60000)) from projects limit 1000"  # 1000 values of 120 KB
WIDE_ROWS = "select " + ", ".join(f"hex(randomblob(60000)) c{i}" for i in range(99)) + " from projects limit 20"


@pytest.fixture
async def http(demo_db):
    app = create_asgi_app(demo_db)
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def sql(http, query, fmt="json", **params):
    return await http.get(f"/data/procurement.{fmt}" if fmt else "/data/procurement",
                          params={"sql": query, **params})


async def test_a_huge_value_fails_with_sqlites_error_and_a_hint(http):
    r = await sql(http, BLOB)
    assert r.status_code == 400 and r.json()["ok"] is False
    assert "string or blob too big" in r.json()["error"]
    page = await sql(http, BLOB, fmt=None)
    assert page.status_code == 400 and "string or blob too big" in page.text
    assert "128 KB" in page.text and "LIMIT" in page.text  # what the limit is, and how to stay under it


async def test_a_result_larger_than_the_bound_is_refused(http):
    for query in (MANY_ROWS, WIDE_ROWS):
        r = await sql(http, query)
        assert r.status_code == 400, query[:40]
        assert "result is larger than" in r.json()["error"]
    r = await sql(http, "select " + ", ".join(f"{i} as c{i}" for i in range(101)))
    assert r.status_code == 400 and "too many columns" in r.json()["error"]


async def test_real_queries_and_whole_table_exports_still_work(http):
    r = await sql(http, "select * from projects limit 1000", _shape="array")
    assert r.status_code == 200 and len(r.json()) == 1000
    r = await sql(http, "select group_concat(project_id) as ids from projects", _shape="array")
    assert r.status_code == 200 and r.json()[0]["ids"].count(",") == 2999
    r = await http.get("/data/procurement/projects.csv", params={"_stream": "on", "_size": "max"})
    assert r.status_code == 200
    assert len(list(csv.reader(io.StringIO(r.text)))) == 3001  # header + every row, in several batches
    for path in ["/data/procurement/projects", "/data/procurement/projects?_facet=method",
                 "/data/procurement/projects?_search=ถนน", "/data/procurement/single_bidder_projects"]:
        assert (await http.get(path)).status_code == 200, path


def test_limits_are_set_on_the_connection_itself():
    """Plain sqlite3, no Datasette: what the plugin sets is SQLite's own limit on that connection."""
    spec = importlib.util.spec_from_file_location("sqlite_limits", PLUGINS_DIR / "sqlite_limits.py")
    sqlite_limits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sqlite_limits)
    conn = sqlite3.connect(":memory:")
    sqlite_limits.prepare_connection(conn)
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == sqlite_limits.MAX_VALUE_BYTES
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) == 0
    with pytest.raises(sqlite3.DataError, match="string or blob too big"):
        conn.execute(BLOB).fetchall()


def vm_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_real_server_stays_near_idle_memory_under_hostile_queries(demo_db, tmp_path):
    """``prongsai serve`` in its own process: its peak RSS (VmHWM) after hostile queries is close to
    its peak after ordinary pages; before the limits one BLOB query alone added about 1.9 GB."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PRONGSAI_SECRET_KEY": "t", "PRONGSAI_COMPLAINTS_KEY": Fernet.generate_key().decode(),
           "WEB_CONCURRENCY": "1"}
    proc = subprocess.Popen([sys.executable, "-c", "from prongsai.cli import main; main()", "serve", "--db",
                             str(demo_db), "--complaints-db", str(tmp_path / "c.db"), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for path in ["/", "/data/procurement/projects?_size=max",
                         "/data/procurement.json?sql=select+*+from+projects"]:
                assert client.get(path).status_code == 200
            warm = vm_kb(proc.pid, "VmHWM")
            for query in (BLOB, MANY_ROWS, WIDE_ROWS):
                r = client.get("/data/procurement.json", params={"sql": query})
                assert r.status_code == 400, r.text[:200]
            grown_mb = (vm_kb(proc.pid, "VmHWM") - warm) / 1024
    finally:
        proc.terminate()
        proc.wait(10)
    assert grown_mb < 100, f"the server grew by {grown_mb:.0f} MB"
