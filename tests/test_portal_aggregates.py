"""The pre-aggregated tables: the spending definitions pages rely on, and atomic rebuilds."""
from __future__ import annotations

import sqlite3

import pytest
from conftest import ODD_PROJECT_ID

from portal.provinces import COLUMNS, ROWS, TILES, tile_map
from prongsai.core.schema import open_db
from prongsai.demo import PROVINCES
from prongsai.derive import aggregates


@pytest.fixture(scope="module")
def db(portal_db):
    conn = sqlite3.connect(portal_db)
    yield conn
    conn.close()


def one(db, sql, *params):
    return db.execute(sql, params).fetchone()[0]


def test_spending_is_the_sum_of_thb_contracts_in_every_breakdown(db):
    total = one(db, "SELECT total(contract_amount) FROM contracts WHERE currency = 'THB'")
    for table in ("agg_spend_month", "agg_spend_fy", "agg_spend_method", "agg_spend_ministry"):
        assert one(db, f"SELECT total(amount) FROM {table}") == pytest.approx(total)
    assert one(db, "SELECT total(amount) FROM agg_agency") == pytest.approx(total)


def test_a_projects_budget_counts_once_however_many_contracts(db):
    budget = one(db, "SELECT total(budget) FROM projects WHERE currency = 'THB'")
    assert one(db, "SELECT total(budget) FROM agg_spend_fy") == pytest.approx(budget)
    assert one(db, "SELECT sum(projects) FROM agg_spend_fy") == one(db, "SELECT count(*) FROM projects")


def test_spending_is_dated_by_signing_else_announcement(db):
    # the OCDS-style project: 400,000 signed 2025-02-01 and 300,000 unsigned, announced 2025-01-10
    feb = one(db, "SELECT amount FROM agg_spend_month WHERE month = '2025-02'")
    jan = one(db, "SELECT amount FROM agg_spend_month WHERE month = '2025-01'")
    signed = one(db, "SELECT total(contract_amount) FROM contracts WHERE substr(signed_date, 1, 7) = '2025-02'")
    unsigned_jan = one(db, "SELECT total(c.contract_amount) FROM contracts c JOIN projects p USING (project_id) "
                           "WHERE c.signed_date IS NULL AND substr(p.announce_date, 1, 7) = '2025-01'")
    signed_jan = one(db, "SELECT total(contract_amount) FROM contracts WHERE substr(signed_date, 1, 7) = '2025-01'")
    assert feb == pytest.approx(signed) and unsigned_jan == 300000
    assert jan == pytest.approx(signed_jan + unsigned_jan)


def test_fiscal_year_runs_october_to_september(db):
    assert one(db, "SELECT fiscal_year FROM agg_spend_month WHERE month = '2024-09'") == 2567
    assert one(db, "SELECT fiscal_year FROM agg_spend_month WHERE month = '2024-10'") == 2568


def test_flag_counts_and_examples(db):
    assert one(db, "SELECT projects FROM agg_flag_counts WHERE code = 'TST01'") == 5
    assert one(db, "SELECT count(*) FROM agg_flag_examples WHERE code = 'TST01'") == 5
    assert one(db, "SELECT value FROM summary_counts WHERE name = 'flagged_projects'") == one(
        db, "SELECT count(DISTINCT project_id) FROM red_flags")


def test_recent_lists_are_newest_first_and_capped(db):
    rows = db.execute("SELECT key, rank, d FROM agg_recent WHERE scope = 'agency' ORDER BY key, rank").fetchall()
    per_key: dict[str, list] = {}
    for key, rank, d in rows:
        per_key.setdefault(key, []).append(d)
    assert max(len(v) for v in per_key.values()) == aggregates.RECENT_PER_KEY
    assert all(v == sorted(v, reverse=True) for v in per_key.values())


def test_rivals_are_real_co_bidders(db):
    supplier, rival, projects = db.execute(
        "SELECT supplier_id, rival_id, projects FROM agg_supplier_rival ORDER BY projects DESC LIMIT 1").fetchone()
    together = one(db, """SELECT count(DISTINCT a.project_id) FROM
                          (SELECT b.project_id FROM bids b JOIN bid_tenderers t ON t.bid_id = b.id WHERE t.supplier_id = ?) a
                          JOIN (SELECT b.project_id FROM bids b JOIN bid_tenderers t ON t.bid_id = b.id
                                WHERE t.supplier_id = ?) r ON r.project_id = a.project_id""", supplier, rival)
    assert projects == together >= 2


def test_budget_lines_meet_procurement_by_agency_and_year(db):
    assert one(db, "SELECT total(budget_amount) FROM agg_budget") == pytest.approx(
        one(db, "SELECT total(amount) FROM budget_items"))
    assert one(db, "SELECT count(*) FROM agg_budget WHERE procurement_amount > 0") > 0


def test_rebuild_is_repeatable(portal_db, tmp_path):
    import shutil

    path = tmp_path / "copy.db"
    shutil.copy(portal_db, path)
    conn = open_db(path)
    before = {t: conn.execute(f"SELECT count(*), total(rowid) FROM {t}").fetchone() for t in aggregates.TABLES}
    aggregates.build(conn)
    after = {t: conn.execute(f"SELECT count(*), total(rowid) FROM {t}").fetchone() for t in aggregates.TABLES}
    conn.close()
    assert before == after


def test_failed_build_leaves_the_previous_tables(portal_db, tmp_path, monkeypatch):
    import shutil

    path = tmp_path / "copy.db"
    shutil.copy(portal_db, path)
    conn = open_db(path)
    rows = conn.execute("SELECT count(*) FROM agg_agency").fetchone()[0]
    monkeypatch.setitem(aggregates.TABLES, "agg_zzz_broken", ("x INTEGER", "SELECT no_such_column FROM projects"))
    with pytest.raises(sqlite3.OperationalError):
        aggregates.build(conn)
    assert conn.execute("SELECT count(*) FROM agg_agency").fetchone()[0] == rows
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'agg_zzz_broken'").fetchone()
    conn.close()


def test_tile_map_places_all_77_provinces_once():
    assert set(TILES) == set(PROVINCES)
    assert len(set(TILES.values())) == 77
    assert all(0 <= r < ROWS and 0 <= c < COLUMNS for r, c in TILES.values())
    tiles = tile_map({"น่าน": 10.0, "กระบี่": 1.0})
    levels = {t["province"]: t["level"] for t in tiles}
    assert levels["น่าน"] > levels["กระบี่"] >= 0 and levels["ตาก"] == -1


def test_odd_project_is_in_the_agency_newest_list(db):
    assert one(db, "SELECT count(*) FROM agg_recent WHERE project_id = ?", ODD_PROJECT_ID) >= 2  # agency + province
