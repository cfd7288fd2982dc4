"""One writer: every route of the app, found from Flask's url_map and Datasette's route table, sent
to a read copy. What writes or reads private data must answer with fly-replay before any body is
read; what the copy serves itself must never open complaints.db (proved by running it)."""
import re
import sqlite3

import httpx
import pytest
from cryptography.fernet import Fernet
from werkzeug.routing import IntegerConverter

import portal.complaints.db as complaints_db
from prongsai.asgi import create_asgi_app
from prongsai.core.errors import UserError
from prongsai.replay import PRIMARY_GETS, REPLAY_LIMIT, SAFE_METHODS, Role, role_from_environment, served_by_primary

PRIMARY = "http://primary.internal:8080"
COPY_ENV = {"PRONGSAI_ROLE": "copy", "PRONGSAI_PRIMARY_INSTANCE": "3d8d9e1b2c4e58",
            "PRONGSAI_PRIMARY_URL": PRIMARY, "PRONGSAI_SECRET_KEY": "shared-by-every-machine"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: Datasette's route arguments, so that each sampled path reaches a real page.
DATASETTE_SAMPLES = {"database": "procurement", "table": "projects", "format": "json", "path": "app.css"}


@pytest.fixture
def copy_env(monkeypatch, tmp_path):
    for key, value in COPY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PRONGSAI_REFRESH_SECONDS", "3600")


@pytest.fixture
def opened(monkeypatch):
    """Every attempt to open complaints.db (none may happen on a copy)."""
    calls = []
    real = complaints_db.open_complaints_db

    def spy(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(complaints_db, "open_complaints_db", spy)
    return calls


@pytest.fixture
def copy_app(copy_env, demo_db, tmp_path, opened):
    return create_asgi_app(demo_db, tmp_path / "private" / "complaints.db")


def sample_values(demo_db) -> dict:
    conn = sqlite3.connect(demo_db)
    one = lambda sql: str(conn.execute(sql).fetchone()[0])  # noqa: E731
    values = {"project_id": one("SELECT project_id FROM projects LIMIT 1"),
              "agency_id": one("SELECT id FROM agencies LIMIT 1"),
              "supplier_id": one("SELECT id FROM suppliers LIMIT 1"),
              "code": one("SELECT code FROM flag_definitions LIMIT 1"),
              "kind": "agencies", "name": "ocds.jsonl", "filename": "style.css", "case_no": "PS-0001"}
    values["key"] = values["agency_id"]
    return values


def flask_requests(flask_app, values):
    """(endpoint, method, path) for every rule, every method it takes and every writing one."""
    adapter = flask_app.url_map.bind("")
    for rule in flask_app.url_map.iter_rules():
        args = {name: 1 if isinstance(rule._converters.get(name), IntegerConverter) else values.get(name, "x")
                for name in rule.arguments}
        path = adapter.build(rule.endpoint, args)
        for method in sorted(set(rule.methods) | set(WRITE_METHODS)):
            yield rule.endpoint, method, path


def datasette_paths(datasette) -> list[str]:
    """One path per Datasette route (plugins' routes included), built from its regex."""
    paths = []
    for regex, _view in datasette._routes():
        pattern = getattr(regex, "pattern", regex)
        path = pattern.lstrip("^").rstrip("$")
        for _ in range(3):  # innermost groups first
            path = re.sub(r"\(\?P<(\w+)>[^()]*\)", lambda m: DATASETTE_SAMPLES.get(m[1], "x"), path)
            path = re.sub(r"\(([\w-]+)(?:\|[\w-]+)+\)", r"\1", path)
            path = re.sub(r"\([^()]*\)\?", "", path)
        path = path.replace("\\", "")
        assert re.match(pattern, path), f"no sample path for Datasette route {pattern}: extend DATASETTE_SAMPLES"
        paths.append("/data" + path)
    return paths


async def send_all(app, requests):
    results = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        for method, path in requests:
            body = b"x=1" if method in WRITE_METHODS else None
            response = await client.request(method, path, content=body)
            results.append((method, path, response))
    return results


async def test_every_route_on_a_copy_is_replayed_or_harmless(copy_app, demo_db, tmp_path, opened):
    flask_app = copy_app.flask_app
    await copy_app.datasette.invoke_startup()
    values = sample_values(demo_db)
    flask = list(flask_requests(flask_app, values))
    data = [(m, p) for p in datasette_paths(copy_app.datasette) for m in ("GET", *WRITE_METHODS)]
    assert len(flask) > 150 and len(data) > 100  # the enumeration really found the app's routes
    results = await send_all(copy_app, [(m, p) for _e, m, p in flask] + data)
    replayed, served = [], []
    for method, path, response in results:
        expected = served_by_primary(flask_app, method, path)
        if response.headers.get("fly-replay"):
            replayed.append((method, path))
            assert expected and response.status_code == 421, (method, path)
            assert response.headers["fly-replay"] == "instance=3d8d9e1b2c4e58"
        else:
            served.append((method, path))
            assert not expected, f"{method} {path} should have been replayed"
            assert method in SAFE_METHODS and response.status_code < 500, (method, path, response.status_code)
    assert not opened, f"a copy opened complaints.db for {opened}"
    assert not (tmp_path / "private").exists()  # neither the database nor a key file was made
    # every writing method anywhere, and every route of the private side, went to the primary
    private = {(m, p) for e, m, p in flask if e.split(".")[0] in ("complaints", "moderate", "reply", "watch", "line")
               and not e.endswith(".static")}
    assert private <= set(replayed)
    assert ("GET", "/reply/x") in replayed  # an agency's one-time reply link spends its token on the primary
    assert all(m in SAFE_METHODS for m, _p in served)
    assert {"/", "/healthz", f"/projects/{values['project_id']}", "/data/procurement/projects"} <= \
        {p for m, p in served if m == "GET"}


def test_primary_gets_name_real_endpoints(app):
    assert PRIMARY_GETS <= set(app.view_functions)


async def test_replay_answers_before_reading_the_body(copy_app):
    async def receive():
        raise AssertionError("the copy read the body")

    sent = []

    async def send(message):
        sent.append(message)

    def scope(headers, path="/track"):
        return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "root_path": "",
                "query_string": b"lang=en", "scheme": "http", "server": ("copy", 80), "client": ("1.2.3.4", 1),
                "http_version": "1.1", "headers": headers}

    await copy_app(scope([(b"content-length", str(REPLAY_LIMIT).encode())]), receive, send)
    assert sent[0]["status"] == 421 and (b"fly-replay", b"instance=3d8d9e1b2c4e58") in sent[0]["headers"]
    sent.clear()
    # too big for Fly to replay, or of unknown size: straight to the primary's own URL, method and body kept
    for headers in ([(b"content-length", str(REPLAY_LIMIT + 1).encode())], [(b"transfer-encoding", b"chunked")]):
        await copy_app(scope(headers, "/projects/ก 1/report"), receive, send)
        assert sent[0]["status"] == 307
        assert dict(sent[0]["headers"])[b"location"] == \
            (PRIMARY + "/projects/%E0%B8%81%201/report?lang=en").encode()
        assert dict(sent[0]["headers"])[b"referrer-policy"] == b"strict-origin"  # the origin goes along
        sent.clear()
    # already replayed once and still on a copy: the primary is misnamed; never loop
    await copy_app(scope([(b"content-length", b"3"), (b"fly-replay-src", b"instance=abc;region=sin")]),
                   receive, send)
    assert sent[0]["status"] == 508 and b"fly-replay" not in dict(sent[0]["headers"])


async def test_the_primary_serves_writes_itself(demo_db, tmp_path, monkeypatch):
    monkeypatch.delenv("PRONGSAI_ROLE", raising=False)
    app = create_asgi_app(demo_db, tmp_path / "complaints.db")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/track", data={"code": "x"})
    assert "fly-replay" not in response.headers and response.status_code == 400  # CSRF: it really ran here


def test_copy_settings_are_checked_with_clear_errors():
    assert role_from_environment({}) == Role()
    assert role_from_environment(COPY_ENV).replay == "instance=3d8d9e1b2c4e58"
    region = {**COPY_ENV, "PRONGSAI_PRIMARY_INSTANCE": "", "PRONGSAI_PRIMARY_REGION": "sin"}
    assert role_from_environment(region).replay == "region=sin"
    with pytest.raises(UserError, match="PRONGSAI_ROLE='replica'"):
        role_from_environment({"PRONGSAI_ROLE": "replica"})
    with pytest.raises(UserError) as error:
        role_from_environment({"PRONGSAI_ROLE": "copy", "PRONGSAI_PRIMARY_URL": "primary:8080"})
    for missing in ("PRONGSAI_PRIMARY_INSTANCE", "PRONGSAI_PRIMARY_URL='primary:8080'", "PRONGSAI_SECRET_KEY"):
        assert missing in str(error.value)
    with pytest.raises(UserError, match="not a Fly machine id"):
        role_from_environment({**COPY_ENV, "PRONGSAI_PRIMARY_INSTANCE": "x;region=iad"})


async def track_post_through_the_door(app) -> httpx.Response:
    """A form opened on the public site, then sent (as after a copy's 307) to the primary's door,
    behind Fly's HTTPS proxy: the browser sends the site's origin as Referer (strict-origin)."""
    proxy = {"X-Forwarded-Proto": "https", "Fly-Client-IP": "203.0.113.9"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://prongsai.test",
                                 headers=proxy) as client:
        form = await client.get("/track?lang=en")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return await client.post("https://prongsai.test:8443/track?lang=en", data={"csrf_token": token, "code": "X"},
                                 headers={"Referer": "https://prongsai.test/"})


async def test_an_upload_sent_to_the_primarys_door_passes_the_strict_referer_check(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_BEHIND_FLY_PROXY", "true")
    monkeypatch.setenv("PRONGSAI_SECRET_KEY", "shared")
    monkeypatch.setenv("PRONGSAI_COMPLAINTS_KEY", Fernet.generate_key().decode())
    refused = await track_post_through_the_door(create_asgi_app(demo_db, tmp_path / "complaints.db"))
    assert refused.status_code == 400 and "did not come from this site" in refused.text  # Flask-WTF alone
    monkeypatch.setenv("PRONGSAI_PRIMARY_URL", "https://prongsai.test:8443")
    accepted = await track_post_through_the_door(create_asgi_app(demo_db, tmp_path / "complaints.db"))
    assert accepted.status_code == 404 and "did not come from this site" not in accepted.text  # the view: no such code
