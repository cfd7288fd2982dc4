"""datagoth: the real data.go.th sample, both file generations, every documented trap, faults."""
from __future__ import annotations

import io
import json
import re
import sqlite3

import pytest
import requests
import responses
from conftest import FIXTURES, SHARED, needs_shared

from prongsai.cli import cli
from prongsai.core.errors import UserError
from prongsai.core.schema import open_db, set_meta
from scrapers import datagoth
from scrapers.http import Client
from scrapers.store import LayoutError, ScrapeError

REAL = SHARED / "data" / "thai" / "egp-contracts-datagoth-dronemarket" / "ics_egp_contracts.csv"
FIX = FIXTURES / "datagoth"
A, B, C = "0105556123453", "0103556987651", "0994000123451"  # valid ids in the fixtures


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "procurement.db"


def q(db_path, sql, *args):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def one(db_path, sql, *args):
    rows = q(db_path, sql, *args)
    assert len(rows) == 1, rows
    return rows[0]


# --- the real file ------------------------------------------------------------------------

@needs_shared
def test_real_sample_loads_every_row(db_path):
    run = datagoth.load_file(db_path, REAL)
    assert (run.rows_in, run.rows_quarantined) == (5, 0)
    assert q(db_path, "SELECT count(*) FROM projects") == [(5,)]
    assert q(db_path, "SELECT count(*) FROM contracts") == [(5,)]
    assert one(db_path, "SELECT value FROM meta WHERE key = 'dataset'") == ("real",)
    assert one(db_path, "SELECT status, rows_in, target_sha256 IS NOT NULL FROM source_runs") == ("ok", 5, 1)


@needs_shared
def test_real_sample_both_date_formats_and_dash(db_path):
    datagoth.load_file(db_path, REAL)
    assert one(db_path, "SELECT signed_date, end_date FROM contracts WHERE project_id = '64097344169'") == (
        "2021-09-15", "2021-10-06")                                  # 15-ก.ย.-64
    assert one(db_path, "SELECT signed_date, end_date FROM contracts WHERE project_id = '67119524444'") == (
        "2025-01-17", "2025-03-18")                                  # 17 ม.ค. 68
    assert one(db_path, "SELECT announce_date FROM projects WHERE project_id = '64097344169'") == (None,)  # -
    assert one(db_path, "SELECT announce_date FROM projects WHERE project_id = '65117587281'") == ("2022-12-13",)


@needs_shared
def test_real_sample_method_columns_swapped_in_fy2568(db_path):
    datagoth.load_file(db_path, REAL)
    methods = dict(q(db_path, "SELECT project_id, method || '|' || method_group || '|' || ocds_method FROM projects"))
    assert methods["67119524444"] == "เฉพาะเจาะจง|เฉพาะเจาะจง|limited"      # FY2568: method in the group column
    assert methods["64097344169"] == "เฉพาะเจาะจง|เฉพาะเจาะจง|limited"      # FY2564: method in the method column
    assert methods["65117587281"] == "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)|ประกาศเชิญชวนทั่วไป|open"


@needs_shared
def test_real_sample_tax_ids_damaged_then_intact(db_path):
    datagoth.load_file(db_path, REAL)
    rows = q(db_path, "SELECT id, tax_id, tax_id_raw, tax_id_status FROM suppliers ORDER BY tax_id_status")
    assert rows[0][1:] == (None, "3.0556E+11", "damaged") and rows[0][0].startswith("x:")
    assert rows[1] == ("0305560001659", "0305560001659", "0305560001659", "ok")
    assert one(db_path, "SELECT province, fiscal_year, budget, reference_price, currency FROM projects "
                        "WHERE project_id = '67069142413'") == ("นนทบุรี", 2567, 400000.0, 400000.0, "THB")


# --- generation A fixture: the traps ---------------------------------------------------------

@pytest.fixture
def loaded_a(db_path):
    datagoth.load_file(db_path, FIX / "fy2566_31cols.csv")
    return db_path


