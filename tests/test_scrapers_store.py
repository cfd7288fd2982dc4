"""SourceRun: one transaction per run, provenance, change log, quarantine, the demo guard."""
from __future__ import annotations

import sqlite3

import pytest

from prongsai.core.schema import get_meta, open_db, set_meta
from scrapers.store import DemoDatabaseError, LayoutError, ScrapeError, SourceRun, TooManyBadRows

URL = "https://data.go.th/x.csv"


def _agency(run, name="กรมชลประทาน"):
    run.upsert("agencies", {"id": "name:" + name, "name_th": name}, source_url=URL)


def _project(run, pid="64097344169", **fields):
    row = {"project_id": pid, "title": "ซื้อวัสดุ", "budget": 380000.0, "fiscal_year": 2564,
           "buyer_id": "name:กรมชลประทาน"}
    row.update(fields)
    _agency(run)
    run.upsert("projects", row, source_url=URL)


def _load(db, **fields):
    with SourceRun(db, "test", target=URL) as run:
        run.read()
        _project(run, **fields)
    return run


def q(db, sql, *args):
    return db.execute(sql, args).fetchall()


def test_fresh_database_becomes_real_and_first_load_has_provenance(tmp_db):
    run = _load(tmp_db)
    assert get_meta(tmp_db, "dataset") == "real"
    assert run.rows_in == 1 and run.rows_changed == 2  # the agency and the project
    (source, url, fetched, sha, first, last), = q(
        tmp_db, "SELECT source, source_url, fetched_at, content_sha256, first_seen, last_seen FROM projects")
    assert (source, url) == ("test", URL) and first == last == run.seen_at == fetched and len(sha) == 64
    assert q(tmp_db, "SELECT status, rows_in, rows_changed, error FROM source_runs") == [("ok", 1, 2, None)]


def test_rerun_of_same_input_changes_nothing_but_last_seen(tmp_db):
    first = _load(tmp_db)
    sha = q(tmp_db, "SELECT content_sha256 FROM projects")[0][0]
    second = _load(tmp_db)
    assert second.rows_changed == 0
    assert q(tmp_db, "SELECT first_seen, last_seen, content_sha256 FROM projects") == [
        (first.seen_at, second.seen_at, sha)]
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)]
    assert q(tmp_db, "SELECT rows_changed FROM source_runs ORDER BY id") == [(2,), (0,)]


def test_changed_upstream_value_updates_row_keeps_first_seen_and_logs_the_change(tmp_db):
    first = _load(tmp_db)
    second = _load(tmp_db, budget=400000.0)
    assert second.rows_changed == 1
    assert q(tmp_db, "SELECT budget, first_seen, last_seen FROM projects") == [
        (400000.0, first.seen_at, second.seen_at)]
    assert q(tmp_db, "SELECT table_name, row_id, project_id, field, old_value, new_value, seen_at, "
                     "source_run_id FROM changes") == [
        ("projects", "64097344169", "64097344169", "budget", "380000.0", "400000.0", second.seen_at, second.id)]


def test_integer_given_as_text_is_not_a_change(tmp_db):
    _load(tmp_db)
    assert _load(tmp_db, fiscal_year="2564").rows_changed == 0


def test_a_source_writing_fewer_columns_does_not_erase_others(tmp_db):
    _load(tmp_db)
    with SourceRun(tmp_db, "rss") as run:
        run.upsert("projects", {"project_id": "64097344169", "title": "ซื้อวัสดุ"})
    assert run.rows_changed == 0
    assert q(tmp_db, "SELECT title, budget FROM projects") == [("ซื้อวัสดุ", 380000.0)]


def test_a_fill_only_row_fills_empty_columns_without_a_change_or_new_provenance(tmp_db):
    _load(tmp_db)  # no method, a budget
    sha = q(tmp_db, "SELECT content_sha256 FROM projects")[0][0]
    with SourceRun(tmp_db, "rss") as run:
        run.upsert("projects", {"project_id": "64097344169", "budget": 1.0, "method": "เฉพาะเจาะจง"},
                   source_url="https://other", overwrite=False)
    assert run.rows_changed == 1
    assert q(tmp_db, "SELECT budget, method, source, source_url, content_sha256, last_seen FROM projects") == [
        (380000.0, "เฉพาะเจาะจง", "test", URL, sha, run.seen_at)]
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)]


