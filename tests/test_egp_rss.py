"""egp-rss: the windows-874 announcement feed (fixture built to thai-data.md §6; no network)."""
from __future__ import annotations

import pytest
import responses
from conftest import FIXTURES
from responses import matchers

from scrapers import egp_rss
from scrapers.egp import EncodingError
from scrapers.http import Client, FetchError
from scrapers.store import LayoutError, ScrapeError

FEED = FIXTURES / "egp" / "rss_5380400_D0.xml"
ROBOTS = "http://process3.gprocurement.go.th/robots.txt"


def parse(data, **kw):
    kw.setdefault("dept_id", "5380400")
    kw.setdefault("announce_type", "D0")
    return egp_rss.parse(data, url="feed.xml", **kw)


def test_fixture_is_really_windows_874():
    data = FEED.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="windows-874"?>')
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_items_become_announcements_with_ids_and_titles():
    records = parse(FEED.read_bytes())
    announcements = records.rows("announcements")
    assert [a["project_id"] for a in announcements] == ["68119564509", "68119570123", "68129573311"]
    first = announcements[0]
    assert first["type"] == "D0" and first["agency_id"] == "5380400"
    assert first["published_at"] == "2025-11-19T10:15:00+07:00"
    assert first["title"].startswith("ประกาศเชิญชวน จ้างก่อสร้างถนน")
    assert "projectId=68119564509" in first["url"]


def test_description_splits_on_the_first_comma_only():
    projects = {p["project_id"]: p for p in parse(FEED.read_bytes()).rows("projects")}
    assert projects["68119564509"]["title"] == (
        "จ้างก่อสร้างถนนคอนกรีตเสริมเหล็ก สายบ้านโนนสว่าง หมู่ที่ 5, หมู่ที่ 6 ตำบลบึงกาฬ")


def test_thai_digits_in_the_project_id_are_digits():
    projects = parse(FEED.read_bytes()).rows("projects")
    assert "68119570123" in {p["project_id"] for p in projects}  # published as ๖๘๑๑๙๕๗๐๑๒๓


def test_type_and_agency_fall_back_to_the_channel_link():
    records = egp_rss.parse(FEED.read_bytes(), url="feed.xml")
    assert {a["type"] for a in records.rows("announcements")} == {"D0"}
    assert records.rows("agencies") == [{"id": "5380400", "department_code": "5380400"}]


def test_feed_in_utf8_while_declaring_windows_874_is_an_encoding_error():
    data = FEED.read_bytes().decode("cp874").encode("utf-8")
    with pytest.raises(EncodingError, match="egp-rss: layout changed in feed.xml: expected windows-874 text, found UTF-8"):
        parse(data)


def test_renamed_element_is_a_layout_error_naming_it():
    data = FEED.read_bytes().replace(b"<description>68119564509", b"<summary>68119564509").replace(
        b"</description>\n<pubDate>Wed", b"</summary>\n<pubDate>Wed")
    with pytest.raises(LayoutError) as err:
        parse(data)
    assert err.value.field == "<item><description>" and "summary" in str(err.value.found)
    assert err.value.location == "feed.xml item 1"


def test_html_instead_of_rss_is_a_layout_error():
    with pytest.raises(LayoutError, match="expected <rss> root element, found <html>"):
        parse(b"<html><body>Service Unavailable</body></html>")


def test_truncated_feed_is_a_clear_error():
    with pytest.raises(ScrapeError, match="not well-formed XML"):
        parse(FEED.read_bytes()[:900])


def test_entity_expansion_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<rss><channel><link/></channel></rss>")
    with pytest.raises(ScrapeError, match="unsafe XML"):
        parse(bomb)


def test_malformed_description_goes_to_quarantine():
    data = FEED.read_bytes().replace("<description>68129573311, ".encode("cp874"), "<description>".encode("cp874"))
    records = parse(data)
    assert records.rows_in == 3 and len(records.rows("announcements")) == 2
    (location, raw, reason), = records.bad
    assert location == "feed.xml item 3" and "จ้างเหมาบริการ" in raw and "<projectId>, <title>" in reason


def test_load_is_idempotent_and_stubs_never_overwrite(tmp_path):
    db_path = tmp_path / "p.db"
    first = egp_rss.run_file(db_path, FEED, dept_id="5380400", announce_type="D0")
    assert first.rows_changed > 0
    from prongsai.core.schema import open_db

    db = open_db(db_path)
    db.execute("UPDATE projects SET title = 'ชื่อจาก data.go.th', budget = 7700000 WHERE project_id = '68119564509'")
    db.close()
    again = egp_rss.run_file(db_path, FEED, dept_id="5380400", announce_type="D0")
    assert again.rows_changed == 0 and again.rows_in == 3
    db = open_db(db_path)
    assert db.execute("SELECT title, budget, buyer_id FROM projects WHERE project_id = '68119564509'").fetchone() == (
        "ชื่อจาก data.go.th", 7700000, "5380400")
    assert db.execute("SELECT count(*) FROM announcements").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == 0


@pytest.fixture
def client():
    c = Client(cache_path=None, backoff=0, sleep=lambda s: None)
    yield c
    c.close()


def test_live_fetch_spells_anouncetype_with_one_n(tmp_path, client):
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, body="User-agent: *\nAllow: /\n")
        mocked.get(egp_rss.FEED_URL, body=FEED.read_bytes(), match=[matchers.query_param_matcher(
            {"deptId": "5380400", "anounceType": "D0"})])
        run = egp_rss.run_live(tmp_path / "p.db", depts=["5380400"], types=["D0"], client=client)
        assert "anounceType=D0" in mocked.calls[-1].request.url
        assert "announceType" not in mocked.calls[-1].request.url
    assert run.rows_in == 3 and run.rows_changed > 0


def test_live_5xx_is_retried_then_a_clear_error_and_nothing_is_kept(tmp_path, client):
    db_path = tmp_path / "p.db"
    egp_rss.run_file(db_path, FEED, dept_id="5380400", announce_type="D0")
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, body="")
        mocked.get(egp_rss.FEED_URL, body=FEED.read_bytes())  # W0 of the first agency works
        failing = mocked.get(egp_rss.FEED_URL, status=503)
        with pytest.raises(FetchError, match="egpannouncerss.xml"):
            egp_rss.run_live(db_path, depts=["5380400", "9999999"], types=["W0"], client=client)
        assert failing.call_count == 5  # first try + 4 retries
    from prongsai.core.schema import open_db

    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM announcements").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM announcements WHERE type = 'W0'").fetchone()[0] == 0
    assert db.execute("SELECT status FROM source_runs ORDER BY id DESC").fetchone()[0] == "failed"


def test_wrong_encoding_is_fetched_again_then_fails(tmp_path, client):
    utf8 = FEED.read_bytes().decode("cp874").encode("utf-8")
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, body="")
        feed = mocked.get(egp_rss.FEED_URL, body=utf8)
        with pytest.raises(EncodingError):
            egp_rss.run_live(tmp_path / "p.db", depts=["5380400"], types=["D0"], client=client)
        assert feed.call_count == 2


def test_cli_reads_a_saved_feed(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(egp_rss.command, ["--db", str(tmp_path / "p.db"), "--file", str(FEED)])
    assert result.exit_code == 0, result.output
    assert "egp-rss: 3 read" in result.output
