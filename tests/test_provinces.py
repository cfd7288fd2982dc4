"""/provinces/<name>: the อบจ.'s budget by plan (from a province's own WeVis file), procurement, flags, feed."""
from __future__ import annotations

import re
import shutil

import pytest
from conftest import FIXTURES

from portal import create_app
from prongsai.core.schema import open_db
from prongsai.derive import aggregates
from scrapers import budget

WEVIS = FIXTURES / "budget" / "wevis"


@pytest.fixture(scope="module")
def province_db(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("provinces") / "procurement.db"
    shutil.copy(demo_db, path)
    db = open_db(path)  # a demo database refuses a scrape run: the parsed lines are inserted as they are
    for name in ("2565/nation-wide.json", "2565/pao-ตราด.json", "2566/pao-ตราด.json"):
        db["budget_items"].insert_all(budget.parse((WEVIS / name).read_bytes(), location=name).rows("budget_items"))
    aggregates.build(db)
    db.close()
    return path


@pytest.fixture
def client(province_db, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(province_db),
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "test"}).test_client()


def test_a_province_page_shows_its_pao_budget_by_plan_and_its_feed(client):
    html = client.get("/provinces/ตราด").get_data(as_text=True)
    assert "อุตสาหกรรมและการโยธา" in html and "<td class=\"num\">250 บาท</td>" in html  # its own plan line, 2565
    assert "/feeds/provinces/" in html and "budget_items?scope=province&amp;province=" in html


def test_a_province_without_a_pao_file_still_shows_its_procurement(client, province_db):
    province = open_db(province_db).execute(
        "SELECT province FROM agg_spend_province WHERE province != 'ตราด' ORDER BY amount DESC LIMIT 1").fetchone()[0]
    r = client.get(f"/provinces/{province}")
    assert r.status_code == 200 and province in r.get_data(as_text=True)


def test_an_unknown_province_is_404(client):
    assert client.get("/provinces/Atlantis").status_code == 404


def test_a_provinces_lines_are_not_added_to_the_nation_wide_budget(province_db):
    db = open_db(province_db)
    local = db.execute("SELECT total(budget_amount) FROM agg_budget WHERE fiscal_year = 2565 AND level = 'local'")
    assert local.fetchone()[0] == 4500  # the nation-wide file only, ตราด's 350 not on top
    assert db.execute("SELECT total(amount) FROM agg_province_budget WHERE province = 'ตราด'").fetchone()[0] == 440


def test_the_home_map_tiles_open_the_province_pages(client):
    html = client.get("/").get_data(as_text=True)
    tiles = re.findall(r'<a role="listitem" class="tile [^"]*" href="([^"]+)"', html)
    assert len(tiles) == 77 and all(t.startswith("/provinces/") for t in tiles)
    assert client.get(tiles[0]).status_code == 200
