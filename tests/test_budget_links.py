"""From budget to contracts on the real FY2565 bill volumes in ../shared set beside the demo's e-GP agencies:
per ministry and department, how each unit was tied (certain, uncertain, none), what it bought, by which
methods; the mapping table's rules are true to the documents they cite."""
from __future__ import annotations

import csv
import re
import shutil

import pytest
from conftest import SHARED, needs_shared

from portal import create_app
from prongsai.core.schema import open_db
from prongsai.derive import aggregates, budget_links
from scrapers import budget, datagoth

KAOGEEK = SHARED / "data" / "thai" / "budget-fy2565-kaogeek"
HELD = ("2022-3-1.csv", "2022-3-7.csv", "2022-3-14.csv", "2022-3-17.csv")
GARBLED = "ศูนย์อำนวยการรักษาผลประโยชน์ของชาติทางทะล"  # as the extraction cuts it
AGENCY = "ศูนย์อำนวยการรักษาผลประโยชน์ของชาติทางทะเล"
FY = 2567  # the real lines set in a year the demo bought in


def real_lines(name):
    rows = budget.parse((KAOGEEK / name).read_bytes(), location=name).rows("budget_items")
    return [r for r in rows if r["instalment_of_bill"] is None]


@pytest.fixture(scope="module")
def linked(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("budget_links") / "procurement.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    db.execute("DELETE FROM budget_items")  # the demo's own lines carry its codes; these do not
    for name in HELD:
        lines = real_lines(name)
        db["agencies"].insert_all([{"id": r["agency_id"], "name_th": r["budgetary_unit"], "ministry": r["ministry"]}
                                   for r in lines], pk="id", ignore=True)  # the scraper's stubs
        db["budget_items"].insert_all([dict(r, fiscal_year=FY) for r in lines])
    navy = db.execute("SELECT id FROM agencies WHERE name_th = 'กองทัพเรือ' AND province = 'กรุงเทพมหานคร'").fetchone()[0]
    # a second department named as the extraction's garbled unit is tied to by the mapping table
    other = db.execute("SELECT buyer_id FROM projects p JOIN agencies a ON a.id = p.buyer_id WHERE fiscal_year = ? "
                       "AND a.ministry = 'สำนักนายกรัฐมนตรี' AND a.name_th != 'กรมประชาสัมพันธ์' LIMIT 1", [FY]).fetchone()[0]
    db.execute("UPDATE agencies SET name_th = ? WHERE id = ?", [AGENCY, other])
    aggregates.build(db)
    db.close()
    return path, navy, other


@pytest.fixture
def client(linked, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(linked[0]), "SECRET_KEY": "test",
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db")}).test_client()


def one(path, sql, params=()) -> dict:
    cursor = open_db(path).execute(sql, params)
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))


def unit(path, name):
    return one(path, "SELECT * FROM agg_budget WHERE budgetary_unit = ?", [name])


@needs_shared
def test_every_rule_citing_a_volume_held_here_names_a_unit_of_that_volume():
    units = {name.removesuffix(".csv").replace("-", "."): {r["budgetary_unit"] for r in real_lines(name)}
             for name in HELD}
    cited = 0
    for rule in budget_links.rules():
        doc = re.match(r"KaoGeek FY2565 bill (\S+):", rule["source"])
        if doc and doc.group(1) in units:
            cited += 1
            assert rule["budgetary_unit"] in units[doc.group(1)], rule
    assert cited >= 3


def test_a_rule_without_its_source_or_a_certainty_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "rules.csv"
    bad.write_text("budgetary_unit,agency_name,certainty,source,source_th\nกรมก,กรมข,sure,,\n", encoding="utf-8")
    monkeypatch.setattr(budget_links, "RULES", bad)
    with pytest.raises(ValueError, match=r"rules.csv:2: a rule needs budgetary_unit, certainty .*source and source_th"):
        budget_links.rules()


@needs_shared
def test_each_unit_says_how_it_was_tied_and_sets_what_its_agency_bought_beside_it(linked):
    path, navy, other = linked
    db = open_db(path)
    projects = db.execute("SELECT count(*) FROM projects WHERE buyer_id = ? AND fiscal_year = ?", [navy, FY]).fetchone()[0]
    row = unit(path, "กองทัพเรือ")
    assert (row["agency_id"], row["match"], row["procurement_projects"]) == (navy, "name", projects)  # name only
    assert unit(path, GARBLED)["agency_id"] == other and unit(path, GARBLED)["match"] == "mapping (certain)"
    central = unit(path, "งบกลาง")
    assert central["match"] == "no agency" and "central fund" in central["match_source"] and central["agency_id"] is None
    assert unit(path, "สภากาชาดไทย")["match"] == "none"  # no e-GP buyer of that name
    assert db.execute("SELECT total(budget_amount) FROM agg_budget").fetchone()[0] == pytest.approx(
        sum(r["amount"] for name in HELD for r in real_lines(name)))  # no unit left out