def test_a_blank_never_erases_and_a_filled_blank_is_no_amendment_unless_the_row_is_complete(tmp_db):
    _load(tmp_db)
    assert _load(tmp_db, budget=None).rows_changed == 0
    filled = _load(tmp_db, budget=None, method="เฉพาะเจาะจง")
    assert filled.rows_changed == 1
    assert q(tmp_db, "SELECT budget, method FROM projects") == [(380000.0, "เฉพาะเจาะจง")]
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)]
    with SourceRun(tmp_db, "test") as run:  # e.g. an OCDS compiled release: what it leaves out is gone
        run.upsert("projects", {"project_id": "64097344169", "budget": None, "method": "เฉพาะเจาะจง"},
                   complete=True)
    assert q(tmp_db, "SELECT budget FROM projects") == [(None,)]
    assert q(tmp_db, "SELECT field, old_value, new_value FROM changes") == [("budget", "380000.0", None)]


def test_a_complete_row_takes_back_only_what_its_own_source_gave(tmp_db):
    _load(tmp_db)
    for _ in range(2):  # the first run only fills the method: the row stays the other source's
        with SourceRun(tmp_db, "ocds") as run:
            run.upsert("projects", {"project_id": "64097344169", "budget": None, "method": "เฉพาะเจาะจง"},
                       complete=True)
    assert q(tmp_db, "SELECT budget, method, source FROM projects") == [(380000.0, "เฉพาะเจาะจง", "test")]
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)] and run.rows_changed == 0


def test_a_failed_run_keeps_the_traceback_of_its_error(tmp_db):
    import traceback

    def deep():
        return 1 / 0

    with pytest.raises(ZeroDivisionError) as raised:
        with SourceRun(tmp_db, "test"):
            deep()
    assert "deep" in [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]


def test_a_source_of_lower_rank_only_fills_a_row_of_a_higher_one(tmp_db):
    with SourceRun(tmp_db, "egp-json") as run:
        _project(run, title="จาก e-GP")
    with SourceRun(tmp_db, "datagoth") as run:  # rank 2 overwrites rank 1
        _project(run, title="จาก data.go.th", budget=400000.0)
    assert q(tmp_db, "SELECT title, budget, source FROM projects") == [("จาก data.go.th", 400000.0, "datagoth")]
    with SourceRun(tmp_db, "egp-json") as run:
        _project(run, title="จาก e-GP", method="เฉพาะเจาะจง")
    assert run.rows_changed == 1  # the empty method filled, the title and budget left as data.go.th has them
    assert q(tmp_db, "SELECT title, budget, method, source FROM projects") == [
        ("จาก data.go.th", 400000.0, "เฉพาะเจาะจง", "datagoth")]
    assert q(tmp_db, "SELECT field, old_value, new_value FROM changes") == [
        ("title", "จาก e-GP", "จาก data.go.th"), ("budget", "380000.0", "400000.0")]


def test_first_record_wins_within_a_run_even_across_batches(tmp_db):
    with SourceRun(tmp_db, "test", batch_size=2) as run:
        _project(run, title="first")
        run.flush()
        _project(run, title="second")
        _project(run, pid="65117587281")
    assert q(tmp_db, "SELECT project_id, title FROM projects ORDER BY 1") == [
        ("64097344169", "first"), ("65117587281", "ซื้อวัสดุ")]
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)]


