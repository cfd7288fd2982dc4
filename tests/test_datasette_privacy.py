"""complaints.db is never public: no URL under /data/ reaches it, and no SQL can open it."""
import sqlite3

import httpx
import pytest

from prongsai.asgi import create_asgi_app

CANARY = "complaint-canary-9931"


@pytest.fixture
async def site(demo_db, tmp_path):
    complaints = tmp_path / "private" / "complaints.db"
    complaints.parent.mkdir()
    conn = sqlite3.connect(complaints)
    conn.execute("CREATE TABLE complaints (id INTEGER PRIMARY KEY, body TEXT, email TEXT)")
    conn.execute("INSERT INTO complaints (body, email) VALUES (?, 'someone@example.org')", [CANARY])
    conn.commit()
    conn.close()
    app = create_asgi_app(demo_db, complaints)
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client, complaints


URLS = [
    "/data/", "/data/.json", "/data/-/databases.json", "/data/-/metadata.json", "/data/-/settings.json",
    "/data/-/plugins.json", "/data/-/config.json", "/data/-/inspect.json", "/data/complaints",
    "/data/complaints.json", "/data/complaints/complaints", "/data/complaints/complaints.json",
    "/data/complaints.db", "/data/procurement/..%2Fcomplaints", "/data/-/static/..%2F..%2Fcomplaints.db",
    "/data/procurement/complaints", "/data/procurement/complaints.json", "/data/_internal",
    "/data/_internal/databases.json", "/data/_memory",
]


@pytest.mark.parametrize("url", URLS)
async def test_no_url_under_data_reaches_complaints(site, url):
    client, complaints = site
    r = await client.get(url, follow_redirects=True)
    assert CANARY not in r.text and "someone@example.org" not in r.text
    assert str(complaints) not in r.text and "complaints.db" not in r.text.replace(url, "")
    if "complaints" in url:
        assert r.status_code in (400, 403, 404)


@pytest.mark.parametrize("sql", [
    "attach database '{path}' as c",
    "select * from pragma_database_list",
    "vacuum into '{path}.copy'",
    "select load_extension('{path}')",
    "select readfile('{path}')",
    "select * from c.complaints",
    "with x as (select 1) select * from complaints",
])
async def test_sql_cannot_open_complaints(site, sql):
    client, complaints = site
    r = await client.get("/data/procurement.json", params={"sql": sql.format(path=complaints), "_shape": "array"})
    assert CANARY not in r.text and "someone@example.org" not in r.text
    if "pragma_database_list" in sql:
        assert r.status_code == 200 and r.json() == [{"seq": 0, "name": "main", "file": None}]
    else:
        assert r.status_code == 400
    assert not (complaints.parent / "complaints.db.copy").exists()


@pytest.mark.parametrize("url", ["/data/-/versions", "/data/-/versions.json", "/data/-/threads",
                                 "/data/-/threads.json", "/data/-/plugins", "/data/-/plugins.json"])
async def test_server_details_are_not_public(site, url):
    """Exact versions and compile options, thread stacks (file paths) and the plugin list are hidden."""
    client, _ = site
    r = await client.get(url)
    assert r.status_code == 404
    assert sqlite3.sqlite_version not in r.text and "site-packages" not in r.text


async def test_no_server_path_in_databases_or_sql(site, demo_db):
    client, _ = site
    r = await client.get("/data/-/databases.json")
    assert r.status_code == 200 and [d["name"] for d in r.json()] == ["procurement"]
    assert "path" not in r.json()[0] and str(demo_db.parent) not in r.text
    r = await client.get("/data/procurement.json", params={"sql": "select * from pragma_database_list",
                                                           "_shape": "array"})
    assert r.status_code == 200 and r.json() == [{"seq": 0, "name": "main", "file": None}]
    r = await client.get("/data/procurement.json", params={"sql": "select file from pragma_database_list()",
                                                           "_shape": "array"})
    assert r.json() == [{"file": None}]
    assert (await client.get("/data/-/settings.json")).status_code == 200  # limits are public, not secret


@pytest.mark.parametrize("sql", ["select sqlite_version()", "select sqlite_source_id()",
                                 "select sqlite_compileoption_get(0)", "select * from pragma_compile_options"])
async def test_sql_does_not_tell_the_build(site, sql):
    client, _ = site
    r = await client.get("/data/procurement.json", params={"sql": sql})
    assert r.status_code == 400 and sqlite3.sqlite_version not in r.text
    assert "not authorized" in r.json()["error"] or "disallowed PRAGMA" in r.json()["error"]
