"""Search: every kind of word and filter gives what a brute-force scan of the folded titles gives,
in the same order, with the right total; pagination, odd input, the time budget; and an
incremental re-index equal to a full build."""
from __future__ import annotations

import re
import shutil
import sqlite3
from urllib.parse import unquote

import pytest

from portal import create_app
from portal.views import search as search_view
from prongsai.core.schema import open_db
from prongsai.derive import search_index

#: Projects the demo has no words for: Thai and Arabic digits, English, a one-letter title.
EXTRA = [
    ("t-digits-1", "ซื้อเครื่องคอมพิวเตอร์ ๑๒ ชุด", "2025-03-01"),
    ("t-digits-2", "จ้างซ่อมถนน 12 สาย ระยะทาง 3.5 กม.", "2025-03-01"),
    ("t-english", "Supply of CCTV cameras (ระบบกล้อง) for Chiang Mai", "2025-02-01"),
    ("t-short", "ฃ", "2024-12-31"),
    ("t-quote", 'จ้างทำป้าย "ห้ามจอด" 100%_off', "2025-01-05"),
    ("t-no-date", "ซื้อวัสดุไม่ระบุวัน", None),
]
#: 1, 2 and 3+ code points, Thai digits, English of any case, a province, a method, wildcards, none.
TERMS = ["ถนน", "ก่อสร้าง", "คอมพิวเตอร์", "ก่อสร้าง ขอนแก่น", "ซื้อครุภัณฑ์คอมพิวเตอร์ กรมศุลกากร", "นม", "ถน",
         "ก", "ฃ", "ๆ", "1", "12", "๑๒", "3.5", "cctv", "CHIANG mai", "น่าน", "e-bidding", "E-BIDDING", "คัดเลือก",
         '"ห้ามจอด"', "100%_", "%", "_", "\\", "ถนนคอมพิวเตอร์", "procurement", "ซื้อวัสดุไม่ระบุวัน"]


@pytest.fixture(scope="module")
def search_db(portal_db, tmp_path_factory):
    """The portal database with EXTRA added by an incremental re-index, as a refresh would."""
    path = tmp_path_factory.mktemp("search") / "procurement.db"
    shutil.copy(portal_db, path)
    db = open_db(path)
    buyer = db.execute("SELECT buyer_id FROM projects LIMIT 1").fetchone()[0]
    db.execute("BEGIN")
    for pid, title, date in EXTRA:
        db.execute("INSERT INTO projects (project_id, title, buyer_id, method, fiscal_year, announce_date, province, "
                   "source, source_url, fetched_at) VALUES (?, ?, ?, 'คัดเลือก', 2568, ?, 'เชียงใหม่', 'demo', "
                   "'https://example.org', '2025-10-01')", [pid, title, buyer, date])
    db.execute("COMMIT")
    search_index.update(db, [r[0] for r in db.execute(
        "SELECT rowid FROM projects WHERE project_id LIKE 't-%'")])
    db.close()
    return path


@pytest.fixture(scope="module")
def db(search_db):
    conn = sqlite3.connect(search_db)
    yield conn
    conn.close()


@pytest.fixture
def client(search_db, tmp_path, monkeypatch):
    # totals exact whatever else the machine runs: the budget's "more than" has its own test
    monkeypatch.setattr(search_view, "COUNT_SECONDS", 60)
    return create_app({"TESTING": True, "DATABASE": str(search_db),
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "test"}).test_client()


def result_ids(html: str) -> list[str]:
    section = html.split('<ol class="results projects"', 1)[1].split("</ol>", 1)[0] if 'class="results projects"' in html else ""
    return [unquote(i) for i in re.findall(r'<a href="/projects/([^"]+)">', section)]


def total(html: str) -> str | None:
    found = re.search(r'<p class="search-total"><strong>([^<]*)</strong>', html)
    return found.group(1) if found else None


