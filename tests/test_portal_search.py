"""Search: Thai substrings, English, filters, pagination, and the time budget's fallback."""
from __future__ import annotations

import re
import sqlite3
from urllib.parse import unquote

import pytest

from portal.views import search as search_view


def result_ids(html: str) -> list[str]:
    section = html.split('<ol class="results projects"', 1)[1].split("</ol>", 1)[0] if 'class="results projects"' in html else ""
    return [unquote(i) for i in re.findall(r'<a href="/projects/([^"]+)">', section)]


@pytest.fixture(scope="module")
def db(portal_db):
    conn = sqlite3.connect(portal_db)
    yield conn
    conn.close()


def test_a_province_name_finds_its_projects(portal_client, db):
    ids = result_ids(portal_client.get("/search?q=น่าน").get_data(as_text=True))
    assert ids and all("น่าน" in " ".join(db.execute("SELECT title, province FROM projects WHERE project_id = ?",
                                                       [i]).fetchone()) for i in ids)


def test_thai_substring_inside_a_title(portal_client, db):
    html = portal_client.get("/search?q=ถนน").get_data(as_text=True)
    ids = result_ids(html)
    assert len(ids) == search_view.PAGE_SIZE
    titles = dict(db.execute("SELECT project_id, title FROM projects WHERE project_id IN (%s)"
                             % ",".join("?" * len(ids)), ids).fetchall())
    assert all("ถนน" in titles[i] for i in ids)  # no word boundaries in Thai: a substring inside ก่อสร้างถนน...
    dates = [db.execute("SELECT announce_date FROM projects WHERE project_id = ?", [i]).fetchone()[0] for i in ids]
    assert dates == sorted(dates, reverse=True)  # newest first


def test_agencies_and_companies_are_found_too(portal_client, db):
    agency = db.execute("SELECT name_th FROM agencies WHERE name_th LIKE 'เทศบาล%' LIMIT 1").fetchone()[0]
    html = portal_client.get(f"/search?q={agency}&lang=en").get_data(as_text=True)
    assert "<h2>Agencies</h2>" in html and agency in html
    tax_id = db.execute("SELECT tax_id FROM suppliers WHERE tax_id IS NOT NULL LIMIT 1").fetchone()[0]
    html = portal_client.get(f"/search?q={tax_id}&lang=en").get_data(as_text=True)
    assert f'href="/suppliers/{tax_id}"' in html


def test_english_and_project_numbers(portal_client, db):
    pid = db.execute("SELECT project_id FROM projects LIMIT 1").fetchone()[0]
    html = portal_client.get(f"/search?q={pid}&lang=en").get_data(as_text=True)
    assert result_ids(html) == [pid]
    ids = result_ids(portal_client.get("/search?q=E-BIDDING&lang=en").get_data(as_text=True))  # the method
    methods = {db.execute("SELECT method FROM projects WHERE project_id = ?", [i]).fetchone()[0] for i in ids}
    assert len(ids) == search_view.PAGE_SIZE and all("(e-bidding)" in m for m in methods)
    html = portal_client.get("/search?q=procurement&lang=en").get_data(as_text=True)
    assert "No projects match" in html
    en = portal_client.get("/search?q=ถนน&lang=en").get_data(as_text=True)
    assert "Newest first" in en


@pytest.mark.parametrize("param,column,value_sql", [
    ("fiscal_year", "fiscal_year", "SELECT max(fiscal_year) FROM projects"),
    ("method", "method", "SELECT method FROM projects WHERE method LIKE 'คัด%' LIMIT 1"),
    ("province", "province", "SELECT province FROM projects WHERE province IS NOT NULL LIMIT 1"),
])
def test_filters_restrict_results(portal_client, db, param, column, value_sql):
    value = db.execute(value_sql).fetchone()[0]
    r = portal_client.get("/search", query_string={param: value})
    ids = result_ids(r.get_data(as_text=True))
    assert r.status_code == 200 and ids
    got = {db.execute(f"SELECT {column} FROM projects WHERE project_id = ?", [i]).fetchone()[0] for i in ids}
    assert got == {value}


def test_flag_filter(portal_client, db):
    ids = result_ids(portal_client.get("/search?flag=TST01").get_data(as_text=True))
    expected = {r[0] for r in db.execute("SELECT project_id FROM red_flags WHERE code = 'TST01'")}
    assert set(ids) == expected


def test_pagination(portal_client):
    first = portal_client.get("/search?q=ก่อสร้าง").get_data(as_text=True)
    second = portal_client.get("/search?q=ก่อสร้าง&page=2").get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second
    assert not set(result_ids(first)) & set(result_ids(second))
    far = portal_client.get("/search?q=ก่อสร้าง&page=400")
    assert far.status_code == 200 and result_ids(far.get_data(as_text=True)) == []


@pytest.mark.parametrize("q", ["%", "_", "\\", "%ถนน_"])
def test_like_wildcards_are_literal(portal_client, q):
    r = portal_client.get("/search", query_string={"q": q})
    assert r.status_code == 200 and result_ids(r.get_data(as_text=True)) == []


def test_long_and_odd_queries(portal_client):
    r = portal_client.get("/search", query_string={"q": "ถนน " * 200})
    assert r.status_code == 200
    r = portal_client.get("/search", query_string={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in r.get_data(as_text=True)


def test_slow_scan_falls_back_to_the_trigram_index(portal_client, monkeypatch, db):
    has_fts = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [search_view.FTS_TABLE]).fetchone()
    monkeypatch.setattr(search_view, "SCAN_SECONDS", 0)
    html = portal_client.get("/search?q=ถนน&lang=en").get_data(as_text=True)
    if has_fts:
        assert len(result_ids(html)) == search_view.PAGE_SIZE
    else:
        assert "takes too long" in html


def test_everything_too_slow_asks_for_a_filter(portal_client, monkeypatch):
    def too_slow(*args):
        raise search_view.TooSlow()

    monkeypatch.setattr(search_view, "query_within", too_slow)
    r = portal_client.get("/search?q=ถนน&lang=en")
    assert r.status_code == 200 and "takes too long" in r.get_data(as_text=True)


def test_empty_search_shows_help(portal_client):
    html = portal_client.get("/search?lang=en").get_data(as_text=True)
    assert "Type a word or choose a filter" in html and result_ids(html) == []


def test_query_time_budget_interrupts_a_runaway_query(portal_client):
    from portal.db import TooSlow, query_within

    with portal_client.application.test_request_context("/"):
        with pytest.raises(TooSlow):
            query_within("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                         "SELECT count(*) FROM n", [], 0.05)
        assert query_within("SELECT 1", [], 0.05)[0][0] == 1  # the handler is removed afterwards


def test_one_agencys_projects(portal_client, db):
    agency = db.execute("SELECT agency_id FROM agg_agency ORDER BY projects DESC LIMIT 1").fetchone()[0]
    html = portal_client.get(f"/search?agency={agency}").get_data(as_text=True)
    ids = result_ids(html)
    assert len(ids) == search_view.PAGE_SIZE and 'name="agency"' in html
    buyers = {db.execute("SELECT buyer_id FROM projects WHERE project_id = ?", [i]).fetchone()[0] for i in ids}
    assert buyers == {agency}
    assert f"agency={agency}" in html.split('rel="next"')[1].split(">")[0]  # kept across pages
    assert portal_client.get("/search?agency=nope").status_code == 400