def test_one_project_several_contracts(loaded_a):
    assert q(loaded_a, "SELECT count(*) FROM projects WHERE project_id = '66027002002'") == [(1,)]
    assert q(loaded_a, "SELECT id, supplier_id, contract_amount FROM contracts WHERE project_id = '66027002002' "
                       "ORDER BY id") == [("66027002002/ทช.ลป. 5/2566", A, 3000000.0),
                                          ("66027002002/ทช.ลป. 6/2566", B, 1800000.0)]
    assert one(loaded_a, "SELECT id, amount FROM awards WHERE project_id = '66027002002'") == (
        "66027002002/1", 4800000.0)
    assert q(loaded_a, "SELECT supplier_id FROM award_suppliers WHERE award_id = '66027002002/1' ORDER BY 1") == [
        (B,), (A,)]


def test_agreed_price_zero_means_no_winner_yet(loaded_a):
    assert one(loaded_a, "SELECT budget, status FROM projects WHERE project_id = '66097003003'") == (
        900000.0, "หนังสือเชิญชวน/ประกาศเชิญชวน")
    assert q(loaded_a, "SELECT count(*) FROM awards WHERE project_id = '66097003003'") == [(0,)]
    assert q(loaded_a, "SELECT count(*) FROM contracts WHERE project_id = '66097003003'") == [(0,)]
    assert q(loaded_a, "SELECT count(*) FROM awards WHERE amount = 0") == [(0,)]


def test_masked_and_damaged_ids_never_look_valid_nor_merge(loaded_a):
    masked = one(loaded_a, "SELECT s.id, s.tax_id, s.tax_id_status FROM suppliers s JOIN contracts c "
                           "ON c.supplier_id = s.id WHERE c.project_id = '66107004004'")
    assert masked[0].startswith("x:") and masked[1:] == (None, "masked")
    damaged = q(loaded_a, "SELECT DISTINCT supplier_id FROM contracts WHERE project_id IN "
                          "('66017001001', '66107005005')")
    assert len(damaged) == 2  # two companies behind one damaged id stay two suppliers
    assert q(loaded_a, "SELECT count(*) FROM suppliers WHERE tax_id_status = 'damaged' AND tax_id IS NULL") == [(2,)]


def test_supplier_names_normalised(loaded_a):
    assert one(loaded_a, "SELECT name_th, name_normalized FROM suppliers WHERE name_th LIKE '%สิทธิยนต์'") == (
        "ห้างหุ้นส่วนจำกัด ห้างหุ้นส่วนจำกัด สิทธิยนต์", "ห้างหุ้นส่วนจำกัด สิทธิยนต์")
    assert one(loaded_a, "SELECT name_normalized FROM suppliers WHERE id = ?", B) == (
        "ห้างหุ้นส่วนจำกัด วังเหนือก่อสร้าง (กิจการร่วมค้า)",)


def test_thai_digits_in_dates(loaded_a):
    assert one(loaded_a, "SELECT date FROM awards WHERE project_id = '66107004004'") == ("2023-10-02",)


def test_agencies_keyed_by_normalised_name_and_locations(loaded_a):
    assert one(loaded_a, "SELECT buyer_id, procuring_entity_id, sub_agency, district, subdistrict, "
                         "main_procurement_category FROM projects WHERE project_id = '66017001001'") == (
        "name:กรมชลประทาน", "name:กรมชลประทาน", "สำนักงานชลประทานที่ 1", "เมืองเชียงใหม่", "ศรีภูมิ", "goods")
    wkt = dict(q(loaded_a, "SELECT project_id, location_wkt FROM projects WHERE location_wkt IS NOT NULL"))
    assert wkt == {"66027002002": "LINESTRING(99.49 18.29, 99.51 18.30)"}  # first row of the project wins


def test_rerun_changes_nothing_and_amendment_is_logged(loaded_a, tmp_path):
    again = datagoth.load_file(loaded_a, FIX / "fy2566_31cols.csv")
    assert again.rows_changed == 0
    amended = tmp_path / "amended.csv"
    amended.write_bytes((FIX / "fy2566_31cols.csv").read_bytes().replace(b",3000000,", b",3100000,"))
    run = datagoth.load_file(loaded_a, amended)
    assert run.rows_changed == 1
    assert q(loaded_a, "SELECT table_name, row_id, project_id, field, old_value, new_value, source_run_id "
                       "FROM changes") == [("contracts", "66027002002/ทช.ลป. 5/2566", "66027002002",
                                            "contract_amount", "3000000.0", "3100000.0", run.id)]
    assert q(loaded_a, "SELECT count(DISTINCT first_seen) FROM contracts") == [(1,)]