def reference(db, q: str = "", **filters) -> list[str]:
    """Brute force: every word of ``q`` in the folded title, method or province (or ``q`` is the
    project number, listed first); newest day first, then the later row."""
    where, params = [], []
    for column in ("fiscal_year", "method", "province"):
        if filters.get(column) is not None:
            where.append(f"{column} = ?")
            params.append(filters[column])
    if filters.get("agency"):
        where.append("buyer_id = ?")
        params.append(filters["agency"])
    if filters.get("flag"):
        where.append("project_id IN (SELECT project_id FROM red_flags WHERE code = ?)")
        params.append(filters["flag"])
    rows = db.execute("SELECT project_id, title, method, province FROM projects "
                      + ("WHERE " + " AND ".join(where) if where else "")
                      + " ORDER BY coalesce(CAST(julianday(substr(announce_date, 1, 10)) AS INTEGER), 0) DESC, "
                        "rowid DESC", params).fetchall()
    words = search_index.query_terms(q)
    found = [pid for pid, *texts in rows
             if all(any(w in (search_index.fold(t) or "") for t in texts) for w in words)]
    if q and q in (r[0] for r in rows):
        found = [q] + [p for p in found if p != q]
    return found


def expected_total(ids: list[str]) -> str:
    if len(ids) > search_view.COUNT_CAP:
        return f"More than {search_view.COUNT_CAP:,} projects found"
    return f"{len(ids):,} project{'s' if len(ids) != 1 else ''} found"


@pytest.mark.parametrize("q", TERMS)
def test_every_kind_of_word_finds_what_a_scan_finds(client, db, q):
    ids = reference(db, q)
    html = client.get("/search", query_string={"q": q, "lang": "en"}).get_data(as_text=True)
    assert result_ids(html) == ids[:search_view.PAGE_SIZE]
    if ids:
        assert total(html) == expected_total(ids)
    else:
        assert "No projects match" in html and total(html) is None


@pytest.mark.parametrize("q,filters", [
    ("", {"fiscal_year": 2567}),
    ("ถนน", {"fiscal_year": 2567}),
    ("นม", {"province": "เชียงใหม่"}),
    ("ก่อสร้าง", {"method": "คัดเลือก", "fiscal_year": 2568}),
    ("", {"flag": "TST01"}),
    ("ก", {"flag": "TST01"}),
    ("12", {"province": "เชียงใหม่", "method": "คัดเลือก"}),
    ("ถนน", {"province": "น่าน", "fiscal_year": 2566}),
])
def test_words_with_filters_find_what_a_scan_finds(client, db, q, filters):
    ids = reference(db, q, **filters)
    html = client.get("/search", query_string={"q": q, "lang": "en", **filters}).get_data(as_text=True)
    assert result_ids(html) == ids[:search_view.PAGE_SIZE]
    assert total(html) == (expected_total(ids) if ids else None)


@pytest.mark.parametrize("q,filters", [("ก ถนน", {}), ("นม", {"fiscal_year": 2568}), ("า ก", {}),
                                       ("ถน ก่อสร้าง", {"province": "น่าน"}), ("ถนน", {"flag": "TST01"}),
                                       ("", {"province": "เชียงใหม่", "method": "คัดเลือก", "fiscal_year": 2568})])
def test_parts_left_out_of_the_match_are_checked_on_each_row(client, db, monkeypatch, q, filters):
    monkeypatch.setattr(search_index, "CHILDREN", 1)
    assert search_index.projects_match(db, q, filters).checks  # words and filters checked on the folded rows
    ids = reference(db, q, **filters)
    html = client.get("/search", query_string={"q": q, "lang": "en", **filters}).get_data(as_text=True)
    assert result_ids(html) == ids[:search_view.PAGE_SIZE]
    assert total(html) == (expected_total(ids) if ids else None)


def test_one_agencys_projects(client, db):
    agency = db.execute("SELECT agency_id FROM agg_agency ORDER BY projects DESC LIMIT 1").fetchone()[0]
    html = client.get(f"/search?agency={agency}&lang=en").get_data(as_text=True)
    ids = reference(db, agency=agency)
    assert result_ids(html) == ids[:search_view.PAGE_SIZE] and 'name="agency"' in html
    assert total(html) == expected_total(ids)
    assert f"agency={agency}" in html.split('rel="next"')[1].split(">")[0]  # kept across pages
    assert result_ids(client.get(f"/search?agency={agency}&q=ถนน").get_data(as_text=True)) == \
        reference(db, "ถนน", agency=agency)[:search_view.PAGE_SIZE]
    assert client.get("/search?agency=nope").status_code == 400


