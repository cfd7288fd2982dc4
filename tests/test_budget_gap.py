"""The per-year gap between the national budget lines held and each Budget Act's total, explained."""
from __future__ import annotations

from prongsai.core.schema import open_db
from prongsai.derive.budget_gap import OFFICIAL_BUDGET_TOTALS, year_gaps
from prongsai.ops.check import check_public

ACT_2565 = OFFICIAL_BUDGET_TOTALS[2565]


def database(tmp_path, volumes: dict[str, float], refused: int = 0):
    db = open_db(tmp_path / "p.db")
    for n, (doc, amount) in enumerate(volumes.items()):
        db["budget_items"].insert({"id": f"bill:{doc}.{n}", "fiscal_year": 2565, "level": "national", "scope": "nation",
                                   "ministry": "กระทรวงการคลัง", "amount": amount, "currency": "THB", "source_doc": doc})
    db["budget_items"].insert({"id": "local:2565:pao-ตราด:x:y", "fiscal_year": 2565, "level": "local",
                               "scope": "province", "province": "ตราด", "amount": 10**12, "currency": "THB"})
    for k in range(refused):
        db["quarantine"].insert({"source": "budget", "location": f"downloads/2022-3-5.csv:{k + 2}", "reason": "x"})
    db.close()
    return tmp_path / "p.db"


def gap_2565(path):
    return next(g for g in year_gaps(open_db(path).conn) if g.fiscal_year == 2565)


def test_missing_volumes_explain_the_gap_and_are_named(tmp_path):
    path = database(tmp_path, {"2022.3.1": 800e9, "2022.3.17": 17.5e9})
    gap = gap_2565(path)
    assert gap.held == 817.5e9 and gap.gap == ACT_2565 - 817.5e9  # the province's lines are not national
    assert gap.explained and not gap.closed
    text = gap.explanation()
    assert "2 volume(s): 2022.3.1 (800.0 bn), 2022.3.17 (17.5 bn)" in text and "17 of the 19 published" in text
    [finding] = [f for f in check_public(path, quick=True) if f.subject == "budget 2565"]
    assert finding.ok and "gap 2,282,500,000,000 (73.6%)" in finding.detail


def test_every_volume_loaded_and_a_gap_left_is_a_failure_that_says_so(tmp_path):
    path = database(tmp_path, {f"2022.3.{n}": 100e9 for n in range(1, 20)})
    [finding] = [f for f in check_public(path, quick=True) if f.subject == "budget 2565"]
    assert not finding.ok and "points at a parsing error" in finding.detail


def test_refused_lines_are_named_with_their_file(tmp_path):
    path = database(tmp_path, {f"2022.3.{n}": 100e9 for n in range(1, 20)}, refused=3)
    gap = gap_2565(path)
    assert gap.explained and "lines refused on reading: 2022-3-5.csv 3" in gap.explanation()


def test_a_closed_gap_is_ok(tmp_path):
    path = database(tmp_path, {f"2022.3.{n}": ACT_2565 / 19 for n in range(1, 20)})
    gap = gap_2565(path)
    assert gap.closed and gap.explained and abs(gap.gap) < 1
