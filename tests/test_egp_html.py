"""egp-html: legacy TIS-620 winner announcements (fixtures per thai-data.md §6; no network)."""
from __future__ import annotations

import pytest
import responses
from conftest import FIXTURES

from prongsai.core.schema import open_db
from scrapers import egp_html
from scrapers.egp import EncodingError
from scrapers.http import Client, FetchError
from scrapers.store import LayoutError

EGP = FIXTURES / "egp"
ROAD = EGP / "w0_68119564509_tis620.html"
TWO_LOTS = EGP / "w0_69019600017_tis620.html"
E4514 = EGP / "e4514_tis620.html"
PID = "68119564509"


def parse(path_or_bytes, pid=PID, **kw):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return egp_html.parse(data, url="page.html", project_id=pid, **kw)


def test_fixtures_are_tis620_with_the_jsp_preamble():
    data = ROAD.read_bytes()
    assert data.startswith(b"\r\n" * 200) and data.index(b"control.sdo") < data.index(b"<html>")
    assert b"charset=TIS-620" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_winner_with_thai_numeral_amount_tax_id_and_date():
    records = parse(ROAD)
    (award,) = records.rows("awards")
    assert award["amount"] == 7_659_000  # ๗,๖๕๙,๐๐๐.๐๐
    assert award["id"] == f"{PID}/1"  # the id datagoth and egp-json give the same award
    assert ("award_suppliers", {"award_id": f"{PID}/1", "supplier_id": "0385550001231"}) in records.links
    (announcement,) = records.rows("announcements")
    assert announcement["type"] == "W0" and announcement["published_at"] == "2025-12-30"
    (supplier,) = records.rows("suppliers")  # tax id published as ๐๓๘๕๕๕๐๐๐๑๒๓๑
    assert supplier["name_th"] == "ห้างหุ้นส่วนจำกัด เซ็นจูรี่บึงกาฬ" and supplier["tax_id_status"] == "ok"


def test_announcement_date_is_found_by_label_not_as_the_first_date():
    # the page first cites the invitation "ลงวันที่ ๑๙ พฤศจิกายน ๒๕๖๘"; the announcement is dated later
    assert parse(ROAD).rows("announcements")[0]["published_at"] != "2025-11-19"


def test_agency_project_title_and_method_come_from_the_subject_line():
    (project,) = parse(ROAD).rows("projects")
    assert project["method"] == "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)"
    assert project["title"] == "จ้างก่อสร้างถนนคอนกรีตเสริมเหล็ก สายบ้านโนนสว่าง หมู่ที่ ๕ ตำบลบึงกาฬ"  # as published
    assert project["procuring_entity_id"] == "name:องค์การบริหารส่วนจังหวัดบึงกาฬ"


def test_several_winners_and_business_type_is_not_part_of_the_name():
    records = parse(TWO_LOTS, "69019600017")
    assert [a["amount"] for a in records.rows("awards")] == [156_000, 18_500]
    assert [s["name_th"] for s in records.rows("suppliers")] == [
        "บริษัท เมดิคอล ซัพพลาย (ประเทศไทย) จำกัด", "ห้างหุ้นส่วนจำกัด บึงกาฬเภสัช"]
    assert {s["tax_id_status"] for s in records.rows("suppliers")} == {"missing"}
    assert records.rows("projects")[0]["method"] == "เฉพาะเจาะจง"


def test_e4514_page_served_with_200_is_missing_never_a_record():
    records = parse(E4514)
    assert records.missing and "E4514" in records.missing
    assert not records.upserts and not records.stubs and not records.links and records.rows_in == 0


def test_page_in_utf8_is_an_encoding_error_not_mojibake():
    with pytest.raises(EncodingError, match="TIS-620 text, found UTF-8"):
        parse(ROAD.read_bytes().decode("cp874").encode("utf-8"))


def test_moved_label_is_a_layout_error_naming_it():
    data = ROAD.read_bytes().replace("ผู้ได้รับการคัดเลือก ได้แก่".encode("cp874"), "ผู้ชนะ คือ".encode("cp874"))
    with pytest.raises(LayoutError) as err:
        parse(data)
    assert err.value.source == "egp-html" and err.value.location == "page.html"
    assert "ผู้ได้รับการคัดเลือก ได้แก่" in err.value.field


