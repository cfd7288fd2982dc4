"""Budget to contracts: an agency's budget lines beside what it bought in the same fiscal year; the
mapping table ties a unit named differently in the budget documents to its e-GP agency."""
from __future__ import annotations

import shutil

import pytest

from portal import create_app
from prongsai.core.schema import open_db
from prongsai.derive import aggregates, budget_links

MISSPELT = "สำนักงานทรัพยากรนำแห่งชาติ"  # as the FY2565 bill's extraction spells it
AGENCY = "สำนักงานทรัพยากรน้ำแห่งชาติ"


@pytest.fixture(scope="module")
def budget_db(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("budget_agency") / "procurement.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    buyer, fy = db.execute("SELECT buyer_id, fiscal_year FROM projects WHERE buyer_id IS NOT NULL "
                           "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1").fetchone()
    db.execute("UPDATE agencies SET name_th = ? WHERE id = ?", [AGENCY, buyer])
    db["budget_items"].insert({"id": "bill:test.1", "fiscal_year": fy, "level": "national", "scope": "nation",
                               "ministry": "สำนักนายกรัฐมนตรี", "budgetary_unit": MISSPELT, "amount": 5e9,
                               "currency": "THB"})
    aggregates.build(db)
    db.close()
    return path, buyer, fy


@pytest.fixture
def client(budget_db, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(budget_db[0]),
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "test"}).test_client()


def test_the_mapping_table_has_its_source_and_certainty_for_every_rule():
    rules = budget_links.rules()
    assert rules and all(r["source"] and r["certainty"] in ("certain", "uncertain", "none") for r in rules)
    assert {r["budgetary_unit"]: r["agency_name"] for r in rules}[MISSPELT] == AGENCY


def test_a_misspelt_unit_is_tied_to_its_agency_by_the_mapping_and_said_so(budget_db):
    path, buyer, fy = budget_db
    row = open_db(path).execute("SELECT agency_id, match, budget_amount, procurement_projects, procurement_contracts "
                                "FROM agg_budget WHERE budgetary_unit = ?", [MISSPELT]).fetchone()
    projects = open_db(path).execute("SELECT count(*) FROM projects WHERE buyer_id = ? AND fiscal_year = ?",
                                     [buyer, fy]).fetchone()[0]
    assert row[:4] == (buyer, "mapping (certain)", 5e9, projects)


def test_the_agency_page_shows_its_budget_beside_what_it_bought(client, budget_db):
    _, buyer, fy = budget_db
    html = client.get(f"/agencies/{buyer}").get_data(as_text=True)
    assert MISSPELT in html and "5,000,000,000" in html.replace("5,000,000,000.00", "5,000,000,000")
