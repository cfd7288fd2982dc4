"""The flags build on the demo database, its settings, explanations, scores and exports."""
from __future__ import annotations

import json
import sqlite3

import pytest

from prongsai.cli import cli
from prongsai.core.errors import UserError
from prongsai.derive.flags import scores
from prongsai.derive.flags.build import build
from prongsai.derive.flags.cardinal import quantile
from prongsai.derive.flags.definitions import CARDINAL_CODES, FLAGS, THAI_CODES
from prongsai.derive.flags.explain import explain
from prongsai.derive.flags.settings import load_cardinal, load_thai


def test_every_flag_finds_rows_in_the_demo(demo_db):
    db = sqlite3.connect(demo_db)
    found = {code for (code,) in db.execute("SELECT code FROM red_flags UNION SELECT code FROM org_flags")}
    assert found == set(FLAGS)
    assert db.execute("SELECT count(*) FROM flag_definitions").fetchone()[0] == len(FLAGS) == 26
    assert db.execute("SELECT count(*) FROM flag_definitions WHERE cardinal_code IS NOT NULL").fetchone()[0] == 11
    # R024 and R058 share Cardinal's fences, computed over the whole database
    fence = json.loads(db.execute("SELECT threshold FROM flag_definitions WHERE code = 'R024'").fetchone()[0])
    assert fence["meta"]["lower_fence"] > 0


def test_every_evidence_explains_in_both_languages(demo_db):
    db = sqlite3.connect(demo_db)
    rows = db.execute("SELECT code, evidence FROM red_flags UNION ALL SELECT code, evidence FROM org_flags")
    seen = set()
    for code, evidence in rows:
        if code in seen:
            continue
        seen.add(code)
        th, en = explain(code, evidence, "th"), explain(code, evidence, "en")
        assert "{" not in th + en
        assert th not in (FLAGS[code].title_th,) and en != FLAGS[code].title_en, code  # filled, not a fallback
    assert seen == set(FLAGS)


def test_explanation_example_from_the_issue():
    evidence = {"award_amount": 4_990_000, "reference_price": 5_000_000, "pct_below": 0.2}
    assert explain("TH01", evidence, "th") == "ราคาที่ตกลง 4,990,000 บาท ต่ำกว่าราคากลาง 5,000,000 บาท เพียง 0.2%"
    assert explain("TH01", json.dumps(evidence), "en") == ("awarded at 4,990,000 baht, only 0.2% below the reference "
                                                           "price of 5,000,000 baht")
    assert explain("TH01", {}, "en") == FLAGS["TH01"].title_en  # missing numbers: the title, never "{...}"


def test_risk_scores_follow_the_documented_formula(demo_db):
    db = sqlite3.connect(demo_db)
    severity = {code: f.severity for code, f in FLAGS.items()}
    rows = db.execute("SELECT project_id, score, codes FROM risk_scores").fetchall()
    assert rows
    for project_id, score, codes in rows[:500]:
        assert score == pytest.approx(scores.score(severity[c] for c in codes.split(",")), abs=1e-9)
        assert 0 < score <= 100
    assert scores.score(["high"]) == 45.0 and scores.score(["high", "medium"]) == 58.8
    unflagged = db.execute("SELECT count(*) FROM projects WHERE project_id NOT IN "
                           "(SELECT project_id FROM red_flags)").fetchone()[0]
    assert db.execute("SELECT count(*) FROM risk_scores").fetchone()[0] == 3000 - unflagged


def test_quantile_is_statrs_type_8():
    assert quantile([1, 99, 99, 99, 99], 0.25) == pytest.approx(66.3333333)
    assert quantile([1, 99, 99, 99, 99], 0.75) == 99
    assert quantile([5.0], 0.25) == 5.0
    assert quantile([], 0.5) != quantile([], 0.5)  # NaN