def test_failed_run_commits_nothing_but_its_failed_row(tmp_db):
    _load(tmp_db)
    with pytest.raises(LayoutError):
        with SourceRun(tmp_db, "test", target="f.csv", batch_size=1) as run:
            run.read(2)
            _project(run, budget=1.0)            # flushed at once (batch_size=1) ...
            run.quarantine("f.csv:3", "a,b", "bad date")
            raise LayoutError("test", "f.csv", "column งบประมาณ(บาท)", "งบ")
    assert q(tmp_db, "SELECT budget FROM projects") == [(380000.0,)]   # ... and rolled back
    assert q(tmp_db, "SELECT count(*) FROM changes") == [(0,)]
    assert q(tmp_db, "SELECT count(*) FROM quarantine") == [(0,)]
    status, rows_in, error = q(tmp_db, "SELECT status, rows_in, error FROM source_runs ORDER BY id DESC")[0]
    assert (status, rows_in) == ("failed", 2)
    assert error == "test: layout changed in f.csv: expected column งบประมาณ(บาท), found งบ"


def test_progress_says_done_only_of_a_run_that_is(tmp_db, capsys):
    _load(tmp_db)
    assert "test: rows: 1 done" in capsys.readouterr().err
    with pytest.raises(LayoutError):
        with SourceRun(tmp_db, "test") as run:
            run.read()
            raise LayoutError("test", "f.csv", "x", "y")
    assert "done" not in capsys.readouterr().err


def test_bug_inside_a_run_is_recorded_with_its_type(tmp_db):
    with pytest.raises(ZeroDivisionError):
        with SourceRun(tmp_db, "test"):
            1 / 0
    assert q(tmp_db, "SELECT status, error FROM source_runs") == [("failed", "ZeroDivisionError: division by zero")]


def test_malformed_rows_are_quarantined_and_the_run_goes_on(tmp_db):
    with SourceRun(tmp_db, "test", target="f.csv") as run:
        for i in range(20):
            run.read()
            if i == 7:
                run.quarantine("f.csv:9", "x,y", "not a date: 'x'")
            else:
                _project(run, pid=f"6409734{i:04d}")
    assert q(tmp_db, "SELECT count(*) FROM projects") == [(19,)]
    assert q(tmp_db, "SELECT location, raw, reason, source_run_id FROM quarantine") == [
        ("f.csv:9", "x,y", "not a date: 'x'", run.id)]
    assert q(tmp_db, "SELECT status, rows_quarantined FROM source_runs") == [("ok", 1)]


def test_more_than_five_percent_bad_rows_fails_the_run(tmp_db):
    with pytest.raises(TooManyBadRows, match=r"2 of 20 rows of f.csv are malformed .*not a date"):
        with SourceRun(tmp_db, "test", target="f.csv") as run:
            for i in range(20):
                run.read()
                if i in (3, 4):
                    run.quarantine(f"f.csv:{i}", "x", "not a date")
                else:
                    _project(run, pid=f"6409734{i:04d}")
    assert q(tmp_db, "SELECT count(*) FROM projects") == [(0,)]
    assert q(tmp_db, "SELECT status, rows_quarantined FROM source_runs") == [("failed", 2)]


def test_links_are_inserted_once_and_foreign_keys_checked_at_commit(tmp_db):
    def load():
        with SourceRun(tmp_db, "test") as run:
            run.link("award_suppliers", {"award_id": "64097344169/1", "supplier_id": "0105556000001"})
            run.upsert("suppliers", {"id": "0105556000001", "name_th": "บริษัท ก จำกัด"})
            _project(run)
            run.upsert("awards", {"id": "64097344169/1", "project_id": "64097344169", "amount": 1.0})
        return run
    assert load().rows_changed == 5
    assert load().rows_changed == 0
    with pytest.raises(sqlite3.IntegrityError):
        with SourceRun(tmp_db, "test") as run:
            run.link("award_suppliers", {"award_id": "nope/1", "supplier_id": "0105556000001"})
    assert q(tmp_db, "SELECT count(*) FROM award_suppliers") == [(1,)]


def test_refuses_a_demo_database(tmp_path):
    db = open_db(tmp_path / "demo.db")
    set_meta(db, dataset="demo")
    with pytest.raises(DemoDatabaseError, match="DEMO database"):
        with SourceRun(db, "test"):
            pass
    db = open_db(tmp_path / "demo.db")
    assert q(db, "SELECT count(*) FROM source_runs") == [(0,)]


