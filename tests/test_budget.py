"""budget: the real FY2565 budget-bill CSVs (KaoGeek) and อบจ. budgets (WeVis), plus injected faults."""
from __future__ import annotations

import json
import re

import pytest
import responses
from conftest import FIXTURES, SHARED, needs_shared

from prongsai.core.errors import UserError
from prongsai.core.schema import open_db
from scrapers import budget
from scrapers.http import Client, FetchError
from scrapers.store import LayoutError, ScrapeError, TooManyBadRows

KAOGEEK = SHARED / "data" / "thai" / "budget-fy2565-kaogeek"
WEVIS = SHARED / "data" / "thai" / "local-budget-pao-wevis-act"
VOLUME_17 = KAOGEEK / "2022-3-17.csv"
EXAMPLE = KAOGEEK / "output_example_v2.csv"
THAI_DIGITS = FIXTURES / "budget" / "bill_thai_digits.csv"
PAO_2565 = WEVIS / "nation-wide-2565.json"


def items(path, **kw):
    return budget.parse(path.read_bytes(), location=path.name, **kw)


@needs_shared
def test_real_volume_with_pandas_index_column():
    records = items(VOLUME_17)
    rows = records.rows("budget_items")
    assert records.rows_in == 243 and len(rows) == 243 and records.skipped == 54 and not records.bad
    first = rows[0]
    assert first == {
        "id": "bill:2022.3.17.0", "fiscal_year": 2565, "level": "national", "ministry": "หน่วยงานอื่นของรัฐ",
        "budgetary_unit": "สำนักงานคณะกรรมการการแข่งขันทางการค้า",
        "agency_id": "name:สำนักงานคณะกรรมการการแข่งขันทางการค้า", "scope": "nation", "plan": "แผนงานบุคลากรภาครัฐ",
        "output": None, "project": None, "category": "งบเงินอุดหนุน",
        "description": "เงินอุดหนุนทั่วไป > ค่าใช้จ่ายบุคลากร", "amount": 78_459_000, "currency": "THB",
        "source_doc": "2022.3.17", "source_page": 11, "instalment_of_bill": None}


@needs_shared
def test_reference_example_with_bom_and_upper_case_booleans():
    rows = items(EXAMPLE).rows("budget_items")
    assert [r["id"] for r in rows][:2] == ["bill:2022.3.5-1", "bill:2022.3.5-2"]
    assert rows[0]["ministry"] == "กระทรวงคมนาคม"  # not '\ufeffITEM_ID' trouble
    assert rows[0]["amount"] == 21_905_000 and rows[0]["source_page"] == 67


@needs_shared
def test_only_the_bills_own_year_of_a_multi_year_obligation_is_loaded():
    records = items(EXAMPLE)
    rows = records.rows("budget_items")
    study = [r for r in rows if r["description"] and r["description"].startswith("ค่าจ้างศึกษาการกำกับ")]
    assert [(r["fiscal_year"], r["amount"]) for r in study if r["instalment_of_bill"] is None] == [(2565, 5_050_000)]
    assert {r["fiscal_year"] for r in study if r["instalment_of_bill"] == 2565} >= {2563, 2564}  # kept, labelled
    assert (records.rows_in, records.skipped, len(rows)) == (10, 4, 10) and not records.bad


@needs_shared
def test_real_volume_sums_only_fy2565_money():
    records = items(KAOGEEK / "2022-3-1.csv")
    rows = records.rows("budget_items")
    own = [r for r in rows if r["instalment_of_bill"] is None]
    assert {r["fiscal_year"] for r in own} == {2565} and len(own) == 1915
    assert (len(rows), records.skipped) == (2598, 2598 - 1915)
    assert {r["instalment_of_bill"] for r in rows if r not in own} == {2565}


def test_thai_digits_in_amount_year_and_page():
    row = items(THAI_DIGITS).rows("budget_items")[0]
    assert (row["amount"], row["fiscal_year"], row["source_page"]) == (1_208_400, 2565, 67)