@needs_shared
def test_a_ministry_counts_each_agency_once_and_its_methods_add_up(linked):
    path, navy, _ = linked
    db = open_db(path)
    defence = one(path, "SELECT * FROM agg_budget_ministry WHERE ministry = 'กระทรวงกลาโหม'")
    units = db.execute("SELECT total(procurement_amount), count(*) FROM agg_budget WHERE ministry = 'กระทรวงกลาโหม' "
                       "AND match NOT IN ('none', 'no agency')").fetchone()
    assert defence["procurement_amount"] == pytest.approx(units[0]) and defence["units"] == 6
    assert defence["uncertain_units"] == units[1]  # every one tied by its name only
    methods = db.execute("SELECT total(amount), sum(contracts) FROM agg_budget_ministry_method "
                         "WHERE ministry = 'กระทรวงกลาโหม'").fetchone()
    assert methods[0] == pytest.approx(defence["procurement_amount"])
    assert methods[1] == defence["procurement_contracts"]
    navy_methods = db.execute("SELECT sum(projects) FROM agg_budget_method WHERE agency_id = ? AND fiscal_year = ?",
                              [navy, FY]).fetchone()[0]
    assert navy_methods == unit(path, "กองทัพเรือ")["procurement_projects"]


@needs_shared
def test_the_views_and_the_rules_are_open(linked):
    db = open_db(linked[0])
    row = db.execute("SELECT methods, match FROM budget_to_contracts WHERE budgetary_unit = 'กองทัพเรือ'").fetchone()
    assert row[1] == "name" and re.search(r"เฉพาะเจาะจง \d+", row[0])
    assert db.execute("SELECT units FROM budget_to_contracts_by_ministry WHERE ministry = 'รัฐวิสาหกิจ'").fetchone()[0] == 24
    assert db.execute("SELECT count(*) FROM budget_unit_rules").fetchone()[0] == len(budget_links.rules())


@needs_shared
def test_the_budget_page_shows_ministries_and_units_says_what_is_uncertain_and_lists_the_unmatched(client):
    html = client.get(f"/budget?fiscal_year={FY}&lang=en").get_data(as_text=True)
    assert "chart-budget" in html and ("Ministry of Defence" in html or "กระทรวงกลาโหม" in html)
    assert "uncertain: by name only" in html and "by a rule of the mapping table" in html
    unmatched = html[html.index("Units not tied to any e-GP agency"):]
    assert "สภากาชาดไทย" in unmatched and "central fund" in unmatched
    assert "budget_unit_rules" in html and "prongsai/derive/budget_units.csv" in html and "propose a change" in html
    thai = client.get(f"/budget?fiscal_year={FY}&lang=th").get_data(as_text=True)
    assert "งบกลางไม่ใช่ของหน่วยงานใด" in thai and "ไม่แน่นอน: จับคู่จากชื่อเท่านั้น" in thai  # Thai first, reasons too


@needs_shared
def test_the_agency_page_shows_its_budget_methods_and_how_it_was_tied(client, linked):
    _, navy, _ = linked
    html = client.get(f"/agencies/{navy}?lang=en").get_data(as_text=True)
    section = html[html.index("Budget given and what it bought"):html.index("Its top suppliers")]
    assert "กองทัพเรือ" in section and "uncertain: by name only" in section and re.search(r"\d+; ", section)


@needs_shared
def test_the_agency_page_says_which_rule_tied_its_unit_in_thai(client, linked):
    _, _, other = linked
    html = client.get(f"/agencies/{other}?lang=th").get_data(as_text=True)
    assert f"{GARBLED}: ร่าง พ.ร.บ.งบประมาณ 2565 (KaoGeek) 2022.3.1: ชื่อถูกตัดท้ายบรรทัด" in html
    assert "ตามกฎในตารางจับคู่" in html


@needs_shared
def test_a_real_data_go_th_buyer_and_a_bill_unit_of_its_name_are_tied_by_name_only(tmp_path):
    """The scraper's stub of a unit and a data.go.th buyer of that name share one id: tied, marked uncertain."""
    path = tmp_path / "p.db"
    datagoth.load_file(path, SHARED / "data" / "thai" / "egp-contracts-datagoth-dronemarket" / "ics_egp_contracts.csv")
    header, first = list(csv.reader((KAOGEEK / "2022-3-17.csv").read_text(encoding="utf-8").splitlines()[:2]))
    index = {name: i for i, name in enumerate(header)}
    for column, value in {"ITEM_ID": "2024.3.4.0", "REF_DOC": "2024.3.4", "MINISTRY": "กระทรวงเกษตรและสหกรณ์",
                          "BUDGETARY_UNIT": "กรมชลประทาน", "FISCAL_YEAR": "2024", "AMOUNT": "1,000,000"}.items():
        first[index[column]] = value  # one line of an FY2567 bill for the buyer of the real FY2567 contract
    bill = tmp_path / "2024-3-4.csv"
    with bill.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, first])
    budget.run_file(path, bill)
    db = open_db(path)
    aggregates.build(db)
    tied = one(path, "SELECT * FROM agg_budget WHERE budgetary_unit = 'กรมชลประทาน'")
    buyer = db.execute("SELECT buyer_id FROM projects WHERE fiscal_year = 2567").fetchone()[0]
    assert (tied["agency_id"], tied["match"], tied["procurement_projects"]) == (buyer, "name", 1)
    assert tied["procurement_amount"] == 400_000 and tied["budget_amount"] == 1_000_000