def test_files_that_name_an_agency_or_winner_differently_rerun_without_changes(db_path):
    files = [FIX / n for n in ("fy2566_31cols.csv", "fy2568_26headers.csv", "fy2568_31headers.csv")]
    for path in files:
        datagoth.load_file(db_path, path)
    assert [datagoth.load_file(db_path, path).rows_changed for path in files] == [0, 0, 0]
    assert q(db_path, "SELECT count(*) FROM changes") == [(0,)]
    assert one(db_path, "SELECT name_th FROM suppliers WHERE id = ?", B) == (  # as first seen
        "ห้างหุ้นส่วนจำกัด วังเหนือก่อสร้าง (สัญญากิจการค้าร่วม)",)


def _amended(tmp_path, *replacements):
    data = (FIX / "fy2566_31cols.csv").read_text(encoding="utf-8-sig")
    for old, new in replacements:
        assert old in data
        data = data.replace(old, new)
    path = tmp_path / "amended.csv"
    path.write_text(data, encoding="utf-8-sig")
    return path


B_ROW = "0103556987651,ห้างหุ้นส่วนจำกัด วังเหนือก่อสร้าง (สัญญากิจการค้าร่วม)"
A_ROW = "0105556123453,บริษัท ลำปางโยธา จำกัด"


def test_changed_winner_replaces_the_award_link(loaded_a, tmp_path):
    award = "66027002002/1"
    assert q(loaded_a, "SELECT supplier_id FROM award_suppliers WHERE award_id = ? ORDER BY 1", award) == [(B,), (A,)]
    run = datagoth.load_file(loaded_a, _amended(tmp_path, (B_ROW, f"{C},บริษัท เชียงใหม่ก่อสร้าง จำกัด")))
    assert q(loaded_a, "SELECT supplier_id FROM award_suppliers WHERE award_id = ? ORDER BY 1", award) == [(A,), (C,)]
    assert q(loaded_a, "SELECT table_name, row_id, field, old_value, new_value FROM changes "
                       "WHERE field IN ('supplier_id', '(removed)') ORDER BY id") == [
        ("contracts", "66027002002/ทช.ลป. 6/2566", "supplier_id", B, C),
        ("award_suppliers", award, "(removed)", B, None)]
    assert run.rows_changed == 4  # the contract, the new supplier, its link, the old link removed


def test_a_winner_e_gp_still_names_keeps_its_award_link(loaded_a, tmp_path):
    from scrapers.store import SourceRun

    with SourceRun(loaded_a, "egp-json") as run:  # e-GP's bidders: B's bid won
        run.upsert("bids", {"id": f"66027002002/1/{B}", "project_id": "66027002002", "is_winner": 1})
        run.link("bid_tenderers", {"bid_id": f"66027002002/1/{B}", "supplier_id": B})
    datagoth.load_file(loaded_a, _amended(tmp_path, (B_ROW, f"{C},บริษัท เชียงใหม่ก่อสร้าง จำกัด")))
    assert q(loaded_a, "SELECT supplier_id FROM award_suppliers WHERE award_id = '66027002002/1' ORDER BY 1") == [
        (B,), (A,), (C,)]
    assert q(loaded_a, "SELECT count(*) FROM changes WHERE field = '(removed)'") == [(0,)]


def test_winners_swapped_between_contracts_keep_both_links(loaded_a, tmp_path):
    datagoth.load_file(loaded_a, _amended(tmp_path, (B_ROW, "@"), (A_ROW, B_ROW), ("@", A_ROW)))
    assert q(loaded_a, "SELECT contract_no, supplier_id FROM contracts WHERE project_id = '66027002002' "
                       "ORDER BY 1") == [("ทช.ลป. 5/2566", B), ("ทช.ลป. 6/2566", A)]
    assert q(loaded_a, "SELECT supplier_id FROM award_suppliers WHERE award_id = '66027002002/1' ORDER BY 1") == [
        (B,), (A,)]
    assert q(loaded_a, "SELECT count(*) FROM changes WHERE field = '(removed)'") == [(0,)]


# --- generation B: 26/31 headers on 28 cells ---------------------------------------------------