def test_ocr_flagged_row_is_kept_as_published_and_bad_amount_quarantined():
    records = items(THAI_DIGITS)
    assert "งบรายจ่ายอื่น เอิน" in {r["category"] for r in records.rows("budget_items")}
    (location, raw, reason), = records.bad
    assert location == "bill_thai_digits.csv:7" and "ไม่ระบุ" in raw and reason == "AMOUNT: not an amount: 'ไม่ระบุ'"


@needs_shared
def test_renamed_column_is_a_layout_error_naming_it():
    data = EXAMPLE.read_bytes().replace(b",AMOUNT,", b",AMOUNT_BAHT,")
    with pytest.raises(LayoutError) as err:
        budget.parse(data, location="2022-3-5.csv")
    assert str(err.value).startswith("budget: layout changed in 2022-3-5.csv: expected column AMOUNT, found header")
    assert "AMOUNT_BAHT" in str(err.value)


@needs_shared
def test_windows_874_csv_is_refused_not_misread():
    data = EXAMPLE.read_bytes().decode("utf-8-sig").encode("cp874")
    with pytest.raises(LayoutError, match=r"UTF-8 CSV text, found TIS-620 \(cp874\) Thai text .*iconv -f cp874"):
        budget.parse(data, location="x.csv")


@needs_shared
def test_local_budget_per_area_and_plan_sums_to_the_published_total():
    records = items(PAO_2565)
    rows = records.rows("budget_items")
    assert len(rows) == 12 and {r["fiscal_year"] for r in rows} == {2565}  # year from the file name
    assert sum(r["amount"] for r in rows) == 57_312_949_370  # the type breakdown is not added twice
    other = next(r for r in rows if r["plan"] == "งบกลาง")
    assert other["description"] == "ด้านการดำเนินงานอื่น ๆ" and other["level"] == "local"  # trailing space gone


@needs_shared
def test_local_budget_with_inconsistent_plans_is_refused_naming_the_area():
    doc = json.loads(PAO_2565.read_text(encoding="utf-8"))
    doc["groupedByArea"][0]["plans"][0]["total"] += 1_000_000
    with pytest.raises(ScrapeError, match=r"nation-wide-2565.json: groupedByArea\[0\].total \(ด้านบริหารทั่วไป\)"):
        budget.parse(json.dumps(doc).encode(), location="nation-wide-2565.json")


@needs_shared
def test_local_budget_with_changed_envelope_is_a_layout_error():
    doc = json.loads(PAO_2565.read_text(encoding="utf-8"))
    doc["byArea"] = doc.pop("groupedByArea")
    with pytest.raises(LayoutError, match="expected groupedByArea, found keys"):
        budget.parse(json.dumps(doc).encode(), location="nation-wide-2565.json")


@needs_shared
def test_load_real_files_idempotent_and_amendment_recorded(tmp_path):
    db_path = tmp_path / "p.db"
    first = budget.run_file(db_path, VOLUME_17)
    assert first.rows_in == 243 and first.rows_changed > 189  # items + agency stubs
    assert budget.run_file(db_path, VOLUME_17).rows_changed == 0
    amended = tmp_path / "2022-3-17.csv"
    amended.write_bytes(VOLUME_17.read_bytes().replace(b'"78,459,000"', b'"78,460,000"', 1))
    assert budget.run_file(db_path, amended).rows_changed == 1
    db = open_db(db_path)
    assert db.execute("SELECT row_id, field, old_value, new_value FROM changes").fetchall() == [
        ("bill:2022.3.17.0", "amount", "78459000.0", "78460000.0")]
    assert db.execute("SELECT count(*) FROM budget_items WHERE fiscal_year != 2565 AND instalment_of_bill IS NULL"
                      ).fetchone()[0] == 0


