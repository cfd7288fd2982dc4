"""An incremental build writes the same tables as a full build.

Two copies of one built demo database get the same load (a run in ``source_runs``, rows amended
and added with that run's ``last_seen``, and what it changed in ``run_touched``, as
``scrapers.store`` writes them); one is then built in
full, the other incrementally, and every table is compared row for row. Only what names a build
or its moment differs (``meta``, ``builds``, ``computed_at``), and the search index, whose internal
keys and b-tree segments depend on the order rows were indexed: there the same searches must find
the same rows. Sums of REAL columns are compared to 12 significant digits: SQLite adds floats in
the order it reads rows, and a rewritten project's rows come last.
"""
from __future__ import annotations

import shutil
import sqlite3

import pytest
from test_plain_thai import give_a_twin

from prongsai.demo import generate
from prongsai.derive.build import run_build

RUN_AT = "2030-01-01T00:00:00.000001+00:00"
#: Columns that name a build or its moment, not what it computed.
MOMENTS = {"computed_at", "built_at", "build_key"}
#: Searches whose results must not depend on how the index was built.
TERMS = ("วัสดุ", "ก่อสร้าง", "แก้ไข", "จังหวัด", "จำกัด", "ครุภัณฑ์")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A built demo database (1,000 projects), then a load that changes about 1 % of them and more."""
    path = tmp_path_factory.mktemp("incremental") / "procurement.db"
    generate(path, projects=1000, seed=3)
    run_build(path)
    return path


def load(path) -> list[str]:
    """Amend, move and add projects the way a scraper run stamps them; the project ids changed."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    run = conn.execute("INSERT INTO source_runs (source, started_at, status) VALUES ('demo', ?, 'ok')",
                       [RUN_AT]).lastrowid
    ids = [r[0] for r in conn.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 6 OFFSET 100")]
    other_buyer, other_province = conn.execute(
        "SELECT buyer_id, province FROM projects WHERE buyer_id != (SELECT buyer_id FROM projects WHERE project_id = ?) "
        "LIMIT 1", [ids[0]]).fetchone()
    stamp = "last_seen = :at"
    # a buyer and province moved, a title retold, contract amounts and dates amended, a tenderer replaced
    conn.execute(f"UPDATE projects SET buyer_id = ?, province = ?, {stamp.replace(':at', '?')} WHERE project_id = ?",
                 [other_buyer, other_province, RUN_AT, ids[0]])
    conn.execute(f"UPDATE projects SET title = title || ' (แก้ไข)', {stamp} WHERE project_id = :id",
                 {"at": RUN_AT, "id": ids[1]})
    conn.execute(f"UPDATE contracts SET contract_amount = contract_amount * 3, signed_date = '2024-10-02', {stamp} "
                 "WHERE project_id = :id", {"at": RUN_AT, "id": ids[2]})
    conn.execute(f"UPDATE projects SET number_of_tenderers = 1, reference_price = budget, {stamp} "
                 "WHERE project_id = :id", {"at": RUN_AT, "id": ids[3]})
    bid = conn.execute("SELECT id FROM bids WHERE project_id IN (?, ?, ?, ?, ?, ?) LIMIT 1", ids).fetchone()
    if bid:
        supplier = conn.execute("SELECT id FROM suppliers ORDER BY id DESC LIMIT 1").fetchone()[0]
        conn.execute("UPDATE OR IGNORE bid_tenderers SET supplier_id = ? WHERE bid_id = ?", [supplier, bid[0]])
        conn.execute(f"UPDATE bids SET {stamp} WHERE id = :id", {"at": RUN_AT, "id": bid[0]})
    # an agency's ministry and a supplier's name amended: every project that shows them changes
    conn.execute(f"UPDATE agencies SET ministry = 'กระทรวงทดสอบ', {stamp} WHERE id = "
                 "(SELECT buyer_id FROM projects WHERE project_id = :id)", {"at": RUN_AT, "id": ids[4]})
    conn.execute(f"UPDATE suppliers SET name_th = name_th || ' จำกัด', {stamp} WHERE id = "
                 "(SELECT supplier_id FROM contracts WHERE project_id = :id LIMIT 1)", {"at": RUN_AT, "id": ids[5]})
    # a new project, copied from one with a contract, under another agency
    conn.execute("""INSERT INTO projects SELECT 'NEW-' || project_id, title, project_type, main_procurement_category,
                     ?, procuring_entity_id, sub_agency, method, method_group, method_id_raw, ocds_method, fiscal_year,
                     announce_date, tender_start, tender_end, tender_status, number_of_tenderers, budget,
                     reference_price, currency, status, province, district, subdistrict, location_wkt, source,
                     source_url, fetched_at, content_sha256, ?, ? FROM projects WHERE project_id = ?""",
                 [other_buyer, RUN_AT, RUN_AT, ids[2]])
    conn.execute("""INSERT INTO contracts SELECT 'NEW-' || id, 'NEW-' || project_id, NULL, contract_no, supplier_id,
                     supplier_name, award_amount, contract_amount, currency, signed_date, end_date, status, source,
                     source_url, fetched_at, content_sha256, ?, ? FROM contracts WHERE project_id = ?""",
                 [RUN_AT, RUN_AT, ids[2]])
    agency = conn.execute("SELECT buyer_id FROM projects WHERE project_id = ?", [ids[4]]).fetchone()[0]
    supplier = conn.execute("SELECT supplier_id FROM contracts WHERE project_id = ? LIMIT 1", [ids[5]]).fetchone()[0]
    bid_project = [conn.execute("SELECT project_id FROM bids WHERE id = ?", bid).fetchone()[0]] if bid else []
    conn.executemany("INSERT OR IGNORE INTO run_touched VALUES (?, ?, ?)",
                     [(run, "project", p) for p in (*ids[:4], *bid_project, f"NEW-{ids[2]}")]
                     + [(run, "agency", agency), (run, "supplier", supplier)])
    conn.execute("COMMIT")
    conn.close()
    return ids


def tables(path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    out = {}
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for name in names:
        if name in ("meta", "builds") or "_fts" in name:
            continue
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info([{name}])") if r[1] not in MOMENTS]
        rows = conn.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM [{name}]").fetchall()
        out[name] = sorted((tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row) for row in rows),
                           key=repr)
    conn.close()
    return out


def test_incremental_build_writes_the_same_tables_as_a_full_build(built, tmp_path):
    full, incremental = tmp_path / "full.db", tmp_path / "incremental.db"
    shutil.copyfile(built, full)
    shutil.copyfile(built, incremental)
    load(full)
    load(incremental)
    lines = []
    run_build(full, full=True, echo=lines.append)
    assert lines[0] == "build: full"
    lines.clear()
    run_build(incremental, echo=lines.append)
    assert lines[0].startswith("build: incremental")
    expected, got = tables(full), tables(incremental)
    assert expected.keys() == got.keys()
    differ = [name for name in expected if expected[name] != got[name]]
    assert not differ, f"tables differ: {differ}"
    assert "agg_state_proj" in got and len(got["project_awards"]) > 1000
    assert searches(incremental) == searches(full)


def searches(path) -> dict[tuple[str, str], set]:
    """What each term finds in each search index, by the indexed table's own key."""
    from prongsai.derive.search_index import SEARCHES, fts_table, text_table

    conn = sqlite3.connect(path)
    text_key = {t: [r[1] for r in conn.execute(f"PRAGMA table_info([{text_table(t)}])")][0] for t in SEARCHES}
    found = {(t, term): {r[0] for r in conn.execute(
        f"SELECT [{key}] FROM [{text_table(t)}] WHERE [{text_key[t]}] IN "
        f"(SELECT rowid FROM [{fts_table(t)}] WHERE [{fts_table(t)}] MATCH ?)", [f'"{term}"'])}
        for t, (key, _) in SEARCHES.items() for term in TERMS}
    conn.close()
    assert any(found.values())
    return found


def test_a_build_with_nothing_loaded_changes_nothing(built, tmp_path):
    again = tmp_path / "again.db"
    shutil.copyfile(built, again)
    lines = []
    run_build(again, echo=lines.append)
    assert lines[0] == "build: incremental, 0 projects changed" or lines[0].startswith("build: incremental, 0 ")
    assert any(line.startswith("build: flags in ") and line.endswith(" (0 projects changed with it)") for line in lines)
    assert tables(again) == tables(built)


def linked(path, supplier: str) -> set[str]:
    """The projects whose contracts, awards or bids name ``supplier``."""
    conn = sqlite3.connect(path)
    found = {r[0] for r in conn.execute(
        "SELECT project_id FROM contracts WHERE supplier_id = :s UNION SELECT a.project_id FROM award_suppliers s "
        "JOIN awards a ON a.id = s.award_id WHERE s.supplier_id = :s UNION SELECT b.project_id FROM bid_tenderers t "
        "JOIN bids b ON b.id = t.bid_id WHERE t.supplier_id = :s", {"s": supplier})}
    conn.close()
    return found


def test_a_damaged_supplier_given_a_twin_rebuilds_its_projects_alone(built, tmp_path):
    """Only the projects whose links the reconcile step moves; the same tables as a full build."""
    full, incremental = tmp_path / "full.db", tmp_path / "incremental.db"
    for path in (full, incremental):
        shutil.copyfile(built, path)
        damaged, *_ = give_a_twin(path)
    moved = linked(incremental, damaged)
    run_build(full, full=True, echo=lambda line: None)
    lines = []
    run_build(incremental, echo=lines.append)
    assert f"({len(moved):,} projects changed with it)" in next(line for line in lines if line.startswith("build: flags"))
    expected, got = tables(full), tables(incremental)
    assert [name for name in expected if expected[name] != got[name]] == []
    assert len(got["supplier_twins"]) == 1


def test_changed_projects_come_from_the_loads_since_the_previous_build(built, tmp_path):
    from prongsai.core.schema import open_db
    from prongsai.derive.build import changed_projects

    copy = tmp_path / "copy.db"
    shutil.copyfile(built, copy)
    ids = load(copy)
    db = open_db(copy, create=False)
    changed = changed_projects(db)
    by_agency = {r[0] for r in db.execute(
        "SELECT project_id FROM projects WHERE buyer_id = (SELECT buyer_id FROM projects WHERE project_id = ?)",
        [ids[4]])}
    db.close()
    assert set(ids[:4]) <= changed and f"NEW-{ids[2]}" in changed and by_agency <= changed
    assert len(changed) < 1000


def test_a_first_load_since_makes_the_next_build_a_full_one(built, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copyfile(built, copy)
    conn = sqlite3.connect(copy)
    with conn:
        run = conn.execute("INSERT INTO source_runs (source, started_at, status) VALUES ('demo', ?, 'ok')",
                           [RUN_AT]).lastrowid
        conn.execute("INSERT INTO run_touched VALUES (?, 'all', '')", [run])
    conn.close()
    lines = []
    run_build(copy, echo=lines.append)
    assert lines[0] == "build: full"


def test_full_build_when_the_flag_settings_change(built, tmp_path):
    from prongsai.derive.flags.settings import DEFAULT_CARDINAL

    same, other = tmp_path / "same.ini", tmp_path / "other.ini"
    text = DEFAULT_CARDINAL.read_text(encoding="utf-8")
    same.write_text(text + "\n; the same settings in another file\n", encoding="utf-8")
    other.write_text(text.replace("[R003]\n; threshold = 15", "[R003]\nthreshold = 20"), encoding="utf-8")
    copy = tmp_path / "copy.db"
    shutil.copyfile(built, copy)
    lines = []
    run_build(copy, flag_settings=same, echo=lines.append)
    assert lines[0].startswith("build: incremental")
    run_build(copy, flag_settings=other, echo=lines.append)
    assert "build: full" in lines


def test_the_build_cache_is_a_share_of_memory_never_below_the_floor(tmp_path):
    from prongsai.derive.build import CACHE_FLOOR_KIB, cache_kib, memory_bytes

    assert cache_kib(1 << 30) == CACHE_FLOOR_KIB == 256 << 10  # a 1 GB Fly machine: 256 MiB
    assert cache_kib(16 << 30) == 4 << 20                      # 16 GiB: a quarter, in KiB
    machine = memory_bytes(tmp_path / "absent")
    assert machine > 0
    limit = tmp_path / "memory.max"
    limit.write_text("max\n")                                  # a container without a limit
    assert memory_bytes(limit) == machine
    limit.write_text(f"{1 << 30}\n")                           # a container of 1 GiB on a bigger host
    assert memory_bytes(limit) == min(machine, 1 << 30)