@pytest.mark.parametrize("name", ["fy2568_26headers.csv", "fy2568_31headers.csv"])
def test_fy2568_headers_on_28_cells_are_mapped_by_row_shape(db_path, name):
    run = datagoth.load_file(db_path, FIX / name)
    assert (run.rows_in, run.rows_quarantined) == (3, 0)
    assert one(db_path, "SELECT supplier_id, supplier_name, contract_no, signed_date, contract_amount "
                        "FROM contracts WHERE project_id = '67129100002'") == (
        A, "บริษัท ลำปางโยธา จำกัด", "ขก 3/2568", "2025-02-14", 2390000.0)
    assert one(db_path, "SELECT province, district, subdistrict, status, location_wkt, method, ocds_method, "
                        "fiscal_year FROM projects WHERE project_id = '67129100002'") == (
        "ขอนแก่น", "เมืองขอนแก่น", "ในเมือง", "ระหว่างดำเนินการ", "POINT(102.83 16.43)",
        "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "open", 2568)
    assert q(db_path, "SELECT tax_id_status, count(*) FROM suppliers GROUP BY 1") == [("ok", 3)]


def test_zipping_the_fy2568_header_blindly_would_shift_columns():
    """The trap itself: the header names do not sit on their cells."""
    lines = (FIX / "fy2568_31headers.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)
    import csv
    header, first = list(csv.reader(lines[:2]))
    zipped = dict(zip(header, first))
    assert zipped["ชื่อผู้ชนะ"] != "บริษัท ไอครีเอทีฟซิสเตมส์ จำกัด"
    rows = list(datagoth.parse(lines, "f.csv"))
    assert rows[0].record["ชื่อผู้ชนะ"] == "บริษัท ไอครีเอทีฟซิสเตมส์ จำกัด"
    assert rows[0].record["เลขนิติบุคคล"] == C


def test_bom_is_stripped_even_from_already_decoded_text():
    text = (FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8")  # BOM kept as U+FEFF
    header, _, rest = text.partition("\r\n")
    header = header.replace("ลำดับ,", "", 1)  # a file whose first column is a required one
    rest = "\r\n".join(line.split(",", 1)[1] for line in rest.split("\r\n") if line)
    rows = list(datagoth.parse(io.StringIO(header + "\r\n" + rest), "bom.csv"))
    assert header.startswith("\ufeffรหัสโครงการ")
    assert rows[0].record["รหัสโครงการ"] == "66017001001"


# --- bad input ---------------------------------------------------------------------------------

def test_renamed_column_fails_the_run_naming_the_field(loaded_a, tmp_path):
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes((FIX / "fy2566_31cols.csv").read_bytes().replace(
        "งบประมาณ(บาท)".encode(), "งบประมาณ (บาท)".encode(), 1).replace(b",120000,", b",999,"))
    with pytest.raises(LayoutError) as info:
        datagoth.load_file(loaded_a, renamed)
    message = str(info.value)
    assert "datagoth" in message and "renamed.csv" in message
    assert "column งบประมาณ(บาท)" in message and "งบประมาณ (บาท)" in message
    assert one(loaded_a, "SELECT status, error FROM source_runs ORDER BY id DESC LIMIT 1") == ("failed", message)
    assert one(loaded_a, "SELECT budget FROM projects WHERE project_id = '66017001001'") == (120000.0,)


def test_rows_of_an_unknown_shape_fail_the_run(db_path, tmp_path):
    bad = tmp_path / "bad.csv"
    text = (FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8-sig")
    bad.write_text("\r\n".join(line + ",x,y" if i else line for i, line in enumerate(text.split("\r\n")) if line),
                   encoding="utf-8")
    with pytest.raises(LayoutError, match="rows of 31 cells like the header, found rows of 33 cells"):
        datagoth.load_file(db_path, bad)


def test_malformed_row_is_quarantined_and_too_many_fail(db_path, tmp_path):
    good = (FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    header, rows = good[0], [r for r in good[1:] if r]
    body = [rows[i % len(rows)].replace("6601700", f"66{i:05d}", 1) for i in range(40)]
    body[6] = body[6].replace("3-พ.ย.-65", "31-ก.พ.-65")  # an impossible date
    path = tmp_path / "one_bad.csv"
    path.write_text("\r\n".join([header] + body), encoding="utf-8")
    run = datagoth.load_file(db_path, path)
    assert (run.rows_in, run.rows_quarantined) == (40, 1)
    location, raw, reason = one(db_path, "SELECT location, raw, reason FROM quarantine")
    assert location == f"{path}:8" and "impossible date" in reason and "วันที่เกิดรายการ" in reason
    assert json.loads(raw) == body[6].split(",")

    body[8] = body[8] + ",extra"
    body[9] = body[9].replace(",2566,", ",๒๕๖x,")
    path.write_text("\r\n".join([header] + body), encoding="utf-8")
    with pytest.raises(ScrapeError, match=r"3 of 40 rows .* malformed"):
        datagoth.load_file(db_path, path)
    assert one(db_path, "SELECT status FROM source_runs ORDER BY id DESC LIMIT 1") == ("failed",)


def test_wrong_encoding_is_a_clear_error(db_path, tmp_path):
    path = tmp_path / "tis620.csv"
    path.write_bytes((FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8-sig").encode("cp874"))
    with pytest.raises(ScrapeError, match="expected UTF-8 text.*found TIS-620 \\(cp874\\) Thai text.*"
                                          "iconv -f cp874 -t utf-8"):
        datagoth.load_file(db_path, path)


def test_empty_file(db_path, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(LayoutError, match="expected a header row, found an empty file"):
        datagoth.load_file(db_path, tmp_path / "empty.csv")


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_file_and_demo_guard(runner, tmp_path):
    db = tmp_path / "real.db"
    result = runner.invoke(cli, ["scrape", "datagoth", "--db", str(db), "--file", str(FIX / "fy2568_26headers.csv")])
    assert result.exit_code == 0, result.output
    assert "3 rows read" in result.output
    demo = tmp_path / "demo.db"
    set_meta(open_db(demo), dataset="demo")
    result = runner.invoke(cli, ["scrape", "datagoth", "--db", str(demo), "--file", str(FIX / "fy2566_31cols.csv")])
    assert result.exit_code == 1 and "DEMO database" in result.output and "Traceback" not in result.output


def test_cli_loads_every_file_and_names_the_one_that_failed(runner, tmp_path):
    db, bad = tmp_path / "p.db", tmp_path / "renamed.csv"
    bad.write_text((FIX / "fy2566_31cols.csv").read_text(encoding="utf-8-sig").replace("รหัสโครงการ", "รหัส"),
                   encoding="utf-8-sig")
    result = runner.invoke(cli, ["scrape", "datagoth", "--db", str(db), "--file", str(FIX / "fy2566_31cols.csv"),
                                 "--file", str(bad), "--file", str(FIX / "fy2568_26headers.csv")])
    assert result.exit_code == 1
    assert f"datagoth: 1 file(s) failed: {bad}: datagoth: layout changed in {bad}" in result.output
    assert q(db, "SELECT status FROM source_runs ORDER BY id") == [("ok",), ("failed",), ("ok",)]


def test_cli_help_says_what_live_use_does(runner):
    result = runner.invoke(cli, ["scrape", "datagoth", "--help"])
    assert "package_show" in result.output and "data.go.th" in result.output and "--file" in result.output
    assert "datagoth" in runner.invoke(cli, ["scrape", "--help"]).output


# --- live path with faults injected ------------------------------------------------------------

CKAN = "https://data.go.th/api/3/action/package_show"
CSV_URL = "https://data.go.th/dataset/egp/resource/r1/download/2568-egp-contract-1.csv"


def _package(url=CSV_URL, modified="2025-03-01T10:00:00"):
    return {"success": True, "result": {"name": "egp-contact-2568", "resources": [
        {"id": "r1", "name": "2568-egp-contract-1", "format": "CSV", "url": url, "last_modified": modified},
        {"id": "r0", "name": "readme", "format": "PDF", "url": "https://data.go.th/x.pdf"}]}}


@pytest.fixture
def client():
    c = Client(cache_path=None, backoff=0, sleep=lambda s: None)
    yield c
    c.close()


@pytest.fixture
def live():
    with responses.RequestsMock() as rsps:
        rsps.get("https://data.go.th/robots.txt", body="User-agent: *\nDisallow: /admin/\n")
        yield rsps


def test_live_year_tries_package_spellings_and_loads(db_path, tmp_path, client, live):
    body = (FIX / "fy2568_26headers.csv").read_bytes()
    live.get(f"{CKAN}?id=egp-contact-2568", status=404, json={"success": False})
    live.get(f"{CKAN}?id=cgd-contract-2568", status=404, json={"success": False})
    live.get(f"{CKAN}?id=cdg-contract-2568", json=_package())
    live.get(CSV_URL, status=503)
    live.get(CSV_URL, body=body)
    runs = datagoth.run_live(db_path, year=2568, client=client, raw_dir=tmp_path / "raw")
    assert [r.rows_in for r in runs] == [3]
    assert one(db_path, "SELECT DISTINCT source_url FROM contracts") == (CSV_URL,)
    assert one(db_path, "SELECT target FROM source_runs") == (CSV_URL,)
    # CKAN says unmodified: the saved copy is used (no download), found unchanged, not loaded
    live.get(f"{CKAN}?id=egp-contact-2568", json=_package())
    assert datagoth.run_live(db_path, year=2568, client=client, raw_dir=tmp_path / "raw") == []
    # modified, but the same bytes: downloaded again, sha256 unchanged, not loaded
    live.get(f"{CKAN}?id=egp-contact-2568", json=_package(modified="2025-04-01T10:00:00"))
    live.get(CSV_URL, body=body)
    assert datagoth.run_live(db_path, year=2568, client=client, raw_dir=tmp_path / "raw") == []
    assert [c.request.url for c in live.calls].count(CSV_URL) == 3  # 503, 200, 200
    assert q(db_path, "SELECT count(*) FROM source_runs") == [(1,)]


def test_live_changed_envelope_is_a_layout_error(db_path, client, live):
    live.get(f"{CKAN}?id=egp-contact-2568", json={"success": True, "result": {"name": "x", "files": []}})
    with pytest.raises(LayoutError, match=r"expected result.resources, found keys \['success', 'result'\]|"
                                          r"expected result.resources"):
        datagoth.run_live(db_path, year=2568, client=client)


def test_live_timeout_and_truncated_download_keep_existing_data(db_path, tmp_path, client, live):
    datagoth.load_file(db_path, FIX / "fy2566_31cols.csv")
    before = q(db_path, "SELECT * FROM contracts ORDER BY id")
    live.get(f"{CKAN}?id=egp-contact-2568", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UserError, match="timed out fetching https://data.go.th/api/3/action/package_show"):
        datagoth.run_live(db_path, year=2568, client=client, raw_dir=tmp_path / "raw")
    body = (FIX / "fy2568_26headers.csv").read_bytes()
    live.get(f"{CKAN}?id=egp-contact-2568", json=_package())
    for _ in range(3):
        live.get(CSV_URL, body=body[:500], headers={"Content-Length": str(len(body))},
                 auto_calculate_content_length=False)
    with pytest.raises(ScrapeError, match=r"1 file\(s\) failed: 2568-egp-contract-1: download of .* failed"):
        datagoth.run_live(db_path, year=2568, client=client, raw_dir=tmp_path / "raw")
    assert q(db_path, "SELECT * FROM contracts ORDER BY id") == before
    assert not (tmp_path / "raw" / "r1.csv").exists()


def test_cli_options_exclude_each_other(runner, tmp_path):
    result = runner.invoke(cli, ["scrape", "datagoth", "--db", str(tmp_path / "x.db"), "--year", "2568",
                                 "--file", str(FIX / "fy2566_31cols.csv")])
    assert result.exit_code == 1 and "use one of --file, --year or --url" in result.output


def _record(**changes):
    lines = (FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    record = next(iter(datagoth.parse(lines[:2], "f.csv"))).record
    record.update(changes)
    return record


def test_thai_digits_and_separators_in_amounts():
    rows = datagoth.to_records(_record(**{"งบประมาณ(บาท)": "๑,๖๓๘,๓๐๓.๗๕", "ราคากลาง(บาท)": None}))
    assert rows.rows("projects")[0]["budget"] == 1638303.75 and rows.rows("projects")[0]["reference_price"] is None
    with pytest.raises(ValueError, match=r"งบสัญญา\(บาท\): not an amount: 'สามแสน'"):
        datagoth.to_records(_record(**{"งบสัญญา(บาท)": "สามแสน"}))


def test_missing_fiscal_year_comes_from_the_dates_never_from_the_project_id():
    rows = datagoth.to_records(_record(**{"ปีงบประมาณ": None, "วันที่เกิดรายการ": "3-ต.ค.-65"}))
    assert rows.rows("projects")[0]["fiscal_year"] == 2566  # October 2022 opens FY2566
    with pytest.raises(ValueError, match="ปีงบประมาณ is not a B.E. year"):
        datagoth.to_records(_record(**{"ปีงบประมาณ": "66"}))


def test_project_id_in_thai_digits_and_garbage():
    assert datagoth.to_records(_record(**{"รหัสโครงการ": "๖๖๐๑๗๐๐๑๐๐๑"})).rows("projects")[0]["project_id"] == "66017001001"
    with pytest.raises(ValueError, match="รหัสโครงการ is not a project id"):
        datagoth.to_records(_record(**{"รหัสโครงการ": "6.6017E+10"}))
    with pytest.raises(ValueError, match="^รหัสโครงการ is empty$"):
        datagoth.to_records(_record(**{"รหัสโครงการ": None}))


# --- oversized and damaged files ------------------------------------------------------------------

def _one_line(path, megabytes, cell=b"x"):
    """A UTF-8 file of one line and no newline, written a megabyte at a time."""
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        for _ in range(megabytes):
            f.write(cell * ((1 << 20) // len(cell)))
    return path


def _stored(db_path):
    return q(db_path, "SELECT * FROM projects ORDER BY project_id"), q(db_path, "SELECT * FROM contracts ORDER BY id")


@pytest.mark.parametrize("megabytes, cell, reason", [
    (3, b"x", r"a field is longer than 1,048,576 characters"),   # one long cell, a line of 3 MB
    (6, b"x,", r"a line is longer than 4,194,304 characters"),   # short cells, a line past the line limit
])
def test_a_huge_single_line_file_is_a_clear_error_and_keeps_what_was_stored(runner, loaded_a, tmp_path,
                                                                           megabytes, cell, reason):
    before = _stored(loaded_a)
    big = _one_line(tmp_path / "big.csv", megabytes, cell)
    result = runner.invoke(cli, ["scrape", "datagoth", "--db", str(loaded_a), "--file", str(big)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "_csv.Error" not in result.output
    assert re.search(rf"datagoth: {re.escape(str(big))}: row 1: {reason} — is this a CSV export from data.go.th\?",
                     result.output), result.output
    assert _stored(loaded_a) == before
    assert q(loaded_a, "SELECT status FROM source_runs ORDER BY id DESC LIMIT 1") == [("failed",)]


def test_a_long_quoted_cell_further_down_names_its_row(db_path, tmp_path):
    lines = (FIX / "fy2566_31cols.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    cells = lines[3].split(",")
    cells[2] = '"' + "ถนน\n" * 300_000 + '"'  # a project title over many lines, 1.2 M characters
    lines[3] = ",".join(cells)
    path = tmp_path / "long.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    with pytest.raises(ScrapeError, match=r"long.csv: row 4: a field is longer than 1,048,576 characters"):
        datagoth.load_file(db_path, path)


def test_a_utf8_file_cut_mid_character_is_called_truncated_not_cp874(db_path, tmp_path):
    data = (FIX / "fy2566_31cols.csv").read_bytes().rstrip(b"\r\n")
    cut = data[:data.rindex("ม".encode()) + 1]  # the first of ม's three bytes
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    with pytest.raises(ScrapeError) as err:
        datagoth.load_file(db_path, path)
    message = str(err.value)
    assert f"ends in the middle of a UTF-8 character at byte {len(cut) - 1:,}" in message
    assert "truncated" in message and "cp874" not in message


def test_a_stray_byte_is_named_by_its_offset_not_blamed_on_cp874(db_path, tmp_path):
    data = (FIX / "fy2566_31cols.csv").read_bytes()
    at = data.index(b"\r\n", 100) + 2
    path = tmp_path / "stray.csv"
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    with pytest.raises(ScrapeError, match=rf"byte 0xFF at byte {at:,} is not UTF-8") as err:
        datagoth.load_file(db_path, path)
    assert "cp874" not in str(err.value)