def test_default_settings_enable_all_eleven_and_all_thai_flags():
    assert set(CARDINAL_CODES) <= set(load_cardinal())
    assert set(load_thai()) == set(THAI_CODES)


def test_unknown_setting_is_an_error_naming_it(tmp_path, tmp_db):
    bad = tmp_path / "settings.ini"
    bad.write_text("[R024]\nthreshhold = 0.1\n")
    with pytest.raises(UserError, match="threshhold"):
        build(tmp_db, settings_path=bad)
    bad.write_text("[R099]\n")
    with pytest.raises(UserError, match=r"\[R099\]"):
        load_cardinal(bad)
    bad.write_text("[TH01]\nmax_pct_below = lots\n")
    with pytest.raises(UserError, match="max_pct_below"):
        load_thai(bad)


def test_thai_settings_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "thai.ini"
    path.write_text("[TH03]\nmin_pct_below = 40\n")
    monkeypatch.setenv("PRONGSAI_THAI_FLAG_SETTINGS", str(path))
    assert load_thai() == {"TH03": {"min_pct_below": 40.0}}


def test_a_failed_build_keeps_the_previous_flags(tmp_path, demo_db, monkeypatch):
    import shutil

    from prongsai.core.schema import open_db

    path = tmp_path / "copy.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    before = db.execute("SELECT count(*), total(value) FROM red_flags").fetchone()

    def broken(conn, target, pairs, computed_at):
        conn.execute(f"DROP TABLE {target}")  # red_flags is replaced, then copying the scores fails

    monkeypatch.setattr(scores, "insert", broken)
    with pytest.raises(sqlite3.OperationalError, match="no such table: second_staged.risk_scores"):
        build(db)
    assert db.execute("SELECT count(*), total(value) FROM red_flags").fetchone() == before
    assert db.execute("SELECT count(*) FROM flag_definitions").fetchone()[0] == len(FLAGS)
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_table_of_an_older_definition_is_replaced_with_its_rows(tmp_path, demo_db):
    import shutil

    from prongsai.core.schema import open_db
    from prongsai.derive.flags.build import DERIVED

    path = tmp_path / "copy.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    expected = db.execute("SELECT count(*), total(mean_price) FROM unit_price_agencies").fetchone()
    db.execute("DROP TABLE unit_price_agencies")  # as built before it was keyed as the portal reads it
    db.execute("CREATE TABLE unit_price_agencies (item_class TEXT, unit TEXT, fiscal_year INTEGER, buyer_id TEXT, "
               "purchases INTEGER, mean_price REAL, max_price REAL, ratio_to_median REAL)")
    db.execute("CREATE INDEX idx_unit_price_agencies_0 ON unit_price_agencies (item_class, buyer_id)")
    build(db)
    sql = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'unit_price_agencies'")]
    assert sql == [f"CREATE TABLE unit_price_agencies {DERIVED['unit_price_agencies']}"]
    got = db.execute("SELECT count(*), total(mean_price) FROM unit_price_agencies").fetchone()
    assert got[0] == expected[0] > 0 and got[1] == pytest.approx(expected[1])


def test_every_database_of_a_build_connection_has_its_cache_and_no_secure_delete(tmp_path, demo_db, monkeypatch):
    import shutil

    from prongsai.core.schema import open_db
    from prongsai.derive.flags import build as flags_build

    path = tmp_path / "copy.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    db.execute("PRAGMA cache_size = -1234")
    seen = []
    original = flags_build.applicability.count_testable

    def spy(conn, enabled):
        seen.extend((conn.execute(f"PRAGMA {name}.cache_size").fetchone()[0],
                     conn.execute(f"PRAGMA {name}.secure_delete").fetchone()[0])
                    for _, name, _ in conn.execute("PRAGMA database_list").fetchall())
        original(conn, enabled)

    monkeypatch.setattr(flags_build.applicability, "count_testable", spy)
    build(db)
    assert len(seen) == 2 + len(flags_build.SCRATCH) and set(seen) == {(-flags_build.CACHE_KIB, 0)}
    assert db.execute("PRAGMA cache_size").fetchone()[0] == -1234  # the caller's own is kept


