"""budget: อบจ. files per province beside the nation-wide one (small fixtures whose sums the tests know)."""
from __future__ import annotations

import itertools
import json
import urllib.parse

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from prongsai.core.errors import UserError
from prongsai.core.schema import open_db
from scrapers import budget
from scrapers.store import LayoutError, ScrapeError

WEVIS = FIXTURES / "budget" / "wevis"
FILES = [WEVIS / "2565" / "nation-wide.json", WEVIS / "2565" / "pao-ตราด.json", WEVIS / "2565" / "pao-กระบี่.json",
         WEVIS / "2566" / "nation-wide.json", WEVIS / "2566" / "pao-ตราด.json"]
#: (fiscal year, scope, province) -> baht, as written into the fixtures.
TRUTH = {(2565, "nation", None): 4500, (2565, "province", "ตราด"): 350, (2565, "province", "กระบี่"): 100,
         (2566, "nation", None): 900, (2566, "province", "ตราด"): 90}
LINE_COLUMNS = "id, fiscal_year, level, scope, province, budgetary_unit, plan, description, amount, source_doc"


def lines(db_path):
    return open_db(db_path).execute(f"SELECT {LINE_COLUMNS} FROM budget_items ORDER BY id").fetchall()


def totals(db_path):
    rows = open_db(db_path).execute(
        "SELECT fiscal_year, scope, province, sum(amount) FROM budget_items GROUP BY 1, 2, 3").fetchall()
    return {(y, s, p): a for y, s, p, a in rows}


def test_a_province_file_is_stored_as_that_provinces_own_lines():
    rows = budget.parse((WEVIS / "2565" / "pao-ตราด.json").read_bytes(), location="2565/pao-ตราด.json")
    items = rows.rows("budget_items")
    assert {r["id"] for r in items} == {"local:2565:pao-ตราด:ด้านบริหารทั่วไป:บริหารงานทั่วไป",
                                        "local:2565:pao-ตราด:ด้านการเศรษฐกิจ:อุตสาหกรรมและการโยธา"}
    assert {(r["scope"], r["province"], r["budgetary_unit"]) for r in items} == {
        ("province", "ตราด", "องค์การบริหารส่วนจังหวัดตราด")}
    nation = budget.parse((WEVIS / "2565" / "nation-wide.json").read_bytes(), location="2565/nation-wide.json")
    assert {r["scope"] for r in nation.rows("budget_items")} == {"nation"}
    assert not {r["id"] for r in items} & {r["id"] for r in nation.rows("budget_items")}


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(FILES))))[::17])
def test_any_load_order_gives_the_same_database_and_the_nation_wide_totals_never_move(tmp_path, order):
    reference = tmp_path / "reference.db"
    for path in FILES:
        budget.run_file(reference, path)
    permuted = tmp_path / "permuted.db"
    for i in order:
        budget.run_file(permuted, FILES[i])
    assert lines(permuted) == lines(reference)
    assert totals(permuted) == TRUTH


def test_reloading_a_province_after_the_nation_wide_file_changes_nothing_of_it(tmp_path):
    db_path = tmp_path / "p.db"
    budget.run_file(db_path, FILES[0])
    before = lines(db_path)
    budget.run_file(db_path, FILES[1])
    budget.run_file(db_path, FILES[1])
    assert [r for r in lines(db_path) if r[3] == "nation"] == before


def test_a_file_whose_scope_cannot_be_told_is_refused(tmp_path):
    doc = json.loads(FILES[1].read_text(encoding="utf-8"))
    del doc["pao"]
    with pytest.raises(LayoutError, match=r"pao.name \(one province's file\) or budgetPerCapita"):
        budget.parse(json.dumps(doc).encode(), location="2565/pao-ตราด.json")


def test_a_province_file_named_for_another_province_is_refused():
    with pytest.raises(ScrapeError, match="pao.name is 'ตราด' but the file is named for 'กระบี่'"):
        budget.parse(FILES[1].read_bytes(), location="2565/pao-กระบี่.json")


def test_a_year_that_does_not_match_the_files_is_refused():
    with pytest.raises(UserError, match=r"2565/pao-ตราด.json: --year 2566 but the file is named for 2565"):
        budget.parse(FILES[1].read_bytes(), location="2565/pao-ตราด.json", fiscal_year=2566)


@pytest.mark.parametrize("field, change, message", [
    ("area", lambda d: d["groupedByArea"][1]["plans"][0].update(total=1), r"groupedByArea\[1\].total \(ด้านการเศรษฐกิจ\)"),
    ("total", lambda d: d.update(total=d["total"] + 5), r"total is 355 but groupedByArea\[\].total sum to 350"),
    ("types", lambda d: d["groupedByType"][0].update(total=1), r"total is 350 but groupedByType\[\].total sum to 1"),
])
def test_amounts_that_do_not_add_up_refuse_the_whole_file_and_store_nothing(tmp_path, field, change, message):
    doc = json.loads(FILES[1].read_text(encoding="utf-8"))
    change(doc)
    bad = tmp_path / "2565" / "pao-ตราด.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    db_path = tmp_path / "p.db"
    budget.run_file(db_path, FILES[0])
    with pytest.raises(ScrapeError, match=message):
        budget.run_file(db_path, bad)
    assert totals(db_path) == {(2565, "nation", None): 4500}


class LocalStandIn:
    """The WeVis files served from tests/fixtures: what ``Client`` offers a run, without the network."""

    def __init__(self):
        self.fetched = []

    def get_json(self, url):
        self.fetched.append(url)
        return json.loads((WEVIS / "metadata.json").read_text(encoding="utf-8"))

    def download(self, url, dest):
        self.fetched.append(url)
        name = urllib.parse.unquote(url.split("/data/", 1)[1])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((WEVIS / name).read_bytes())
        return type("Download", (), {"path": dest, "sha256": ""})()


def test_scrape_budget_local_fetches_the_years_nation_wide_and_province_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_DATA_DIR", str(tmp_path / "data"))
    stand_in = LocalStandIn()
    monkeypatch.setattr("scrapers.http.Client", lambda: stand_in)
    result = CliRunner().invoke(budget.command, ["--db", str(tmp_path / "p.db"), "--local", "2565"])
    assert result.exit_code == 0, result.output
    assert [urllib.parse.unquote(u.rsplit("/", 1)[1]) for u in stand_in.fetched] == [
        "metadata.json", "nation-wide.json", "pao-ตราด.json", "pao-กระบี่.json"]
    assert totals(tmp_path / "p.db") == {k: v for k, v in TRUTH.items() if k[0] == 2565}


def test_a_year_wevis_does_not_list_is_a_clear_error():
    with pytest.raises(UserError, match="no อบจ. budgets for 2570; it has 2565, 2566"):
        budget.local_urls(2570, client=LocalStandIn())
