"""The one-process server: portal + Datasette under /data/, read-only, complaints.db never reachable."""
import sqlite3

import httpx
import pytest

from prongsai.asgi import create_asgi_app


@pytest.fixture
async def http(demo_db, tmp_path):
    complaints = tmp_path / "complaints.db"
    conn = sqlite3.connect(complaints)
    conn.execute("CREATE TABLE secret (text)")
    conn.execute("INSERT INTO secret VALUES ('complaint-canary-4711')")
    conn.commit()
    conn.close()
    app = create_asgi_app(demo_db, complaints)
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


async def test_home_is_thai_with_demo_banner(http):
    r = await http.get("/")
    assert r.status_code == 200
    assert 'lang="th"' in r.text and "ข้อมูลสาธิต" in r.text
    r = await http.get("/?lang=en")
    assert 'lang="en"' in r.text and "DEMO DATA" in r.text


async def test_healthz(http, demo_db):
    r = await http.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    build_id = sqlite3.connect(demo_db).execute("SELECT value FROM meta WHERE key='build_id'").fetchone()[0]
    assert body["build_id"] == build_id and body["counts"]["projects"] == 3000
    assert "sources" in body


async def test_datasette_json_through_combined_app(http):
    r = await http.get("/data/procurement/projects.json?_shape=array&_size=2")
    assert r.status_code == 200
    assert len(r.json()) == 2 and "project_id" in r.json()[0]
    r = await http.get("/data/procurement.json?sql=select+count(*)+as+n+from+projects&_shape=array")
    assert r.json() == [{"n": 3000}]
    assert (await http.get("/data")).status_code == 302


async def test_datasette_is_read_only(http):
    r = await http.get("/data/procurement.json", params={"sql": "delete from projects", "_shape": "array"})
    assert r.status_code == 400
    r = await http.get("/data/procurement.json?sql=select+count(*)+as+n+from+projects&_shape=array")
    assert r.json() == [{"n": 3000}]


async def test_complaints_db_not_reachable(http, tmp_path):
    r = await http.get("/data/-/databases.json")
    assert [d["name"] for d in r.json()] == ["procurement"]
    for path in ["/data/complaints", "/data/complaints.json", "/data/complaints/secret.json"]:
        assert (await http.get(path)).status_code == 404
    attach = f"attach database '{tmp_path / 'complaints.db'}' as c"
    r = await http.get("/data/procurement.json", params={"sql": attach})
    assert r.status_code == 400
    r = await http.get("/data/procurement.json",
                       params={"sql": "select * from pragma_database_list", "_shape": "array"})
    assert "complaints" not in r.text


async def test_not_found_is_friendly_in_both_languages(http):
    r = await http.get("/no-such-page")
    assert r.status_code == 404 and "ไม่พบหน้า" in r.text
    r = await http.get("/no-such-page?lang=en")
    assert r.status_code == 404 and "could not find" in r.text