def test_pages_walk_the_whole_result_in_order(client, db):
    ids = reference(db, "ก่อสร้าง")
    pages = len(ids) // search_view.PAGE_SIZE + 1
    got = []
    for page in range(1, pages + 1):
        html = client.get(f"/search?q=ก่อสร้าง&page={page}&lang=en").get_data(as_text=True)
        got += result_ids(html)
        assert ('rel="next"' in html) == (page < pages) and ('rel="prev"' in html) == (page > 1)
    assert got == ids
    far = client.get("/search?q=ก่อสร้าง&page=400")
    assert far.status_code == 200 and result_ids(far.get_data(as_text=True)) == []


def test_a_project_number_comes_first(client, db):
    pid = db.execute("SELECT project_id FROM projects WHERE title LIKE '%ถนน%' LIMIT 1").fetchone()[0]
    html = client.get(f"/search?q={pid}&lang=en").get_data(as_text=True)
    assert result_ids(html) == [pid] and total(html) == "1 project found"
    other_year = db.execute("SELECT fiscal_year FROM projects WHERE fiscal_year != (SELECT fiscal_year FROM projects "
                            "WHERE project_id = ?) LIMIT 1", [pid]).fetchone()[0]
    assert result_ids(client.get(f"/search?q={pid}&fiscal_year={other_year}").get_data(as_text=True)) == []
    odd = client.get("/search", query_string={"q": "ocds-th0001/2568 X/1"}).get_data(as_text=True)
    assert result_ids(odd)[:1] == ["ocds-th0001/2568 X/1"]


def test_agencies_and_companies_are_found_too(client, db):
    agency = db.execute("SELECT name_th FROM agencies WHERE name_th LIKE 'เทศบาล%' LIMIT 1").fetchone()[0]
    html = client.get(f"/search?q={agency}&lang=en").get_data(as_text=True)
    assert "<h2>Agencies</h2>" in html and agency in html
    tax_id = db.execute("SELECT tax_id FROM suppliers WHERE tax_id IS NOT NULL LIMIT 1").fetchone()[0]
    html = client.get(f"/search?q={tax_id}&lang=en").get_data(as_text=True)
    assert f'href="/suppliers/{tax_id}"' in html
    agency_id = db.execute("SELECT id FROM agencies LIMIT 1").fetchone()[0]
    assert f'href="/agencies/{agency_id}"' in client.get(f"/search?q={agency_id}").get_data(as_text=True)
    name = db.execute("SELECT name_th FROM suppliers WHERE name_th IS NOT NULL LIMIT 1").fetchone()[0]
    html = client.get("/search", query_string={"q": name[:2], "lang": "en"}).get_data(as_text=True)
    assert "<h2>Companies</h2>" in html  # two code points: through the index's trigram list


def test_broad_totals_say_more_than(client, db, monkeypatch):
    monkeypatch.setattr(search_view, "COUNT_CAP", 100)
    html = client.get("/search?q=ก่อสร้าง&lang=en").get_data(as_text=True)
    assert total(html) == "More than 100 projects found"
    th = client.get("/search?q=ก่อสร้าง&lang=th").get_data(as_text=True)
    assert total(th) == "พบมากกว่า 100 โครงการ"
    ids = reference(db, "น่าน")
    assert total(client.get("/search?q=น่าน&lang=th").get_data(as_text=True)) == f"พบ {len(ids):,} โครงการ"
    monkeypatch.setattr(search_view, "COUNT_SECONDS", 0)
    monkeypatch.setattr(search_view, "query_within", _count_too_slow(search_view.query_within))
    html = client.get("/search?q=ก่อสร้าง&page=3&lang=en").get_data(as_text=True)
    assert total(html) == f"More than {3 * search_view.PAGE_SIZE:,} projects found"


def _count_too_slow(query_within):
    def run(sql, params, seconds):
        if "count(*)" in sql:
            raise search_view.TooSlow()
        return query_within(sql, params, seconds)
    return run