@pytest.mark.parametrize("module, name", [
    ("base", "create_bids"),        # first connection, while the second builds the award tables
    ("base", "create_awards"),      # second connection, before the first may read its tables
    ("thai", "facts"),              # second connection, once both are under way
    ("cardinal", "quantile"),       # whichever connection computes a fence, near the end
])
def test_an_error_on_either_connection_stops_the_build(tmp_path, demo_db, monkeypatch, module, name):
    import importlib
    import shutil
    import threading

    from prongsai.core.schema import open_db

    path = tmp_path / "copy.db"
    shutil.copy(demo_db, path)
    before = open_db(path).execute("SELECT count(*), total(value) FROM red_flags").fetchone()

    def broken(*args, **kwargs):
        raise RuntimeError(f"broken {name}")

    monkeypatch.setattr(importlib.import_module(f"prongsai.derive.flags.{module}"), name, broken)
    raised = []

    def run():
        try:
            build(open_db(path))
        except RuntimeError as exc:
            raised.append(str(exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the build hung: one connection waits for the other"
    assert raised == [f"broken {name}"]
    assert open_db(path).execute("SELECT count(*), total(value) FROM red_flags").fetchone() == before


def test_export_flags_cardinal_layout(runner, demo_db, tmp_path):
    out = tmp_path / "flags.json"
    result = runner.invoke(cli, ["export", "flags", "--db", str(demo_db), "--format", "cardinal", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) <= {"OCID", "Buyer", "ProcuringEntity", "Tenderer"} and "Meta" not in data
    assert set(data) == {"OCID", "Buyer", "ProcuringEntity", "Tenderer"}
    codes = {code for group in data.values() for flags in group.values() for code in flags}
    assert codes == set(CARDINAL_CODES)
    assert all(ocid.startswith("ocds-prongsai-") for ocid in data["OCID"])
    assert {v for flags in data["Tenderer"].values() for c, v in flags.items() if c == "R035"} == {0.0}
    stdout = runner.invoke(cli, ["export", "flags", "--db", str(demo_db)])
    assert json.loads(stdout.stdout) == data
    assert "not proof" in stdout.stderr


def test_export_flags_needs_a_build(runner, tmp_db, tmp_path):
    result = runner.invoke(cli, ["export", "flags", "--db", str(tmp_path / "procurement.db")])
    assert result.exit_code != 0 and "prongsai build" in result.output


def test_flags_explain_command(runner):
    result = runner.invoke(cli, ["flags", "explain", "th01"])
    assert result.exit_code == 0
    assert "TH01 ราคาที่ตกลงใกล้ราคากลาง" in result.output and "Award just below the reference price" in result.output
    assert "not proof" in result.output
    result = runner.invoke(cli, ["flags", "explain", "R024", "--lang", "en"])
    assert "OCP Cardinal indicator R024" in result.output and "ราคา" not in result.output
    result = runner.invoke(cli, ["flags", "explain", "list"])
    assert all(code in result.output for code in FLAGS)
    result = runner.invoke(cli, ["flags", "explain", "R999"])
    assert result.exit_code != 0 and "unknown flag" in result.output


def test_flags_explain_shows_applicability_from_a_built_database(runner, demo_db):
    result = runner.invoke(cli, ["flags", "explain", "TH06", "--lang", "en", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert "needs: bids or the number of tenderers" in result.output
    assert "testable projects" in result.output and "probably mis-calibrated" in result.output
    result = runner.invoke(cli, ["flags", "explain", "TH01", "--lang", "th", "--db", str(demo_db)])
    assert "ที่ตรวจได้" in result.output and "เกณฑ์อาจไม่เหมาะ" not in result.output
