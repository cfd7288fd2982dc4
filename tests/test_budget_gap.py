"""The per-year gap between the national budget lines held and each Budget Act's total, explained."""
from __future__ import annotations

from conftest import SHARED, needs_shared

from prongsai.core.budget_bills import BILL_DOCUMENTS, WITHOUT_CSV
from prongsai.core.schema import open_db
from prongsai.derive import budget_gap
from prongsai.derive.budget_gap import OFFICIAL_BUDGET_TOTALS, year_gaps
from prongsai.ops.check import check_public
from scrapers import budget

ACT_2565 = OFFICIAL_BUDGET_TOTALS[2565]
KAOGEEK = SHARED / "data" / "thai" / "budget-fy2565-kaogeek"


def database(tmp_path, volumes: dict[str, float], refused: int = 0):
    db = open_db(tmp_path / "p.db")
    for n, (doc, amount) in enumerate(volumes.items()):
        db["budget_items"].insert({"id": f"bill:{doc}.{n}", "fiscal_year": 2565, "level": "national", "scope": "nation",
                                   "ministry": "กระทรวงการคลัง", "amount": amount, "currency": "THB", "source_doc": doc})
    db["budget_items"].insert({"id": "local:2565:pao-ตราด:x:y", "fiscal_year": 2565, "level": "local",
                               "scope": "province", "province": "ตราด", "amount": 10**12, "currency": "THB"})
    for k in range(refused):
        db["quarantine"].insert({"source": "budget", "location": f"downloads/2022-3-3(2).csv:{k + 2}", "reason": "x"})
    db.close()
    return tmp_path / "p.db"


def gap_2565(path):
    return next(g for g in year_gaps(open_db(path).conn) if g.fiscal_year == 2565)


def test_missing_documents_explain_the_gap_and_are_named(tmp_path):
    path = database(tmp_path, {"2022.3.1": 800e9, "2022.3.17": 17.5e9})
    gap = gap_2565(path)
    assert gap.held == 817.5e9 and gap.gap == ACT_2565 - 817.5e9  # the province's lines are not national
    assert gap.explained and not gap.closed
    text = gap.explanation()
    assert "2 of the 24 published document(s): 2022.3.1 (800.0 bn), 2022.3.17 (17.5 bn)" in text
    assert "20 not loaded: 2022.3.2 (กระทรวงการคลัง" in text and "2022.3.3(1) (กระทรวงการอุดมศึกษา" in text
    assert "2 listed without a CSV by the extraction, so not loadable: 2022.3.5 (กระทรวงคมนาคม" in text
    [finding] = [f for f in check_public(path, quick=True) if f.subject == "budget 2565"]
    assert finding.ok and "gap 2,282,500,000,000 (73.6%)" in finding.detail


@needs_shared
def test_the_real_volumes_held_here_name_the_other_twenty(tmp_path):
    """The four FY2565 volumes in ../shared: each missing document is named with what it holds."""
    path = tmp_path / "real.db"
    for volume in ("1", "7", "14", "17"):
        budget.run_file(path, KAOGEEK / f"2022-3-{volume}.csv")
    [finding] = [f for f in check_public(path, quick=True) if f.subject == "budget 2565"]
    assert finding.ok and "from 4 of the 24 published document(s)" in finding.detail
    assert "(68.9%)" in finding.detail and "18 not loaded: 2022.3.2" in finding.detail
    assert "2022.3.16(3) (องค์กรปกครองส่วนท้องถิ่น (3))" in finding.detail
    assert "2022.3.8 (กระทรวงมหาดไทย" in finding.detail


def every_document(amount=None):
    docs = [d for d in BILL_DOCUMENTS[2565] if d not in WITHOUT_CSV]
    return {d: amount if amount is not None else ACT_2565 / len(docs) for d in docs}


def test_every_document_published_as_csv_loaded_leaves_the_unpublished_ones_named(tmp_path):
    path = database(tmp_path, every_document(100e9))
    gap = gap_2565(path)
    assert gap.explained and gap.missing == sorted(WITHOUT_CSV)
    assert "not loaded" not in gap.explanation() and "2022.3.5" in gap.explanation()


def test_every_document_loaded_and_a_gap_left_is_a_failure_that_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(budget_gap, "WITHOUT_CSV", frozenset())
    path = database(tmp_path, {d: 100e9 for d in BILL_DOCUMENTS[2565]})
    [finding] = [f for f in check_public(path, quick=True) if f.subject == "budget 2565"]
    assert not finding.ok and "points at a parsing error" in finding.detail


def test_refused_lines_are_named_with_their_file(tmp_path):
    path = database(tmp_path, every_document(100e9), refused=3)
    gap = gap_2565(path)
    assert gap.explained and "lines refused on reading: 2022-3-3(2).csv 3" in gap.explanation()


def test_a_closed_gap_is_ok(tmp_path):
    path = database(tmp_path, every_document())
    gap = gap_2565(path)
    assert gap.closed and gap.explained and abs(gap.gap) < 1
