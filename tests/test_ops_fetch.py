"""fetch-public: a mirror installs the published database only when its sha256 matches."""
import sqlite3

import pytest
import responses

from prongsai.cli import cli
from prongsai.core.errors import UserError
from prongsai.ops.fetch import fetch_public
from prongsai.ops.publish import publish, sidecar
from scrapers.http import Client

URL = "https://example.org/releases/data/procurement.db"


@pytest.fixture
def published(demo_db, tmp_path):
    out = tmp_path / "release" / "procurement.db"
    publish(demo_db, out)
    return out


def serve_release(rsps, published, *, body=None, sha=None, inspect=True):
    rsps.get(URL + ".sha256", body=sha or sidecar(published).read_text())
    rsps.get(URL, body=body or published.read_bytes())
    if inspect:
        rsps.get(URL + "-inspect.json", body=published.with_name("procurement.db-inspect.json").read_bytes())
    else:
        rsps.get(URL + "-inspect.json", status=404)


def client():
    return Client(cache_path=False, robots=False, backoff=0, retries=0, intervals={"*": 0})


def build_id(path):
    return sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0]


def test_installs_then_skips_when_unchanged(published, tmp_path):
    target = tmp_path / "mirror" / "procurement.db"
    with responses.RequestsMock() as rsps:
        serve_release(rsps, published)
        result = fetch_public(URL, target, client())
    assert result["downloaded"] and target.read_bytes() == published.read_bytes()
    assert sidecar(target).read_text() == sidecar(published).read_text()
    from prongsai import datasette_inspect

    assert datasette_inspect.load(target) is not None
    with responses.RequestsMock() as rsps:  # only the .sha256 is asked for
        rsps.get(URL + ".sha256", body=sidecar(published).read_text())
        assert fetch_public(URL, target, client())["downloaded"] is False
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]


def test_refuses_a_download_that_does_not_match(published, tmp_path):
    target = tmp_path / "procurement.db"
    with responses.RequestsMock() as rsps:
        serve_release(rsps, published, inspect=False)
        fetch_public(URL, target, client())
    before = target.read_bytes()
    damaged = bytearray(published.read_bytes())
    damaged[5000] ^= 0xFF
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(URL + ".sha256", body="0" * 64 + "  procurement.db\n")
        rsps.get(URL, body=bytes(damaged))
        with pytest.raises(UserError, match="not installed"):
            fetch_public(URL, target, client())
    assert target.read_bytes() == before and build_id(target)
    with responses.RequestsMock() as rsps:
        rsps.get(URL + ".sha256", body="<html>not found</html>")
        with pytest.raises(UserError, match="does not hold a sha256"):
            fetch_public(URL, target, client())


def test_cli_reads_the_url_from_the_environment(runner, published, tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_PUBLIC_DB_URL", URL)
    target = tmp_path / "procurement.db"
    with responses.RequestsMock() as rsps:
        serve_release(rsps, published)
        result = runner.invoke(cli, ["fetch-public", "--db", str(target)])
    assert result.exit_code == 0, result.output
    assert "installed build" in result.output and build_id(target) == build_id(published)


def test_a_cut_download_resumes_on_the_next_run_and_never_mixes_builds(published, tmp_path):
    target = tmp_path / "mirror" / "procurement.db"
    target.parent.mkdir()
    whole = published.read_bytes()
    expected = sidecar(published).read_text().split()[0]
    part = target.with_name(f".{target.name}.{expected[:16]}.fetch.part")
    part.write_bytes(whole[: len(whole) // 2])  # the run before was cut half-way
    other = target.with_name(f".{target.name}.{'e' * 16}.fetch.part")
    other.write_bytes(b"half of another build")
    ranges = []

    def ranged(request):
        start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
        ranges.append(start)
        return 206, {"Content-Range": f"bytes {start}-{len(whole) - 1}/{len(whole)}"}, whole[start:]

    with responses.RequestsMock() as rsps:
        rsps.get(URL + ".sha256", body=sidecar(published).read_text())
        rsps.add_callback(responses.GET, URL, callback=ranged)
        rsps.get(URL + "-inspect.json", status=404)
        assert fetch_public(URL, target, client())["downloaded"]
    assert ranges == [len(whole) // 2] and target.read_bytes() == whole
    assert not part.exists() and not other.exists()
