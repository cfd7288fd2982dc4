"""``field_coverage``: per source and per agency, how many projects have each field."""
from __future__ import annotations

from test_flags_rules import World

from prongsai.derive.flags import coverage


def test_coverage_counts_each_field_per_agency_and_source(tmp_db):
    w = World(tmp_db)
    w.project("p1", buyer="A", reference_price=100)
    w.bid("p1", "S1", 90)
    w.bid("p1", "S2", 95)                     # two bids: still one project with bids
    w.award("p1", "S1", 90)                   # an award and its contract
    w.project("p2", buyer="A")
    w.award("p2", "S1")                       # an award without a contract
    w.project("p3", buyer="B")
    w.conn.execute("INSERT INTO items (id, project_id, item_id, classification_scheme, classification_id, unit) "
                   "VALUES ('p3/1', 'p3', '1', 'UNSPSC', '43211503', 'เครื่อง')")  # no unit price
    coverage.build(tmp_db)
    got = {(level, buyer, field): (present, n) for level, buyer, field, present, n in tmp_db.conn.execute(
        "SELECT level, buyer_id, field, present, projects FROM field_coverage")}
    assert got[("agency", "A", "bids")] == (1, 2) and got[("agency", "A", "awards")] == (2, 2)
    assert got[("agency", "A", "contracts")] == (1, 2) and got[("agency", "A", "reference_price")] == (1, 2)
    assert got[("agency", "B", "items")] == (1, 1) and got[("agency", "B", "item_unit_prices")] == (0, 1)
    assert got[("agency", "B", "bids")] == (0, 1)
    assert got[("source", None, "awards")] == (2, 3) and got[("source", None, "buyer")] == (3, 3)
    assert len(got) == 3 * len((*coverage.FIELDS, *coverage.ROWS))


def test_coverage_is_replaced_not_appended(tmp_db):
    World(tmp_db).project("p1")
    coverage.build(tmp_db)
    coverage.build(tmp_db)
    assert tmp_db.conn.execute("SELECT count(*) FROM field_coverage").fetchone()[0] == 2 * len(
        (*coverage.FIELDS, *coverage.ROWS))


def test_an_incremental_build_recounts_the_changed_projects_alone(tmp_db):
    w = World(tmp_db)
    for pid, buyer in (("p1", "A"), ("p2", "A"), ("p3", "B"), ("p4", "B")):
        w.project(pid, buyer=buyer)
    coverage.build(tmp_db)
    counts = "SELECT level, buyer_id, field, present, projects FROM field_coverage ORDER BY 1, 2, 3"
    w.award("p2", "S1", 90)                                                            # p2 gains an award
    tmp_db.conn.execute("UPDATE projects SET buyer_id = 'B' WHERE project_id = 'p1'")   # p1 moves to B
    tmp_db.conn.execute("DELETE FROM projects WHERE project_id = 'p4'")                 # p4 is gone
    tmp_db.conn.execute("UPDATE projects SET budget = 5 WHERE project_id = 'p3'")       # not said: not recounted
    coverage.build(tmp_db, changed={"p1", "p2", "p4"})
    got = tmp_db.conn.execute(counts).fetchall()
    assert ("agency", "A", "awards", 1, 1) in got and ("agency", "B", "buyer", 2, 2) in got
    assert ("agency", "B", "budget", 0, 2) in got
    tmp_db.conn.execute("UPDATE projects SET budget = NULL WHERE project_id = 'p3'")
    coverage.build(tmp_db)  # a full build counts the same
    assert tmp_db.conn.execute(counts).fetchall() == got