def test_upsert_into_a_link_table_is_refused(tmp_db):
    with pytest.raises(ValueError, match="use link"):
        with SourceRun(tmp_db, "test") as run:
            run.upsert("award_suppliers", {"award_id": "a", "supplier_id": "b"})


def _indexes(db):
    return sorted(q(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def test_first_load_rebuilds_the_indexes_it_deferred_and_a_failed_one_restores_them(tmp_db):
    schema = _indexes(tmp_db)
    with pytest.raises(LayoutError):
        with SourceRun(tmp_db, "test", batch_size=1) as run:
            _project(run)
            assert ("idx_projects_method",) not in q(tmp_db, "SELECT name FROM sqlite_master")  # deferred
            raise LayoutError("test", "f.csv", "x", "y")
    assert _indexes(tmp_db) == schema
    _load(tmp_db)
    assert _indexes(tmp_db) == schema
    plan = " ".join(r[-1] for r in q(tmp_db, "EXPLAIN QUERY PLAN SELECT * FROM projects WHERE method = 'x'"))
    assert "idx_projects_method" in plan


def test_first_load_checks_foreign_keys_once_before_commit(tmp_db):
    schema = _indexes(tmp_db)
    with pytest.raises(sqlite3.IntegrityError, match="award_suppliers row 1 refers to a missing awards row"):
        with SourceRun(tmp_db, "test", batch_size=1) as run:
            _project(run)
            run.upsert("suppliers", {"id": "0105556000001", "name_th": "บริษัท ก จำกัด"})
            run.link("award_suppliers", {"award_id": "nope/1", "supplier_id": "0105556000001"})
            assert ("idx_projects_buyer_id",) not in q(tmp_db, "SELECT name FROM sqlite_master")  # deferred
    assert q(tmp_db, "SELECT count(*) FROM projects") == q(tmp_db, "SELECT count(*) FROM suppliers") == [(0,)]
    assert q(tmp_db, "SELECT status, error FROM source_runs") == [
        ("failed", "IntegrityError: FOREIGN KEY constraint failed: award_suppliers row 1 refers to a missing "
                   "awards row")]
    assert _indexes(tmp_db) == schema and q(tmp_db, "PRAGMA foreign_keys") == [(1,)]
    _load(tmp_db)  # not a first load once projects has a row: enforcement stays on during the run
    with SourceRun(tmp_db, "test") as run:
        assert q(tmp_db, "PRAGMA foreign_keys") == [(1,)]
    assert _indexes(tmp_db) == schema and q(tmp_db, "PRAGMA foreign_keys") == [(1,)]


def test_first_load_uses_the_rollback_journal_and_leaves_the_database_in_wal(tmp_db, tmp_path):
    journal = lambda: q(tmp_db, "PRAGMA journal_mode")[0][0]  # noqa: E731
    other = open_db(tmp_path / "other.db")
    with SourceRun(other, "test") as run:
        _project(run)
        assert q(other, "PRAGMA journal_mode") == [("delete",)]
    assert q(other, "PRAGMA journal_mode") == [("wal",)] and q(other, "SELECT count(*) FROM projects") == [(1,)]
    other.close()
    with pytest.raises(LayoutError):
        with SourceRun(tmp_db, "test") as run:
            _project(run)
            assert journal() == "delete"
            raise LayoutError("test", "f.csv", "x", "y")
    assert journal() == "wal" and q(tmp_db, "SELECT count(*) FROM projects") == [(0,)]
    reader = sqlite3.connect(tmp_path / "procurement.db")
    reader.execute("SELECT count(*) FROM projects").fetchall()  # attached: no switch, still a bulk load
    with SourceRun(tmp_db, "test") as run:
        _project(run)
        assert journal() == "wal" and q(tmp_db, "PRAGMA foreign_keys") == [(0,)]
    assert reader.execute("SELECT title FROM projects").fetchall() == [("ซื้อวัสดุ",)]
    reader.close()
    with SourceRun(tmp_db, "test") as run:  # not a first load
        _project(run, pid="65117587281")
        assert journal() == "wal"
    assert journal() == "wal" and q(tmp_db, "SELECT count(*) FROM projects") == [(2,)]


def test_a_second_writer_during_a_first_load_is_told_the_database_is_locked(tmp_db, tmp_path):
    with SourceRun(tmp_db, "first") as run:
        _project(run)
        run.flush()  # the first load holds the write lock, in rollback-journal mode
        second = open_db(tmp_path / "procurement.db")  # may not switch it to WAL: not an error
        second.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(ScrapeError, match=r"procurement.db is locked by another writer; run second again"):
            with SourceRun(second, "second"):
                pass
        second.close()
    assert q(tmp_db, "SELECT source, status FROM source_runs ORDER BY id") == [("first", "ok")]
    assert q(tmp_db, "PRAGMA journal_mode") == [("wal",)]


def test_duplicates_after_the_memory_of_written_keys_is_full_still_lose(tmp_db, monkeypatch):
    monkeypatch.setattr("scrapers.store._DONE_LIMIT", 2)
    with SourceRun(tmp_db, "test", batch_size=1) as run:
        for title in ("first", "second", "third"):
            _project(run, title=title)
            _project(run, pid="65117587281", title=title)
    assert q(tmp_db, "SELECT DISTINCT title FROM projects") == [("first",)]


def test_a_locked_database_is_one_clear_error(tmp_path):
    path = tmp_path / "p.db"
    open_db(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    db = open_db(path)
    db.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(ScrapeError, match=r"p.db is locked by another writer; run test again"):
        with SourceRun(db, "test"):
            pass
    other.execute("ROLLBACK")
    assert q(db, "SELECT count(*) FROM source_runs") == [(0,)]  # nothing could be written meanwhile


# --- run_touched: what each run changed, for incremental builds --------------------------------

def _touched(db, run):
    return sorted(q(db, "SELECT kind, key FROM run_touched WHERE source_run_id = ?", run.id))


def test_a_first_load_says_everything_is_new_in_one_row(tmp_db):
    run = _load(tmp_db)
    assert run.first_load and _touched(tmp_db, run) == [("all", "")]


def test_a_rerun_touches_nothing_and_a_change_names_its_project(tmp_db):
    _load(tmp_db)
    assert _touched(tmp_db, _load(tmp_db)) == []
    assert _touched(tmp_db, _load(tmp_db, budget=400000.0)) == [("project", "64097344169")]


def test_new_rows_fills_and_links_name_their_project_agency_or_supplier(tmp_db):
    _load(tmp_db)
    with SourceRun(tmp_db, "test", target=URL) as run:
        run.upsert("agencies", {"id": "name:กรมชลประทาน", "province": "ลำปาง"}, overwrite=False)  # a fill
        _project(run, pid="65000000001")  # a new project
        run.upsert("awards", {"id": "64097344169/1", "project_id": "64097344169", "amount": 1.0})  # a new child
        run.upsert("suppliers", {"id": "0105536000003", "name_th": "บริษัท ก"})
        run.link("award_suppliers", {"award_id": "64097344169/1", "supplier_id": "0105536000003"})
    assert _touched(tmp_db, run) == [("agency", "name:กรมชลประทาน"), ("project", "64097344169"),
                                     ("project", "65000000001"), ("supplier", "0105536000003")]
    with SourceRun(tmp_db, "test", target=URL) as again:  # the link again: nothing new
        again.link("award_suppliers", {"award_id": "64097344169/1", "supplier_id": "0105536000003"})
    assert _touched(tmp_db, again) == []


def test_a_failed_run_leaves_no_touched_rows(tmp_db):
    _load(tmp_db)
    with pytest.raises(RuntimeError):
        with SourceRun(tmp_db, "test", target=URL) as run:
            _project(run, budget=1.0)
            run.flush()
            raise RuntimeError("boom")
    assert q(tmp_db, "SELECT count(*) FROM run_touched WHERE source_run_id = ?", run.id) == [(0,)]
