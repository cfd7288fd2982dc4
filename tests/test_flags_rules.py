"""Every flag on small hand-built tables: a positive case, a negative case and the boundary."""
from __future__ import annotations

import json

import pytest

from prongsai.derive.flags.build import build

MASKED = "x:masked"


class World:
    """Builds projects, bids, awards and contracts in an empty public database."""

    def __init__(self, db):
        self.db = db
        self.conn = db.conn

    def _org(self, table, key, **extra):
        if table == "agencies":
            self.conn.execute("INSERT OR IGNORE INTO agencies (id, name_th) VALUES (?, ?)", [key, key])
        else:
            status = extra.get("status", "ok")
            self.conn.execute("INSERT OR IGNORE INTO suppliers (id, tax_id_status, tax_id_raw, name_th) "
                              "VALUES (?, ?, ?, ?)", [key, status, extra.get("raw", key), key])

    def project(self, pid, *, method="open", buyer="B1", currency="THB", **columns):
        self._org("agencies", buyer)
        row = {"project_id": pid, "ocds_method": method, "method": {"open": "e-bidding", "selective": "คัดเลือก",
               "limited": "เฉพาะเจาะจง"}.get(method, method), "buyer_id": buyer, "procuring_entity_id": buyer,
               "currency": currency, "fiscal_year": 2568, "announce_date": "2025-03-01", **columns}
        cols = ", ".join(row)
        self.conn.execute(f"INSERT INTO projects ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        return pid

    def bid(self, pid, supplier, amount, status="valid", date=None, currency="THB", partners=()):
        n = self.conn.execute("SELECT count(*) FROM bids WHERE project_id = ?", [pid]).fetchone()[0] + 1
        self._org("suppliers", supplier)
        bid_id = f"{pid}/{n}"
        self.conn.execute("INSERT INTO bids (id, project_id, bid_id, date, amount, currency, status) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", [bid_id, pid, str(n), date, amount, currency, status])
        for tenderer in (supplier, *partners):   # partners: a joint venture's other members
            self._org("suppliers", tenderer)
            self.conn.execute("INSERT INTO bid_tenderers (bid_id, supplier_id) VALUES (?, ?)", [bid_id, tenderer])

    def award(self, pid, supplier, amount=None, status="active", items=(), contract=None, tax_status="ok"):
        n = self.conn.execute("SELECT count(*) FROM awards WHERE project_id = ?", [pid]).fetchone()[0] + 1
        self._org("suppliers", supplier, status=tax_status, raw="123456789xxxx" if tax_status != "ok" else supplier)
        award_id = f"{pid}/a{n}"
        self.conn.execute("INSERT INTO awards (id, project_id, award_id, status, amount, currency) "
                          "VALUES (?, ?, ?, ?, ?, 'THB')", [award_id, pid, f"a{n}", status, amount])
        self.conn.execute("INSERT INTO award_suppliers VALUES (?, ?)", [award_id, supplier])
        for code in items:
            self.conn.execute("INSERT OR IGNORE INTO award_items VALUES (?, 'UNSPSC', ?)", [award_id, code])
        if amount is not None:
            self.conn.execute(
                "INSERT INTO contracts (id, project_id, award_id, supplier_id, award_amount, contract_amount, "
                "currency) VALUES (?, ?, ?, ?, ?, ?, 'THB')",
                [f"{pid}/c{n}", pid, award_id, supplier, amount, amount if contract is None else contract])

    def run(self, tmp_path, code, **keys):
        """Build with only ``code`` enabled (its keys set as given); return (process, org) flags."""
        lines = [f"[{code}]"] + [f"{k} = {v}" for k, v in keys.items()]
        cardinal, thai = tmp_path / "cardinal.ini", tmp_path / "thai.ini"
        (cardinal if code.startswith("R") else thai).write_text("\n".join(lines) + "\n")
        (thai if code.startswith("R") else cardinal).write_text("; nothing else\n")
        build(self.db, settings_path=cardinal, thai_settings_path=thai)
        process = {pid: (value, json.loads(ev)) for pid, value, ev in
                   self.conn.execute("SELECT project_id, value, evidence FROM red_flags WHERE code = ?", [code])}
        org = {(t, i): (value, json.loads(ev)) for t, i, value, ev in
               self.conn.execute("SELECT org_type, org_id, value, evidence FROM org_flags WHERE code = ?", [code])}
        return process, org


@pytest.fixture
def w(tmp_db):
    return World(tmp_db)


def awarded(w, pid, amount, *, reference=None, budget=None, method="open", contract=None, supplier="S1",
            tax_status="ok", **columns):
    w.project(pid, method=method, reference_price=reference, budget=budget, **columns)
    w.award(pid, supplier, amount, contract=contract, tax_status=tax_status)


# --- Thai flags ------------------------------------------------------------------------------

def test_th01_award_just_below_reference(w, tmp_path):
    awarded(w, "near", 4_990_000, reference=5_000_000)
    awarded(w, "edge", 4_950_000, reference=5_000_000)        # exactly 1 % below: flagged
    awarded(w, "far", 4_949_999, reference=5_000_000)         # just over 1 %: not flagged
    awarded(w, "above", 5_000_001, reference=5_000_000)
    awarded(w, "direct", 4_990_000, reference=5_000_000, method="limited")
    flags, _ = w.run(tmp_path, "TH01")
    assert set(flags) == {"near", "edge"}
    assert flags["near"][1]["pct_below"] == pytest.approx(0.2)
    assert flags["edge"][1]["reference_price"] == 5_000_000


def test_th02_award_above_reference(w, tmp_path):
    awarded(w, "above", 5_000_001, reference=5_000_000)
    awarded(w, "equal", 5_000_000, reference=5_000_000)
    awarded(w, "dollars", 6_000_000, reference=5_000_000, currency="USD")  # THB only
    assert set(w.run(tmp_path, "TH02")[0]) == {"above"}


def test_th03_abnormally_low(w, tmp_path):
    awarded(w, "edge", 3_500_000, reference=5_000_000)        # exactly 30 % below
    awarded(w, "deep", 2_000_000, reference=5_000_000)
    awarded(w, "normal", 3_500_001, reference=5_000_000)
    flags, _ = w.run(tmp_path, "TH03")
    assert set(flags) == {"edge", "deep"} and flags["deep"][0] == pytest.approx(60)


def test_th04_contract_above_award(w, tmp_path):
    awarded(w, "over", 1_000_000, contract=1_000_001)
    awarded(w, "equal", 1_000_000, contract=1_000_000)
    awarded(w, "lower", 1_000_000, contract=900_000)
    flags, _ = w.run(tmp_path, "TH04")
    assert set(flags) == {"over"} and flags["over"][1]["contract_ids"] == ["over/c1"]


def test_th05_reference_above_budget(w, tmp_path):
    awarded(w, "over", 90, reference=1_000_001, budget=1_000_000)
    awarded(w, "equal", 90, reference=1_000_000, budget=1_000_000)
    assert set(w.run(tmp_path, "TH05")[0]) == {"over"}


def test_th06_fewer_than_three_bidders(w, tmp_path):
    for pid, bidders, method in (("two", 2, "open"), ("three", 3, "open"), ("direct", 1, "limited")):
        w.project(pid, method=method)
        for k in range(bidders):
            w.bid(pid, f"S{k}", 100 + k)
    w.project("declared", method="selective", number_of_tenderers=1)  # no bids: the declared count
    flags, _ = w.run(tmp_path, "TH06")
    assert set(flags) == {"two", "declared"} and flags["two"][0] == 2


def test_th06_counts_each_member_of_a_joint_venture(w, tmp_path):
    w.project("jv_and_one")
    w.bid("jv_and_one", "A", 100, partners=["B"])
    w.bid("jv_and_one", "C", 110)
    w.project("jv_alone")
    w.bid("jv_alone", "A", 100, partners=["B"])
    w.project("jv_and_member")                    # the member also bids alone: still two bidders
    w.bid("jv_and_member", "A", 100, partners=["B"])
    w.bid("jv_and_member", "B", 105)
    flags, _ = w.run(tmp_path, "TH06")
    assert {pid: value for pid, (value, _) in flags.items()} == {"jv_alone": 2, "jv_and_member": 2}


def test_r038_counts_a_joint_bid_for_each_member(w, tmp_path):
    for i in range(4):
        w.project(f"p{i}")
        w.bid(f"p{i}", "J1", 100, status="disqualified", partners=["J2"])
        w.bid(f"p{i}", f"S{i}", 110)
    _, orgs = w.run(tmp_path, "R038", threshold=0.5)
    for member in ("J1", "J2"):
        assert orgs[("tenderer", member)][1] | {"fence": None} == {
            "disqualified": 4, "submitted": 4, "processes": 4, "ratio": 1.0, "ratio_pct": 100.0,
            "fence": None, "fence_pct": 50.0}


def test_th07_clustered_bids(w, tmp_path):
    for pid, others in (("tight", [100_500, 101_000]), ("loose", [100_500, 101_001]), ("pair", [100_100])):
        w.project(pid)
        w.bid(pid, "W", 100_000)
        for k, amount in enumerate(others):
            w.bid(pid, f"L{k}", amount)
        w.award(pid, "W", 100_000)
    flags, _ = w.run(tmp_path, "TH07")
    assert set(flags) == {"tight"} and flags["tight"][0] == pytest.approx(1.0)


def _co_bids(w, extra=0):
    for i in range(5):                           # A and B together five times
        w.project(f"ab{i}")
        w.bid(f"ab{i}", "A", 100)
        w.bid(f"ab{i}", "B", 110)
    for i in range(5 + extra):                   # each also bids without the other
        w.project(f"a{i}")
        w.bid(f"a{i}", "A", 100)
        w.bid(f"a{i}", f"C{i}", 110)
    for i in range(5 + extra):
        w.project(f"b{i}")
        w.bid(f"b{i}", "B", 100)
        w.bid(f"b{i}", f"D{i}", 110)


def test_th08_co_bidding_pair_at_threshold(w, tmp_path):
    _co_bids(w)                                  # 5 of 10 = exactly 50 %
    _, orgs = w.run(tmp_path, "TH08")
    assert set(orgs) == {("tenderer", "A"), ("tenderer", "B")}
    assert orgs[("tenderer", "A")][1]["partner_id"] == "B" and orgs[("tenderer", "A")][0] == 5


def test_th08_not_often_enough(w, tmp_path):
    _co_bids(w, extra=1)                         # 5 of 11 bids each: under 50 %
    _, orgs = w.run(tmp_path, "TH08")
    assert orgs == {}
    _, orgs = w.run(tmp_path, "TH08", min_together=6, min_share_pct=10)
    assert orgs == {}


def test_th09_direct_purchase_at_year_end(w, tmp_path):
    awarded(w, "first", 1000, method="limited", announce_date="2025-09-01")   # 29 days left
    awarded(w, "last", 1000, method="limited", announce_date="2025-09-30")
    awarded(w, "august", 1000, method="limited", announce_date="2025-08-31")  # 30 days left
    awarded(w, "open", 1000, method="open", announce_date="2025-09-15")
    flags, _ = w.run(tmp_path, "TH09")
    assert set(flags) == {"first", "last"} and flags["first"][1]["days_to_year_end"] == 29


def test_th10_splitting(w, tmp_path):
    for pid, day in (("s1", "2025-01-01"), ("s2", "2025-02-15"), ("s3", "2025-04-01")):  # 0, 45, 90 days
        awarded(w, pid, 450_000, method="limited", announce_date=day)
    for pid, day in (("t1", "2025-01-01"), ("t2", "2025-02-15"), ("t3", "2025-04-02")):  # third at 91 days
        awarded(w, pid, 450_000, method="limited", announce_date=day, supplier="S2")
    for pid, amount in (("u1", 500_000), ("u2", 400_000), ("u3", 400_000)):  # one at the limit: not under it
        awarded(w, pid, amount, method="limited", announce_date="2025-05-01", supplier="S3")
    flags, _ = w.run(tmp_path, "TH10")
    assert set(flags) == {"s1", "s2", "s3"}
    assert flags["s2"][1]["count"] == 3 and flags["s2"][1]["total"] == 1_350_000
    assert sorted(flags["s1"][1]["project_ids"]) == ["s1", "s2", "s3"]


def test_th11_dominant_supplier(w, tmp_path):
    for i, (supplier, amount) in enumerate([("S1", 500_000), ("S2", 200_000), ("S3", 100_000),
                                            ("S4", 100_000), ("S5", 100_000)]):
        awarded(w, f"p{i}", amount, supplier=supplier)             # S1: exactly 50 % of 1,000,000
    for i, (supplier, amount) in enumerate([("S1", 499_999), ("S2", 200_001), ("S3", 100_000),
                                            ("S4", 100_000), ("S5", 100_000)]):
        awarded(w, f"q{i}", amount, supplier=supplier, buyer="B2")  # 49.99 %
    for i in range(4):
        awarded(w, f"r{i}", 900_000 if i == 0 else 100_000, buyer="B3")  # only 4 projects
    _, orgs = w.run(tmp_path, "TH11")
    assert set(orgs) == {("buyer", "B1")}
    assert orgs[("buyer", "B1")][1]["supplier_id"] == "S1" and orgs[("buyer", "B1")][0] == pytest.approx(0.5)


def test_th12_direct_purchase_above_limit(w, tmp_path):
    awarded(w, "over", 500_001, method="limited")
    awarded(w, "limit", 500_000, method="limited")
    awarded(w, "open", 900_000, method="open")
    assert set(w.run(tmp_path, "TH12")[0]) == {"over"}


def test_th13_masked_winner_on_large_contract(w, tmp_path):
    awarded(w, "masked", 5_000_000, supplier="M1", tax_status="masked")
    awarded(w, "small", 4_999_999, supplier="M2", tax_status="masked")
    awarded(w, "ok", 9_000_000, supplier="OK1")
    awarded(w, "damaged", 9_000_000, supplier="D1", tax_status="damaged")  # the source's error: a note, not a flag
    flags, _ = w.run(tmp_path, "TH13")
    assert set(flags) == {"masked"} and flags["masked"][1]["tax_id_status"] == "masked"


# --- Cardinal's indicators on our tables ------------------------------------------------------

def test_r003_short_period(w, tmp_path):
    w.project("short", tender_start="2025-01-01", tender_end="2025-01-15")   # 14 days
    w.project("exact", tender_start="2025-01-01", tender_end="2025-01-16")   # 15 days
    w.project("direct", method="limited", tender_start="2025-01-01", tender_end="2025-01-02")
    flags, _ = w.run(tmp_path, "R003", procurement_methods="open|selective")
    assert set(flags) == {"short"} and flags["short"][1]["days"] == 14


def test_r018_single_bid(w, tmp_path):
    w.project("one", number_of_tenderers=1)
    w.project("two", number_of_tenderers=2)
    w.project("direct", method="limited", number_of_tenderers=1)
    assert set(w.run(tmp_path, "R018")[0]) == {"one"}


def _two_bids(w, pid, winner_amount, second_amount):
    w.project(pid)
    w.bid(pid, "W", winner_amount)
    w.bid(pid, "L", second_amount)
    w.award(pid, "W", winner_amount)


def test_r024_close_to_winning_bid(w, tmp_path):
    _two_bids(w, "edge", 100, 105)          # ratio exactly 0.05
    _two_bids(w, "far", 100, 105.01)
    flags, orgs = w.run(tmp_path, "R024", threshold=0.05)
    assert set(flags) == {"edge"} and flags["edge"][0] == pytest.approx(0.05)
    assert orgs == {("tenderer", "W"): (0.0, orgs[("tenderer", "W")][1]),
                    ("tenderer", "L"): (0.0, orgs[("tenderer", "L")][1])}


def test_r058_heavily_discounted(w, tmp_path):
    _two_bids(w, "edge", 100, 150)          # ratio exactly 0.5
    _two_bids(w, "near", 100, 149)
    flags, orgs = w.run(tmp_path, "R058", threshold=0.5)
    assert set(flags) == {"edge"} and set(orgs) == {("tenderer", "W")}


def test_r025_excessive_unsuccessful_bids(w, tmp_path):
    for i in range(4):                      # F loses four times, wins once: 0.2
        _two_bids(w, f"lose{i}", 100, 110)
        w.bid(f"lose{i}", "F", 120)
    w.project("win")
    w.bid("win", "F", 100)
    w.award("win", "F", 100)
    _, orgs = w.run(tmp_path, "R025", threshold=0.2, percentile=50)
    assert ("tenderer", "F") in orgs and orgs[("tenderer", "F")][0] == pytest.approx(0.2)
    _, orgs = w.run(tmp_path, "R025", threshold=0.19, percentile=50)
    assert ("tenderer", "F") not in orgs


def test_r028_identical_prices(w, tmp_path):
    _two_bids(w, "same", 100, 100)
    _two_bids(w, "different", 100, 100.01)
    flags, orgs = w.run(tmp_path, "R028")
    assert set(flags) == {"same"} and set(orgs) == {("tenderer", "W"), ("tenderer", "L")}


def test_r030_late_bid_won(w, tmp_path):
    for pid, date in (("late", "2025-01-16"), ("last day", "2025-01-15")):
        w.project(pid, tender_end="2025-01-15")
        w.bid(pid, "W", 100, date=date)
        w.award(pid, "W", 100)
    flags, orgs = w.run(tmp_path, "R030")
    assert set(flags) == {"late"} and set(orgs) == {("tenderer", "W")}


def test_r035_all_but_winner_disqualified(w, tmp_path):
    for pid, disqualified in (("two", 2), ("one", 1)):
        w.project(pid)
        w.bid(pid, "W", 100)
        for k in range(disqualified):
            w.bid(pid, f"D{k}", 90, status="disqualified")
        w.award(pid, "W", 100)
    flags, orgs = w.run(tmp_path, "R035", threshold=2)
    assert flags == {"two": (2.0, flags["two"][1])} and set(orgs) == {("tenderer", "W")}


def test_r036_lowest_bid_disqualified(w, tmp_path):
    for pid, lowest, status in (("lower", 90, "disqualified"), ("equal", 100, "disqualified"),
                                ("valid", 90, "valid")):
        w.project(pid)
        w.bid(pid, "D", lowest, status=status)
        w.bid(pid, "W", 100)
        w.award(pid, "W", 100)
    assert set(w.run(tmp_path, "R036")[0]) == {"lower", "equal"}


def test_r038_excessive_disqualified_bids(w, tmp_path):
    for buyer, statuses in (("half", ["valid", "disqualified"]), ("less", ["valid", "valid", "disqualified"])):
        w.project(buyer, buyer=buyer)
        for k, status in enumerate(statuses):
            w.bid(buyer, f"{buyer}{k}", 100 + k, status=status)
    _, orgs = w.run(tmp_path, "R038", threshold=0.5)
    assert {k for k in orgs if k[0] == "buyer"} == {("buyer", "half")}
    assert orgs[("buyer", "half")][1] | {"fence": 0.5} == orgs[("buyer", "half")][1]


def test_r048_heterogeneous_supplier(w, tmp_path):
    for i, codes in enumerate((["10000000"], ["11000000"], ["12000000"])):
        w.project(f"v{i}")
        w.award(f"v{i}", "V", items=codes)          # V: three segments
    for i, codes in enumerate((["10000000"], ["11000000"])):
        w.project(f"n{i}")
        w.award(f"n{i}", "N", items=codes)          # N: two
    w.project("cancelled", tender_status="cancelled")  # out of scope: its award does not count
    w.award("cancelled", "N", items=["13000000"])
    _, orgs = w.run(tmp_path, "R048", threshold=3, minimum_contracting_processes=1)
    assert orgs == {("tenderer", "V"): (3.0, orgs[("tenderer", "V")][1])}
    assert sorted(orgs[("tenderer", "V")][1]["codes"]) == ["10", "11", "12"]