def test_other_announcement_page_is_refused():
    data = ROAD.read_bytes().replace("<title>ประกาศรายชื่อผู้ชนะการเสนอราคา".encode("cp874"),
                                     "<title>ประกาศเชิญชวน".encode("cp874"))
    with pytest.raises(LayoutError, match="found title 'ประกาศเชิญชวน'"):
        parse(data)


def test_unreadable_date_is_quarantined():
    data = ROAD.read_bytes().replace("๓๐ ธันวาคม".encode("cp874"), "๓๐ ธันวา".encode("cp874"))
    records = parse(data)
    assert records.bad and "unknown Thai month" in records.bad[0][2] and not records.rows("awards")


def test_load_is_idempotent_and_joins_the_egp_json_award(tmp_path):
    from scrapers import egp_json

    db_path = tmp_path / "p.db"
    egp_json.run_file(db_path, EGP / "procure_result_68119564509.json", kind="result", project_id=PID)
    run = egp_html.run_file(db_path, ROAD, project_id=PID)
    assert run.rows_changed > 0  # the announcement (and the project's title/method)
    db = open_db(db_path)
    assert db.execute("SELECT count(*), amount FROM awards").fetchone() == (1, 7_659_000)  # one award, two sources
    db.close()
    assert egp_html.run_file(db_path, ROAD, project_id=PID).rows_changed == 0


def test_missing_page_loads_nothing(tmp_path):
    run = egp_html.run_file(tmp_path / "p.db", E4514, project_id=PID)
    db = open_db(tmp_path / "p.db")
    assert run.rows_in == 0 and db.execute("SELECT count(*) FROM announcements").fetchone()[0] == 0


def test_live_timeout_is_retried_then_a_clear_error(tmp_path):
    import requests

    client = Client(cache_path=None, backoff=0, sleep=lambda s: None, robots=False)
    url = egp_html.announcement_url(PID)
    with responses.RequestsMock() as mocked:
        slow = mocked.get(url.split("?")[0], body=requests.exceptions.ReadTimeout("read timed out"))
        with pytest.raises(FetchError, match="procsearch.sch"):
            egp_html.run_live(tmp_path / "p.db", projects=[PID], client=client)
        assert slow.call_count >= 1
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT status FROM source_runs").fetchone()[0] == "failed"


def test_live_page_decodes_bytes_whatever_the_header_says(tmp_path):
    client = Client(cache_path=None, backoff=0, sleep=lambda s: None, robots=False)
    url = egp_html.announcement_url(PID)
    with responses.RequestsMock() as mocked:
        mocked.get(url.split("?")[0], body=ROAD.read_bytes(), content_type="text/html; charset=ISO-8859-1")
        run = egp_html.run_live(tmp_path / "p.db", urls=[url], client=client)
    db = open_db(tmp_path / "p.db")
    assert run.rows_in == 2
    assert db.execute("SELECT name_th FROM suppliers").fetchone()[0] == "ห้างหุ้นส่วนจำกัด เซ็นจูรี่บึงกาฬ"


def test_the_same_announcement_from_listing_and_page_is_one_row(tmp_path):
    from scrapers import egp_json

    db_path = tmp_path / "p.db"
    egp_json.run_file(db_path, EGP / "listing_2569_page1.json", kind="listing", year=2569)
    egp_html.run_file(db_path, ROAD, project_id=PID)
    db = open_db(db_path)
    assert db.execute("SELECT id, source FROM announcements WHERE project_id = ?", [PID]).fetchall() == [
        (f"{PID}/W0/2025-12-30", "egp-json")]


def test_page_without_a_project_id_is_a_clear_error():
    from prongsai.core.errors import UserError

    with pytest.raises(UserError, match="which project"):
        egp_html.parse(ROAD.read_bytes(), url="https://example.th/page.html")