def test_everything_too_slow_asks_for_a_filter(client, monkeypatch):
    def too_slow(*args):
        raise search_view.TooSlow()

    monkeypatch.setattr(search_view, "query_within", too_slow)
    r = client.get("/search?q=ถนน&lang=en")
    assert r.status_code == 200 and "takes too long" in r.get_data(as_text=True)


def test_long_and_odd_queries(client):
    r = client.get("/search", query_string={"q": "ถนน " * 200})
    assert r.status_code == 200
    r = client.get("/search", query_string={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in r.get_data(as_text=True)
    r = client.get("/search", query_string={"q": "\x1f\x1f \ue000 NEAR( OR AND \"*"})
    assert r.status_code == 200


def test_empty_search_shows_help(client):
    html = client.get("/search?lang=en").get_data(as_text=True)
    assert "Type a word or choose a filter" in html and result_ids(html) == []


def test_query_time_budget_interrupts_a_runaway_query(client):
    from portal.db import TooSlow, query_within

    with client.application.test_request_context("/"):
        with pytest.raises(TooSlow):
            query_within("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                         "SELECT count(*) FROM n", [], 0.05)
        assert query_within("SELECT 1", [], 0.05)[0][0] == 1  # the handler is removed afterwards


def _index_tables(path) -> dict:
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_fts_text' "
                                        "OR name LIKE '%_fts_terms' OR name = 'projects_fts_facets' ORDER BY name")]
    tables = {n: sorted(conn.execute(f"SELECT * FROM [{n}]").fetchall(), key=repr) for n in names}
    tables["matches"] = [conn.execute("SELECT count(*) FROM projects_fts WHERE projects_fts MATCH ?", [m]).fetchone()
                         for m in ('"ถนน"', '"ก่อ" AND "สร้"')]
    conn.execute("INSERT INTO projects_fts (projects_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()
    return tables


def test_incremental_update_equals_a_full_build(search_db, tmp_path):
    """Changed, added and deleted rows re-indexed alone give the tables a full build gives
    (facet token numbers aside: a value first seen in an update is numbered after the others)."""
    path = tmp_path / "procurement.db"
    shutil.copy(search_db, path)
    db = open_db(path)
    db.execute("BEGIN")
    changed = [r[0] for r in db.execute("SELECT rowid FROM projects ORDER BY rowid LIMIT 3")]
    db.execute("UPDATE projects SET title = title || ' ถนนใหม่', announce_date = '2020-01-01' WHERE rowid = ?",
               [changed[0]])
    db.execute("UPDATE projects SET method = 'วิธีใหม่', province = 'น่าน' WHERE rowid = ?", [changed[1]])
    db.execute("DELETE FROM red_flags WHERE project_id = (SELECT project_id FROM projects WHERE rowid = ?)",
               [changed[2]])
    gone = db.execute("SELECT rowid, project_id FROM projects WHERE project_id = 't-short'").fetchone()
    db.execute("DELETE FROM projects WHERE rowid = ?", [gone[0]])
    db.execute("COMMIT")
    search_index.update(db, [*changed, gone[0]])
    db.close()
    incremental = _index_tables(path)
    db = open_db(path)
    search_index.build(db)
    db.close()
    full = _index_tables(path)
    def untokened(rows):
        return sorted((tuple(v for v in r if not (isinstance(v, str) and v[:1] >= "\ue000")) for r in rows), key=repr)

    for name in full:
        if name.endswith("_terms"):  # only ever added to; their counts only guide the lookup
            assert {r[0] for r in full[name]} <= {r[0] for r in incremental[name]}, name
        elif name == "projects_fts_facets":  # only ever added to
            assert set(untokened(full[name])) <= set(untokened(incremental[name])), name
        else:
            assert untokened(incremental[name]) == untokened(full[name]), name


def test_english_pages_name_methods_and_ministries_in_english(client):
    html = client.get("/search?method=เฉพาะเจาะจง&lang=en").get_data(as_text=True)
    assert "Specific method (direct purchase)" in html  # the filter's options and each result's line
    assert "· เฉพาะเจาะจง ·" not in html
