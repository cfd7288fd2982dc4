"""The /prices pages, the network page and the flag pages' applicability, on the demo."""
from __future__ import annotations

import sqlite3

from prongsai.demo import PRICE_CLASS, rotation_members


def test_prices_index_lists_the_seeded_class(client):
    page = client.get("/prices?lang=en")
    assert page.status_code == 200
    assert PRICE_CLASS[:6] in page.get_data(as_text=True)


def test_price_class_page_has_a_chart_and_a_table_with_the_dear_agencies(client, demo_db):
    db = sqlite3.connect(demo_db)
    dear = [name for (name,) in db.execute(
        "SELECT g.name_th FROM unit_price_agencies a JOIN agencies g ON g.id = a.buyer_id "
        "WHERE a.item_class = ? AND a.ratio_to_median > 2", [PRICE_CLASS[:6]])]
    assert len(dear) == 2
    text = client.get(f"/prices/{PRICE_CLASS[:6]}?lang=en").get_data(as_text=True)
    assert 'id="chart-agencies"' in text and "<table" in text
    assert all(name in text for name in dear)
    assert client.get("/prices/999999").status_code == 404


def test_network_page_shows_two_hops(client, demo_db):
    db = sqlite3.connect(demo_db)
    supplier = db.execute("SELECT supplier_a FROM cobid_edges ORDER BY together DESC LIMIT 1").fetchone()[0]
    page = client.get(f"/network/{supplier}?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="chart-network"' in text and "Procedures together" in text
    assert client.get("/network/no-such-supplier").status_code == 404


def test_the_seeded_rotation_group_is_one_network(client, demo_db):
    db = sqlite3.connect(demo_db)
    ids = [row[0] for row in db.execute("SELECT id FROM suppliers ORDER BY rowid")]
    members = sorted(ids[k] for k in rotation_members_indices(len(ids)))
    edges = db.execute("SELECT supplier_a, supplier_b, together FROM cobid_edges WHERE supplier_a IN (?, ?, ?) "
                       "AND supplier_b IN (?, ?, ?)", members * 2).fetchall()
    assert len(edges) == 3 and all(n >= 12 for *_, n in edges)


def rotation_members_indices(count: int) -> list[int]:
    class Sized:
        suppliers = range(count)
    return rotation_members(Sized)


def test_flag_pages_show_applicability_and_calibration(client):
    text = client.get("/flags?lang=en").get_data(as_text=True)
    assert "it could be tested on" in text and "probably mis-calibrated" in text
    page = client.get("/flags/TH06?lang=en").get_data(as_text=True)
    assert "testable projects" in page and "probably mis-calibrated" in page and "Fields needed" in page
    assert "probably mis-calibrated" not in client.get("/flags/TH01?lang=en").get_data(as_text=True)
