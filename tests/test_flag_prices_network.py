"""TH14 (unit prices), TH15 (bid rotation) and the co-bidding edges: fixture pairs on hand-built
tables, the demo's seeded cases, and flag applicability."""
from __future__ import annotations

import json
import sqlite3

import pytest
from test_flags_rules import World

from prongsai.derive.flags.prices import normalize_unit


@pytest.fixture
def w(tmp_db):
    return World(tmp_db)


@pytest.mark.parametrize("raw, expected", [
    ("เครื่อง", ("เครื่อง", 1)), (" เครื่อง. ", ("เครื่อง", 1)), ("เครือง", ("เครื่อง", 1)),
    ("๑ เครื่อง", ("เครื่อง", 1)), ("12 ชิ้น", ("ชิ้น", 12)), ("โหล", ("ชิ้น", 12)),
    ("กิโลกรัม", ("กก.", 1)), ("กก.", ("กก.", 1)), ("KG", ("กก.", 1)), ("ตัน", ("กก.", 1000)),
    ("ชุด", ("ชุด", 1)), ("ตัว", ("ตัว", 1)), ("กล่อง", ("กล่อง", 1)), ("", None), (None, None),
])
def test_units_are_normalised(raw, expected):
    assert normalize_unit(raw) == expected


def item(w, pid, buyer, unit, price, qty=1, cls="43211503"):
    w.project(pid, method="limited", buyer=buyer)
    w.award(pid, "S-" + pid, price * qty)
    w.conn.execute("INSERT INTO items (id, project_id, item_id, classification_scheme, classification_id, quantity, "
                   "unit, unit_value, currency) VALUES (?, ?, '1', 'UNSPSC', ?, ?, ?, ?, 'THB')",
                   [pid + "/1", pid, cls, qty, unit, price])


def test_th14_fires_above_twice_the_median_of_ten(w, tmp_path):
    for k in range(9):
        item(w, f"n{k}", f"B{k}", ["เครื่อง", "เครื่อง.", "๑ เครื่อง"][k % 3], 25_000 + 100 * k)
    item(w, "dear", "B9", "เครื่อง", 60_000)                 # 11 purchases: 60,000 > 2 x 25,500
    item(w, "twice", "B9", "เครื่อง", 51_000)                # exactly 2 x the median: not above it
    item(w, "other-class", "B9", "เครื่อง", 90_000, cls="44121700")  # nothing to compare with
    flags, _ = w.run(tmp_path, "TH14")
    assert set(flags) == {"dear"}
    evidence = flags["dear"][1]
    assert evidence["comparable"] == 11 and evidence["unit"] == "เครื่อง" and evidence["item_class"] == "432115"
    assert evidence["median"] == pytest.approx(25_500)
    bench = w.conn.execute("SELECT purchases, comparable FROM unit_price_benchmarks WHERE item_class = '432115'")
    assert bench.fetchone() == (11, 1)


def test_th14_needs_ten_comparable_purchases(w, tmp_path):
    for k in range(8):
        item(w, f"n{k}", f"B{k}", "เครื่อง", 25_000)
    item(w, "dear", "B9", "เครื่อง", 90_000)                 # 9 purchases only
    assert w.run(tmp_path, "TH14")[0] == {}
    testable = w.conn.execute("SELECT testable, fired FROM flag_applicability WHERE code = 'TH14'").fetchone()
    assert testable == (0, 0)


def tender(w, pid, buyer, winner, bidders):
    w.project(pid, buyer=buyer)
    for s in bidders:
        w.bid(pid, s, 1_000_000 if s == winner else 1_050_000)
    w.award(pid, winner, 1_000_000)


def test_th15_a_closed_group_taking_turns_is_flagged(w, tmp_path):
    group = ["A", "B", "C"]
    for k in range(6):
        tender(w, f"r{k}", "ROT", group[k % 3], group)
    for k in range(6):
        tender(w, f"s{k}", "STEADY", "A", group)             # the same group, one always wins
    for k in range(4):
        tender(w, f"o{k}", "OPEN", group[k % 3], group + (["D"] if k % 2 else []))  # not a closed group
    _, org = w.run(tmp_path, "TH15")
    assert set(org) == {("buyer", "ROT")}
    evidence = org[("buyer", "ROT")][1]
    assert evidence["members"] == group and evidence["tenders"] == 6 and evidence["max_wins"] == 2


def test_co_bidding_edges_count_meetings_and_wins(w, tmp_path):
    for k in range(3):
        tender(w, f"p{k}", "X", "A" if k else "B", ["A", "B", "C"])
    w.run(tmp_path, "TH08")
    edges = {(a, b): (n, wa, wb, other) for a, b, n, wa, wb, other, *_ in
             w.conn.execute("SELECT * FROM cobid_edges")}
    assert edges[("A", "B")] == (3, 2, 1, 0)
    assert edges[("A", "C")] == (3, 2, 0, 1)


def test_the_demo_seeded_cases(demo_db):
    from prongsai.demo import PRICE_OUTLIER_AGENCIES, ROTATION_AGENCY, STEADY_AGENCY

    db = sqlite3.connect(demo_db)
    agencies = [a for (a,) in db.execute("SELECT id FROM agencies ORDER BY rowid")]
    dear = {buyer for (buyer,) in db.execute(
        "SELECT p.buyer_id FROM red_flags f JOIN projects p USING (project_id) WHERE f.code = 'TH14'")}
    assert dear == {agencies[k] for k in PRICE_OUTLIER_AGENCIES}
    rotation = {org for (org,) in db.execute("SELECT org_id FROM org_flags WHERE code = 'TH15'")}
    assert agencies[ROTATION_AGENCY] in rotation and agencies[STEADY_AGENCY] not in rotation
    row = db.execute("SELECT testable, fired, share FROM flag_applicability WHERE code = 'TH14'").fetchone()
    assert row[0] >= 16 and row[1] == 2 and row[2] == pytest.approx(row[1] / row[0])
    assert json.loads(db.execute("SELECT threshold FROM flag_definitions WHERE code = 'TH14'").fetchone()[0]) == {
        "min_ratio": 2.0, "min_comparable": 10, "digits": 6}
