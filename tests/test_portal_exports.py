"""Bulk downloads and robots.txt: the latest OCDS export is one link away from Datasette."""
import json

import httpx

from prongsai.asgi import create_asgi_app
from prongsai.derive.ocds_export import export_file


def test_exports_index_and_download(app, client, demo_db, tmp_path):
    app.config["EXPORTS_DIR"] = str(tmp_path / "exports")
    empty = client.get("/exports/").get_data(as_text=True)
    assert "ทุกคืน" in empty and "prongsai" not in empty.split("<main", 1)[1].split("</main>")[0]
    export_file(demo_db, tmp_path / "exports" / "ocds.jsonl")
    page = client.get("/exports/").get_data(as_text=True)
    assert 'href="/exports/ocds.jsonl"' in page and " น.</time>" in page and "UTC" not in page
    r = client.get("/exports/ocds.jsonl")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    first = json.loads(r.get_data(as_text=True).splitlines()[0])
    assert first["ocid"] and first["tender"]


def test_build_with_exports_writes_what_the_page_lists(demo_db, tmp_path):
    import shutil

    from click.testing import CliRunner

    from prongsai.cli import cli

    demo_copy = tmp_path / "procurement.db"
    shutil.copy(demo_db, demo_copy)
    result = CliRunner().invoke(cli, ["build", "--exports", "--db", str(demo_copy)])
    assert result.exit_code == 0, result.output
    folder = demo_copy.parent / "exports"
    assert {p.name for p in folder.iterdir()} >= {"ocds.jsonl", "flags-cardinal.json"}


def test_only_listed_exports_are_served(app, client, tmp_path):
    app.config["EXPORTS_DIR"] = str(tmp_path)
    (tmp_path / "secret.db").write_text("x")
    for path in ["/exports/secret.db", "/exports/..%2Fsecret.db", "/exports/ocds.jsonl"]:
        assert client.get(path).status_code == 404


def test_robots_txt_covers_portal_and_datasette(client):
    text = client.get("/robots.txt").get_data(as_text=True)
    assert text.startswith("User-agent: *")
    for path in ["/track", "/moderate", "/projects/*/report", "/data/procurement.json", "/data/*.csv"]:
        assert f"Disallow: {path}\n" in text
    assert "Disallow: /\n" not in text  # citizens' pages stay findable


async def test_datasette_links_to_the_exports(demo_db, tmp_path):
    app = create_asgi_app(demo_db, tmp_path / "complaints.db")
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert 'href="/exports/"' in (await http.get("/data/")).text