@needs_shared
def test_more_than_5_percent_bad_rows_fails_and_keeps_what_was_there(tmp_path):
    db_path = tmp_path / "p.db"
    budget.run_file(db_path, PAO_2565)
    lines = VOLUME_17.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "2022-3-17.csv"
    broken.write_text("".join([lines[0]] + [line.replace(",2022,", ",twenty,") if i % 10 == 0 else line
                                            for i, line in enumerate(lines[1:])]), encoding="utf-8")
    with pytest.raises(TooManyBadRows, match="2022-3-17.csv"):
        budget.run_file(db_path, broken)
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM budget_items").fetchone()[0] == 12
    assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert db.execute("SELECT status FROM source_runs ORDER BY id DESC").fetchone()[0] == "failed"


@needs_shared
def test_a_few_bad_rows_are_quarantined_and_the_run_goes_on(tmp_path):
    broken = tmp_path / "2022-3-17.csv"
    broken.write_bytes(VOLUME_17.read_bytes().replace(b'"78,459,000"', b'"n/a"', 1))
    run = budget.run_file(tmp_path / "p.db", broken)
    assert (run.rows_in, run.rows_quarantined) == (243, 1)
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT count(*) FROM budget_items").fetchone()[0] == 242
    assert db.execute("SELECT location, reason FROM quarantine").fetchone() == (
        f"{broken}:2", "AMOUNT: not an amount: 'n/a'")


URL = "https://budget.example.th/2022-3-17.csv"


@pytest.fixture
def client():
    c = Client(cache_path=None, backoff=0, sleep=lambda s: None, robots=False)
    yield c
    c.close()


@needs_shared
def test_live_download_is_checksummed_and_loaded(tmp_path, client):
    with responses.RequestsMock() as mocked:
        mocked.get(URL, body=VOLUME_17.read_bytes())
        run = budget.run_live(tmp_path / "p.db", urls=[URL], client=client)
    import hashlib

    assert run.rows_in == 243
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT target_sha256 FROM source_runs").fetchone()[0] == hashlib.sha256(
        VOLUME_17.read_bytes()).hexdigest()
    assert db.execute("SELECT DISTINCT source_url FROM budget_items").fetchall() == [(URL,)]


def test_live_server_errors_are_retried_then_a_clear_error(tmp_path, client):
    with responses.RequestsMock() as mocked:
        failing = mocked.get(URL, status=502)
        with pytest.raises(FetchError, match="2022-3-17.csv"):
            budget.run_live(tmp_path / "p.db", urls=[URL], client=client)
        assert failing.call_count == 5
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT count(*) FROM budget_items").fetchone()[0] == 0


