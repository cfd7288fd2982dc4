"""Thai search through Datasette: any word of any length finds what a brute-force scan of the
folded text finds, through the portal's index (no LIKE scan); Thai digits fold."""
import sqlite3

import pytest

from prongsai.asgi import create_datasette
from prongsai.derive import search_index


async def search(ds, table, term, **extra):
    r = await ds.client.get(f"/procurement/{table}.json",
                            params={"_search": term, "_shape": "objects", "_size": "max", **extra})
    assert r.status_code == 200, r.text
    return r.json()


async def test_thai_substring_of_three_or_more_code_points_finds_the_row(datasette):
    # "คอนกรี" is the middle of a word: Thai has no spaces, so only trigrams can find it.
    body = await search(datasette, "projects", "คอนกรี")
    assert body["filtered_table_rows_count"] > 0
    assert all("คอนกรี" in row["title"] for row in body["rows"])
    db = datasette.get_database("procurement")
    everywhere = (await db.execute("SELECT count(*) FROM projects WHERE title LIKE '%คอนกรี%'")).rows[0][0]
    assert body["filtered_table_rows_count"] == everywhere


async def test_two_terms_must_both_match(datasette):
    body = await search(datasette, "projects", "ก่อสร้าง ขอนแก่น")
    assert body["rows"] and all("ก่อสร้าง" in r["title"] and "ขอนแก่น" in r["title"] for r in body["rows"])


async def test_short_term_is_found_through_the_trigram_list(datasette):
    db = datasette.get_database("procurement")
    # the trigram index alone finds nothing for two code points ...
    assert (await db.execute("SELECT count(*) FROM projects_fts WHERE projects_fts MATCH '\"ถน\"'")).rows[0][0] == 0
    # ... so the plugin matches the indexed trigrams that begin with them
    body = await search(datasette, "projects", "ถน")
    expected = (await db.execute("SELECT count(*) FROM projects WHERE title LIKE '%ถน%'")).rows[0][0]
    assert 0 < body["filtered_table_rows_count"] == expected
    assert all("ถน" in row["title"] for row in body["rows"])
    html = (await datasette.client.get("/procurement/projects", params={"_search": "ถน"})).text
    assert 'value="ถน"' in html and "contains &#34;ถน&#34;" in html


def brute_force(path, table: str, q: str, columns=None) -> set:
    """Every word of ``q`` in one of the table's folded searchable columns."""
    key, searchable = search_index.SEARCHES[table]
    conn = sqlite3.connect(path)
    rows = conn.execute(f"SELECT [{key}], {', '.join(columns or searchable)} FROM [{table}]").fetchall()
    conn.close()
    words = search_index.query_terms(q)
    return {r[0] for r in rows if all(any(w in (search_index.fold(t) or "") for t in r[1:]) for w in words)}


@pytest.mark.parametrize("table,q", [
    ("projects", "ถนน"), ("projects", "ก"), ("projects", "นม"), ("projects", "ฃ"), ("projects", "ก่อสร้าง ขอนแก่น"),
    ("projects", "ซื้อครุภัณฑ์คอมพิวเตอร์"), ("projects", "ถนนคอมพิวเตอร์"), ("suppliers", "บริษัท"),
    ("suppliers", "จำ"), ("suppliers", "0"), ("agencies", "ทางหลวง"), ("agencies", "ศ"), ("agencies", "Department"),
])
async def test_every_kind_of_word_finds_what_a_scan_finds(datasette, demo_db, table, q):
    key = search_index.SEARCHES[table][0]
    expected = brute_force(demo_db, table, q)
    body = await search(datasette, table, q)
    assert body["filtered_table_rows_count"] == len(expected)
    if len(expected) <= 1000:
        assert {r[key] for r in body["rows"]} == expected


async def test_a_column_search_looks_in_that_column_only(datasette, demo_db):
    r = await datasette.client.get("/procurement/suppliers.json", params={
        "_search_name_th": "บริษัท", "_shape": "objects", "_size": "max"})
    expected = brute_force(demo_db, "suppliers", "บริษัท", ["name_th"])
    assert r.status_code == 200 and {row["id"] for row in r.json()["rows"]} == expected


async def test_supplier_and_agency_names_are_searchable(datasette):
    body = await search(datasette, "suppliers", "ก่อสร้าง")
    assert body["rows"] and all("ก่อสร้าง" in r["name_th"] for r in body["rows"])
    body = await search(datasette, "agencies", "ทางหลวง")
    assert {"กรมทางหลวง", "กรมทางหลวงชนบท"} <= {r["name_th"] for r in body["rows"]}
    html = (await datasette.client.get("/procurement/agencies")).text
    assert 'name="_search"' in html  # Datasette's own search box


@pytest.fixture
async def digits_ds(tmp_db, tmp_path):
    """A hand-built database whose titles are written with Thai digits."""
    tmp_db.execute("BEGIN")
    tmp_db.execute("INSERT INTO agencies (id, name_th) VALUES ('a1', 'โรงเรียนบ้านหนองบัว')")
    for pid, title in [("p1", "ซื้อเครื่องคอมพิวเตอร์ ๑ ชุด"), ("p2", "ซื้อโต๊ะ ๒๕ ตัว"),
                       ("p3", "จ้างซ่อมถนน 3 สาย")]:
        tmp_db.execute("INSERT INTO projects (project_id, title, buyer_id) VALUES (?, ?, 'a1')", [pid, title])
    tmp_db.execute("INSERT INTO suppliers (id, name_th) VALUES ('s1', 'ห้างหุ้นส่วนจำกัด ๙๙ การช่าง')")
    tmp_db.execute("COMMIT")
    search_index.build(tmp_db)
    tmp_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tmp_db.execute("PRAGMA journal_mode = DELETE")  # served immutable, like a built database
    ds = create_datasette(tmp_path / "procurement.db")
    await ds.invoke_startup()
    return ds


async def test_thai_digits_fold_in_index_and_query(digits_ds):
    assert [r["project_id"] for r in (await search(digits_ds, "projects", "1 ชุด"))["rows"]] == ["p1"]
    assert [r["project_id"] for r in (await search(digits_ds, "projects", "๑ ชุด"))["rows"]] == ["p1"]
    assert [r["project_id"] for r in (await search(digits_ds, "projects", "๒๕ ตัว"))["rows"]] == ["p2"]
    assert [r["project_id"] for r in (await search(digits_ds, "projects", "25 ตัว"))["rows"]] == ["p2"]
    assert [r["id"] for r in (await search(digits_ds, "suppliers", "99 การช่าง"))["rows"]] == ["s1"]
    # stored titles keep their published digits; only the index is folded
    assert (await search(digits_ds, "projects", "ชุด"))["rows"][0]["title"] == "ซื้อเครื่องคอมพิวเตอร์ ๑ ชุด"


async def test_fold_sql_function_for_hand_written_queries(digits_ds):
    r = await digits_ds.client.get("/procurement.json", params={
        "sql": "select rowid from projects_fts where projects_fts match prongsai_fold(:q)", "q": "๒๕ ตัว",
        "_shape": "array"})
    assert len(r.json()) == 1


def test_fold():
    assert search_index.fold("ราคา ๑,๒๐๐ บาท") == "ราคา 1,200 บาท"
    assert search_index.fold(None) is None