def test_cli_refuses_a_malformed_project_id(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(egp_html.command, ["--db", str(tmp_path / "p.db"), "--project", "6811956"])
    assert result.exit_code == 2 and "not an e-GP project id: '6811956'" in result.output


def _edit(path, old: str, new: str) -> bytes:
    """The fixture with ``old`` replaced (TIS-620 both), checked to be there."""
    data = path.read_bytes()
    assert old.encode("cp874") in data
    return data.replace(old.encode("cp874"), new.encode("cp874"))


DATE_CELL = '<tr><td align="center">ประกาศ ณ วันที่ ๓๐ ธันวาคม พ.ศ. ๒๕๖๘</td></tr>'


def test_two_announcement_dates_fail_naming_the_field_the_selector_and_the_count():
    with pytest.raises(LayoutError) as err:
        parse(_edit(ROAD, DATE_CELL, DATE_CELL + DATE_CELL.replace("๓๐", "๓๑")))
    assert "ประกาศ ณ วันที่" in err.value.field
    assert err.value.found.startswith("2 elements match") and "ณ วันที่" in err.value.found
    assert "exactly 1" in str(err.value)


def test_two_subject_lines_fail_naming_the_subject():
    subject = "เรื่อง ประกาศผู้ชนะการเสนอราคา ซื้อวัสดุการแพทย์ ๒ รายการ โดยวิธีเฉพาะเจาะจง"
    with pytest.raises(LayoutError) as err:
        parse(_edit(TWO_LOTS, f"<p align=\"center\">{subject}</p>", f"<p>{subject}</p><p>{subject}</p>"), "69019600017")
    assert "เรื่อง ประกาศผู้ชนะการเสนอราคา" in err.value.field and err.value.found.startswith("2 elements")


def test_missing_date_fails_naming_it_with_no_match():
    with pytest.raises(LayoutError) as err:
        parse(_edit(ROAD, DATE_CELL, ""))
    assert "ประกาศ ณ วันที่" in err.value.field and err.value.found.startswith("0 elements match")


def test_two_titles_fail_naming_the_title():
    title = "<title>ประกาศรายชื่อผู้ชนะการเสนอราคา</title>"
    with pytest.raises(LayoutError) as err:
        parse(_edit(ROAD, title, title + title))
    assert "title" in err.value.field and err.value.found.startswith("2 elements")


def test_a_winner_whose_clause_is_unreadable_is_never_dropped_silently():
    data = _edit(TWO_LOTS, "โดยเสนอราคา เป็นเงินทั้งสิ้น ๑๘,๕๐๐.๐๐", "โดยเสนอราคา ๑๘,๕๐๐.๐๐")
    with pytest.raises(LayoutError) as err:
        parse(data, "69019600017")
    assert "ผู้ได้รับการคัดเลือก ได้แก่" in err.value.field and "บึงกาฬเภสัช" in err.value.found


def test_labels_are_found_through_inline_markup_spaces_and_line_breaks():
    data = _edit(ROAD, "ผู้ได้รับการคัดเลือก ได้แก่ ห้างหุ้นส่วนจำกัด เซ็นจูรี่บึงกาฬ",
                 "<font>ผู้ได้รับการคัดเลือก&nbsp;ได้แก่</font> <b>ห้างหุ้นส่วนจำกัด เซ็นจูรี่บึงกาฬ</b>")
    data = data.replace(DATE_CELL.encode("cp874"),
                        "<tr><td>ประกาศ ณ&nbsp;&nbsp;วันที่ <b>๓๐ ธันวาคม พ.ศ. ๒๕๖๘</b><br>(นายสมชาย ใจดี)</td></tr>"
                        .encode("cp874"))
    records = parse(data)
    assert records.rows("suppliers")[0]["name_th"] == "ห้างหุ้นส่วนจำกัด เซ็นจูรี่บึงกาฬ"
    assert records.rows("announcements")[0]["published_at"] == "2025-12-30"
    assert records.rows("awards")[0]["amount"] == 7_659_000


def test_agency_on_the_subject_line_itself():
    data = _edit(TWO_LOTS, '<p align="center">ประกาศโรงพยาบาลบึงกาฬ</p>\n<p align="center">เรื่อง',
                 '<p align="center">ประกาศโรงพยาบาลบึงกาฬ เรื่อง')
    assert parse(data, "69019600017").rows("agencies")[0]["name_th"] == "โรงพยาบาลบึงกาฬ"


def test_identical_winner_paragraphs_are_two_awards():
    lot = TWO_LOTS.read_bytes().decode("cp874").split("\n")[-5]  # the second lot's paragraph
    assert lot.startswith("<p>รายการที่ ๒")
    records = parse(_edit(TWO_LOTS, lot, lot + lot), "69019600017")
    assert [a["amount"] for a in records.rows("awards")] == [156_000, 18_500, 18_500]


def test_a_subject_without_its_agency_is_a_layout_error_never_the_title_as_agency():
    data = _edit(TWO_LOTS, '<p align="center">ประกาศโรงพยาบาลบึงกาฬ</p>\n', "")
    with pytest.raises(LayoutError) as err:
        parse(data, "69019600017")
    assert "ประกาศ<agency>" in err.value.field