@needs_shared
def test_cli_loads_a_local_budget_file(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(budget.command, ["--db", str(tmp_path / "p.db"), "--file", str(PAO_2565)])
    assert result.exit_code == 0, result.output
    assert "budget: 12 read, 12 changed" in result.output
    again = CliRunner().invoke(budget.command, ["--db", str(tmp_path / "p.db"), "--file", str(PAO_2565)])
    assert "budget: 12 read, 0 changed" in again.output


@needs_shared
def test_cli_loads_every_file_given(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(budget.command, ["--db", str(tmp_path / "p.db"), "--file", str(EXAMPLE),
                                                 "--file", str(PAO_2565)])
    assert result.exit_code == 0, result.output
    assert "budget: 10 read" in result.output and "budget: 12 read, 12 changed" in result.output


@needs_shared
def test_prongsai_scrape_budget_is_registered(tmp_path):
    from click.testing import CliRunner

    from prongsai.cli import cli

    result = CliRunner().invoke(cli, ["scrape", "budget", "--db", str(tmp_path / "p.db"), "--file", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "budget: 10 read" in result.output and "4 instalments of multi-year obligations" in result.output


@needs_shared
def test_a_huge_single_line_file_is_a_clear_error_and_keeps_what_was_stored(tmp_path):
    from click.testing import CliRunner

    from prongsai.cli import cli

    db_path = tmp_path / "p.db"
    budget.run_file(db_path, PAO_2565)
    before = open_db(db_path).execute("SELECT * FROM budget_items ORDER BY id").fetchall()
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # one line, no newline: a cell of 3 MB
        for _ in range(3):
            f.write(b"x" * (1 << 20))
    result = CliRunner().invoke(cli, ["scrape", "budget", "--db", str(db_path), "--file", str(big)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "_csv.Error" not in result.output
    assert (f"budget: {big}: row 1: a field is longer than 1,048,576 characters — is this a KaoGeek "
            "budget-bill CSV (v2 columns)?") in result.output
    db = open_db(db_path)
    assert db.execute("SELECT * FROM budget_items ORDER BY id").fetchall() == before
    assert db.execute("SELECT status FROM source_runs ORDER BY id DESC").fetchone()[0] == "failed"


@needs_shared
def test_a_utf8_file_cut_mid_character_is_called_truncated_not_cp874(tmp_path):
    data = EXAMPLE.read_bytes()
    cut = data[:data.rindex("ร".encode()) + 2]  # two of ร's three bytes
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    with pytest.raises(LayoutError, match=rf"expected UTF-8 CSV text, found text that ends in the middle of a "
                                          rf"UTF-8 character at byte {len(cut) - 2:,} \(the file looks truncated") as err:
        budget.run_file(tmp_path / "p.db", path)
    assert "cp874" not in str(err.value)


def test_a_ministry_split_over_parts_is_stored_without_the_part_number():
    data = THAI_DIGITS.read_bytes().replace("กระทรวงคมนาคม".encode(), "กระทรวงคมนาคม (2)".encode(), 1)
    rows = budget.parse(data, location="2022-3-5.csv").rows("budget_items")
    assert {r["ministry"] for r in rows} == {"กระทรวงคมนาคม"}


@needs_shared
@pytest.mark.parametrize("name, year, message", [
    ("2021-3-17.csv", None, r"2021-3-17.csv:2: REF_DOC '2022.3.17' is the FY2565 bill, but FY2564 was expected"),
    ("volume.csv", 2566, r"volume.csv:2: REF_DOC '2022.3.17' is the FY2565 bill, but FY2566 was expected"),
    ("2022-3-17.csv", 2566, r"2022-3-17.csv: --year 2566 but the file is named for 2565"),
])
def test_a_bill_whose_year_is_not_the_one_its_name_or_year_says_is_refused_whole(tmp_path, name, year, message):
    db_path = tmp_path / "p.db"
    budget.run_file(db_path, PAO_2565)
    mislabelled = tmp_path / name
    mislabelled.write_bytes(VOLUME_17.read_bytes())
    with pytest.raises((ScrapeError, UserError), match=message):
        budget.run_file(db_path, mislabelled, fiscal_year=year)
    assert open_db(db_path).execute("SELECT count(*) FROM budget_items").fetchone()[0] == 12  # nothing stored


@pytest.mark.parametrize("name, content, expected", [
    ("bill.csv", b"name,amount\nx,1\n", "expected column ITEM_ID"),
    ("nation-wide-2565.json", b"[1, 2]", "expected a JSON object, found list"),
    ("nation-wide-2565.json", b"{\"rows\": []}", "expected pao.name (one province's file) or budgetPerCapita"),
    ("page.csv", b"<html><body>Not found</body></html>", "expected column ITEM_ID"),
])
def test_a_file_of_an_unknown_shape_is_a_clear_error_naming_it_and_stores_nothing(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LayoutError, match=re.escape(f"layout changed in {path}: {expected}")):
        budget.run_file(tmp_path / "p.db", path)
    assert open_db(tmp_path / "p.db").execute("SELECT count(*) FROM budget_items").fetchone()[0] == 0
