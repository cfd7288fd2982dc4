"""metadata.yml: every public table, view and column documented in Thai and English, with a unit;
every canned investigation documented and returning rows on the demo database."""
import re

import markupsafe
import pytest

from prongsai.asgi import load_metadata

THAI = re.compile(r"[\u0E00-\u0E7F]")
UNIT = re.compile(r"\[หน่วย / unit: [^\]]+\]$")

#: The investigations the issue asks for, one canned query each.
CANNED = [
    "top_suppliers_of_agency", "single_bidder_competitive", "awards_within_1_percent",
    "suppliers_across_agencies", "agency_spending_by_method_year", "awards_above_reference",
    "possible_splitting", "frequent_co_bidders", "flags_by_province", "year_end_direct",
    "supplier_history", "budget_to_contracts_of_year", "budget_vs_procurement", "biggest_contracts_of_year",
    "agencies_most_flagged",
    "recently_flagged", "unit_price_outliers", "co_bidding_network",
]


def bilingual(text) -> bool:
    return bool(text) and bool(THAI.search(text)) and bool(re.search(r"[A-Za-z]{3}", text)) and " / " in text


async def public_tables(ds):
    db = ds.get_database("procurement")
    hidden = set(await db.hidden_table_names())
    return [t for t in await db.table_names() + await db.view_names() if t not in hidden]


async def test_every_public_table_and_column_is_described_with_a_unit(datasette):
    db = datasette.get_database("procurement")
    tables = await public_tables(datasette)
    assert {"projects", "project_awards", "flagged_projects", "red_flags"} <= set(tables)
    problems = []
    for table in tables:
        meta = datasette.table_metadata("procurement", table)
        if not bilingual(meta.get("title")) or not bilingual(meta.get("description")):
            problems.append(f"{table}: no Thai / English title and description")
        described = meta.get("columns") or {}
        for column in await db.table_columns(table):
            text = described.get(column)
            if not text or not UNIT.search(text) or not THAI.search(text):
                problems.append(f"{table}.{column}: no Thai description with [หน่วย / unit: …]")
    assert problems == []


async def test_site_title_licence_and_attribution():
    meta = load_metadata()
    assert bilingual(meta["title"]) and bilingual(meta["description"])
    assert "Creative Commons Attribution" in meta["license"] and "กรมบัญชีกลาง" in meta["license"]
    assert meta["license_url"].startswith("https://creativecommons.org/")


async def test_tables_show_source_and_last_update(datasette):
    r = await datasette.client.get("/procurement/projects")
    assert "ปรับปรุงล่าสุด / Last updated: 2025-10-15 (15 ต.ค. 2568)" in r.text
    described = load_metadata()["databases"]["procurement"]["tables"]["projects"]["description"]
    assert str(markupsafe.escape(described)) in r.text  # metadata.yml's description, above the line
    assert datasette.table_metadata("procurement", "projects")["source"] == "demo"
    r = await datasette.client.get("/procurement/project_awards")
    assert "Computed by <code>prongsai build</code>" in r.text


async def test_portal_caches_are_hidden(datasette):
    hidden = await datasette.get_database("procurement").hidden_table_names()
    assert "summary_counts" in hidden and "projects_fts_text" in hidden and "projects_fts" in hidden


def test_canned_queries_are_the_issue_list_each_documented_in_both_languages():
    queries = load_metadata()["databases"]["procurement"]["queries"]
    assert list(queries) == CANNED
    for name, query in queries.items():
        assert bilingual(query["title"]), name
        assert bilingual(query["description"]), name
        declared = set(query.get("params", []))
        assert declared == set(re.findall(r":(\w+)", query["sql"])), name


@pytest.fixture
async def params(datasette):
    """The biggest agency, supplier and province of the demo, and its latest fiscal year."""
    db = datasette.get_database("procurement")

    async def one(sql):
        return str((await db.execute(sql)).rows[0][0])

    return {
        "agency_id": await one("SELECT agency_id FROM agency_spending GROUP BY agency_id "
                               "ORDER BY sum(projects) DESC LIMIT 1"),
        "supplier_id": await one("SELECT supplier_id FROM supplier_totals ORDER BY projects DESC LIMIT 1"),
        "province": await one("SELECT province FROM projects GROUP BY province ORDER BY count(*) DESC LIMIT 1"),
        "fiscal_year": await one("SELECT max(fiscal_year) FROM projects"),
    }


#: Which parameters each query is tried with on 3,000 demo projects (the others stay empty: all).
TRIED_WITH = {
    "top_suppliers_of_agency": ["agency_id"], "agency_spending_by_method_year": ["agency_id"],
    "supplier_history": ["supplier_id"], "biggest_contracts_of_year": ["fiscal_year"],
    "year_end_direct": ["fiscal_year"], "single_bidder_competitive": ["fiscal_year", "province"],
    "flags_by_province": ["province"], "recently_flagged": ["province"],
}


@pytest.mark.parametrize("name", CANNED)
async def test_canned_query_returns_rows_within_the_time_limit(datasette, params, name):
    query = load_metadata()["databases"]["procurement"]["queries"][name]
    args = {p: (params[p] if p in TRIED_WITH.get(name, []) else "") for p in query.get("params", [])}
    r = await datasette.client.get(f"/procurement/{name}.json", params={**args, "_shape": "objects"})
    assert r.status_code == 200, r.text  # a query over sql_time_limit_ms answers 400 "took too long"
    body = r.json()
    assert body["ok"] and body["rows"], f"{name} found nothing with {args}"
    row = body["rows"][0]
    for column in ("agency_id", "buyer_id"):
        if "agency_id" in TRIED_WITH.get(name, []) and column in row and name != "top_suppliers_of_agency":
            assert row[column] == params["agency_id"]
    if "province" in TRIED_WITH.get(name, []) and "province" in row:
        assert {r["province"] for r in body["rows"]} == {params["province"]}


async def test_top_suppliers_shares_add_up(datasette, params):
    r = await datasette.client.get("/procurement/top_suppliers_of_agency.json",
                                   params={"agency_id": params["agency_id"], "fiscal_year": "", "_shape": "array"})
    rows = r.json()
    assert rows == sorted(rows, key=lambda row: -row["award_amount"])
    if len(rows) < 100:
        assert sum(row["share_pct"] for row in rows) == pytest.approx(100, abs=0.5)


async def test_big_investigations_are_views_exported_whole_as_csv(datasette):
    db = datasette.get_database("procurement")
    assert {"single_bidder_projects", "awards_near_reference_price", "awards_above_reference_price",
            "year_end_direct_purchases", "flagged_projects"} <= set(await db.view_names())
    expected = (await db.execute("SELECT count(*) FROM flagged_projects")).rows[0][0]
    assert expected > 60  # more than one page
    r = await datasette.client.get("/procurement/flagged_projects.csv", params={"_stream": "on", "_size": "max"})
    assert r.status_code == 200
    assert len(r.text.strip().splitlines()) == expected + 1
