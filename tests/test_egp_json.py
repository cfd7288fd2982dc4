"""egp-json: process5 listing, getProcureResult and getContractAvailable (fixtures per thai-data.md §5)."""
from __future__ import annotations

import json

import pytest
import responses
from click.testing import CliRunner
from conftest import FIXTURES
from responses import matchers

from prongsai.core.schema import open_db
from scrapers import egp_json
from scrapers.http import Client, FetchError
from scrapers.store import LayoutError, ScrapeError

EGP = FIXTURES / "egp"
PAGE1 = EGP / "listing_2569_page1.json"
PAGE2 = EGP / "listing_2569_page2.json"
RESULT = EGP / "procure_result_68119564509.json"
CONTRACT = EGP / "contract_68119564509.json"
PID = "68119564509"
ROBOTS = "https://process5.gprocurement.go.th/robots.txt"


def doc(path):
    return json.loads(path.read_text(encoding="utf-8"))


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


# --- listing ---------------------------------------------------------------------------------

def test_listing_rows_become_projects_and_announcements():
    records = egp_json.parse_listing(PAGE1.read_bytes(), url="p1", budget_year=2569)
    projects = {p["project_id"]: p for p in records.rows("projects")}
    road = projects[PID]
    assert road["budget"] == 7_700_000 and road["reference_price"] == 7_700_000  # "7,700,000.00"
    assert road["fiscal_year"] == 2569 and "announce_date" not in road  # a W0 row: the winner's date
    assert road["tender_start"] == "2025-11-26" and road["tender_end"] == "2025-12-03"
    assert road["method_id_raw"] == "16" and road["province"] == "บึงกาฬ"
    assert (road["method"], road["method_group"], road["ocds_method"]) == (
        "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "ประกาศเชิญชวนทั่วไป", "open")
    assert projects["68129573311"]["method"] == "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)"
    invitation = json.loads(PAGE1.read_bytes())
    invitation["data"]["data"][0]["announceType"] = "D0"
    invited = egp_json.parse_listing(dumps(invitation), url="p1", budget_year=2569)
    assert invited.rows("projects")[0]["announce_date"] == "2025-12-30"
    assert road["buyer_id"] == "name:กรมส่งเสริมการปกครองท้องถิ่น"
    assert road["procuring_entity_id"] == "name:องค์การบริหารส่วนจังหวัดบึงกาฬ"
    announcement = next(a for a in records.rows("announcements") if a["project_id"] == PID)
    assert announcement["type"] == "W0" and announcement["published_at"] == "2025-12-30T00:00:00"


def test_listing_strips_the_project_id_suffix():
    records = egp_json.parse_listing(PAGE1.read_bytes(), url="p1")
    assert "69019600017" in {p["project_id"] for p in records.rows("projects")}  # "69019600017-0001"


def test_cancelled_project_is_marked():
    records = egp_json.parse_listing(PAGE1.read_bytes(), url="p1")
    cancelled = {p["project_id"] for p in records.rows("projects") if p.get("tender_status") == "cancelled"}
    assert cancelled == {"68129573311"}


def test_listing_with_renamed_field_names_source_url_and_field():
    page = doc(PAGE1)
    for row in page["data"]["data"]:
        row["budgetMoney"] = row.pop("projectMoney")
    with pytest.raises(LayoutError) as err:
        egp_json.parse_listing(dumps(page), url="https://x/announcement?page=1")
    message = str(err.value)
    assert message.startswith("egp-json: layout changed in https://x/announcement?page=1")
    assert "data.data[].projectMoney" in message and "budgetMoney" in message


def test_a_row_without_a_field_others_have_is_quarantined_not_fatal():
    page = doc(PAGE1)
    del page["data"]["data"][1]["projectMoney"]
    records = egp_json.parse_listing(dumps(page), url="p1")
    assert len(records.rows("projects")) == 2 and records.bad[0][2] == "no projectMoney"


def test_changed_envelope_is_a_layout_error():
    page = doc(PAGE1)
    page["data"] = {"content": page["data"]["data"]}
    with pytest.raises(LayoutError, match=r"data\.data\[\] list, found keys \['content'\]"):
        egp_json.parse_listing(dumps(page), url="p1")


def test_error_response_code_and_anti_bot_answer_are_clear():
    with pytest.raises(ScrapeError, match="responseCode '99'"):
        egp_json.parse_listing(dumps({"response": {"responseCode": "99", "responseMessage": "x"}, "data": {}}), url="p")
    with pytest.raises(ScrapeError, match="validateCfTurnTile"):
        egp_json.parse_listing(dumps({"validateCfTurnTile": False}), url="p")
    with pytest.raises(LayoutError, match="a JSON document"):
        egp_json.parse_listing(b"<!DOCTYPE html><title>Just a moment...</title>", url="p")


def test_malformed_listing_row_is_quarantined():
    page = doc(PAGE1)
    page["data"]["data"][2]["projectMoney"] = "ไม่ระบุ"
    records = egp_json.parse_listing(dumps(page), url="p1")
    assert records.rows_in == 3 and len(records.rows("projects")) == 2
    assert "not an amount" in records.bad[0][2]


# --- bidders ---------------------------------------------------------------------------------

def test_every_bidder_with_tax_id_price_and_pass_flag():
    records = egp_json.parse_result(RESULT.read_bytes(), url="r", project_id=PID)
    bids = {b["id"].split("/")[-1]: b for b in records.rows("bids")}
    assert len(bids) == 6 and records.rows_in == 6
    assert bids["0103559007894"]["status"] == "disqualified" and bids["0103559007894"]["amount"] == 5_670_000
    assert bids["0385550001231"]["status"] == "valid"
    assert records.rows("projects") == [{"project_id": PID, "number_of_tenderers": 6}]


def test_the_lowest_bid_is_not_the_winner():
    records = egp_json.parse_result(RESULT.read_bytes(), url="r", project_id=PID)
    bids = records.rows("bids")
    lowest = min(bids, key=lambda b: b["amount"])
    winners = [b for b in bids if b["is_winner"]]
    assert lowest["status"] == "disqualified" and not lowest["is_winner"]
    assert [w["id"] for w in winners] == [f"{PID}/1/0385550001231"]
    (award,) = records.rows("awards")
    assert award["id"] == f"{PID}/1" and award["amount"] == 7_659_000 and award["date"] == "2025-12-30"
    assert ("award_suppliers", {"award_id": award["id"], "supplier_id": "0385550001231"}) in records.links


def test_joint_venture_partners_are_tenderers_of_the_bid():
    records = egp_json.parse_result(RESULT.read_bytes(), url="r", project_id=PID)
    jv = [row for t, row in records.links if t == "bid_tenderers" and row["bid_id"].endswith("0105559123454")]
    assert [r["name"] for r in jv] == ["กิจการร่วมค้า บึงกาฬรุ่งเรือง", "บริษัท ก่อสร้างไทย จำกัด",
                                       "ห้างหุ้นส่วนจำกัด รุ่งเรืองการโยธา"]


def test_doubled_legal_form_is_normalised_in_suppliers():
    records = egp_json.parse_result(RESULT.read_bytes(), url="r", project_id=PID)
    supplier = next(s for s in records.rows("suppliers") if s["id"] == "0103558012347")
    assert supplier["name_normalized"] == "ห้างหุ้นส่วนจำกัด สิทธิยนต์" and supplier["tax_id_status"] == "ok"


def test_unknown_result_flag_is_quarantined_not_guessed():
    result = doc(RESULT)
    result["data"]["procureResultList"][0]["procureResultDataResponse"][4]["resultFlag"] = "W"
    records = egp_json.parse_result(dumps(result), url="r", project_id=PID)
    assert len(records.rows("bids")) == 5 and "unknown resultFlag 'W'" in records.bad[0][2]


def test_renamed_bidder_field_is_a_layout_error():
    result = doc(RESULT)
    for bidder in result["data"]["procureResultList"][0]["procureResultDataResponse"]:
        bidder["tin"] = bidder.pop("receiveTin")
    with pytest.raises(LayoutError, match=r"procureResultDataResponse\[\]\.receiveTin, found keys \[.*'tin'"):
        egp_json.parse_result(dumps(result), url="r", project_id=PID)


# --- loading ---------------------------------------------------------------------------------

def test_result_then_contract_load_links_the_winner_and_reruns_change_nothing(tmp_path):
    db_path = tmp_path / "p.db"
    egp_json.run_file(db_path, PAGE1, kind="listing", year=2569)
    egp_json.run_file(db_path, RESULT, kind="result", project_id=PID)
    first = egp_json.run_file(db_path, CONTRACT, kind="contract", project_id=PID)
    assert first.rows_changed == 1
    db = open_db(db_path)
    contract = db.execute("SELECT supplier_id, award_id, contract_amount, signed_date FROM contracts").fetchone()
    assert contract == ("0385550001231", f"{PID}/1", 7_659_000, "2026-01-15")
    assert db.execute("SELECT budget, number_of_tenderers FROM projects WHERE project_id = ?", [PID]).fetchone() == (
        7_700_000, 6)
    assert db.execute("SELECT count(*) FROM bid_tenderers").fetchone()[0] == 8
    db.close()
    for path, kind in ((PAGE1, "listing"), (RESULT, "result"), (CONTRACT, "contract")):
        again = egp_json.run_file(db_path, path, kind=kind, project_id=PID, year=2569)
        assert again.rows_changed == 0, kind


def test_award_and_contract_from_data_go_th_are_filled_not_duplicated(tmp_path):
    from scrapers.store import SourceRun

    db_path = tmp_path / "p.db"
    with SourceRun(db_path, "datagoth", target="contracts.csv") as run:
        run.upsert("projects", {"project_id": PID, "title": "จ้างก่อสร้างถนน"})
        run.upsert("suppliers", {"id": "0385550001231", "name_th": "หจก. เซ็นจูรี่บึงกาฬ",
                                 "name_normalized": "หจก. เซ็นจูรี่บึงกาฬ"})
        run.upsert("awards", {"id": f"{PID}/1", "project_id": PID, "award_id": "1", "amount": 7_659_000})
        run.link("award_suppliers", {"award_id": f"{PID}/1", "supplier_id": "0385550001231"})
        run.upsert("contracts", {"id": f"{PID}/สนอ. 10/2569", "project_id": PID, "contract_no": "สนอ. 10/2569",
                                 "supplier_id": "0385550001231", "supplier_name": "หจก. เซ็นจูรี่บึงกาฬ"})
    egp_json.run_file(db_path, RESULT, kind="result", project_id=PID)
    egp_json.run_file(db_path, CONTRACT, kind="contract", project_id=PID)
    db = open_db(db_path)
    assert db.execute("SELECT id, amount, date FROM awards").fetchall() == [(f"{PID}/1", 7_659_000, "2025-12-30")]
    assert db.execute("SELECT id, contract_amount, signed_date, supplier_name FROM contracts").fetchall() == [
        (f"{PID}/สนอ. 10/2569", 7_659_000, "2026-01-15", "หจก. เซ็นจูรี่บึงกาฬ")]
    assert db.execute("SELECT name_th FROM suppliers WHERE id = '0385550001231'").fetchone()[0] == "หจก. เซ็นจูรี่บึงกาฬ"
    db.close()
    assert egp_json.run_file(db_path, CONTRACT, kind="contract", project_id=PID).rows_changed == 0


def _data_go_th_file(tmp_path):
    """The project as data.go.th would publish it (title and agency its own way, no signing date)."""
    import csv

    from scrapers import datagoth

    row = dict.fromkeys(datagoth.COLUMNS_A, "")
    row.update({"รหัสโครงการ": PID, "ชื่อโครงการ": "จ้างก่อสร้างถนน", "ชื่อหน่วยงาน": "กรมทางหลวงชนบท",
                "วิธีจัดซื้อฯ": "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "ราคาตกลงซื้อ/จ้าง": "7659000",
                "ปีงบประมาณ": "2569", "เลขนิติบุคคล": "0385550001231", "ชื่อผู้ชนะ": "หจก. เซ็นจูรี่บึงกาฬ",
                "เลขที่สัญญา": "สนอ. 10/2569", "วันที่ลงนามสัญญา": "-", "งบสัญญา(บาท)": "7659000"})
    path = tmp_path / "contracts.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([datagoth.COLUMNS_A, list(row.values())])
    return path


def test_contract_published_later_by_data_go_th_takes_the_place_of_the_egp_one(tmp_path):
    from scrapers import datagoth

    db_path = tmp_path / "p.db"
    egp_json.run_file(db_path, RESULT, kind="result", project_id=PID)
    egp_json.run_file(db_path, CONTRACT, kind="contract", project_id=PID)
    db = open_db(db_path)
    (egp_id,) = db.execute("SELECT id FROM contracts").fetchone()
    db.close()
    run = datagoth.load_file(db_path, _data_go_th_file(tmp_path))
    published = f"{PID}/สนอ. 10/2569"
    db = open_db(db_path)
    assert db.execute("SELECT id, contract_amount, signed_date, award_id FROM contracts").fetchall() == [
        (published, 7_659_000, "2026-01-15", f"{PID}/1")]  # the signing date only e-GP gave is kept
    assert db.execute("SELECT row_id, field, old_value, new_value, source_run_id FROM changes "
                      "WHERE table_name = 'contracts' ORDER BY id").fetchall() == [
        (egp_id, "(merged)", egp_id, published, run.id)]
    db.close()
    assert egp_json.run_file(db_path, CONTRACT, kind="contract", project_id=PID).rows_changed == 0
    assert open_db(db_path).execute("SELECT count(*) FROM contracts").fetchone() == (1,)


def test_e_gp_fills_but_never_rewrites_what_data_go_th_published(tmp_path):
    from scrapers import datagoth

    db_path = tmp_path / "p.db"
    datagoth.load_file(db_path, _data_go_th_file(tmp_path))
    select = "SELECT title, buyer_id, reference_price, source FROM projects WHERE project_id = ?"
    db = open_db(db_path)
    published = db.execute(select, [PID]).fetchone()
    db.close()
    egp_json.run_file(db_path, PAGE1, kind="listing", year=2569)
    again = egp_json.run_file(db_path, PAGE1, kind="listing", year=2569)
    db = open_db(db_path)
    assert db.execute(select, [PID]).fetchone() == (*published[:2], 7_700_000, "datagoth")  # only filled
    assert db.execute("SELECT count(*) FROM changes").fetchone() == (0,) and again.rows_changed == 0
    db.close()


def test_after_an_rss_stub_only_replaced_values_are_logged_as_changes(tmp_path):
    from scrapers import egp_rss

    db_path = tmp_path / "p.db"
    egp_rss.run_file(db_path, EGP / "rss_5380400_D0.xml", dept_id="5380400", announce_type="D0")
    run = egp_json.run_file(db_path, PAGE1, kind="listing", year=2569)
    db = open_db(db_path)
    assert db.execute("SELECT budget, source FROM projects WHERE project_id = ?", [PID]).fetchone() == (
        7_700_000, "egp-json")  # filled where the feed said nothing
    assert run.rows_changed > 0 and db.execute("SELECT count(*) FROM changes WHERE old_value IS NULL").fetchone() == (0,)
    db.close()


def _contract(cid, sid, amount=None, signed=None, name=None):
    return {"id": cid, "supplier_id": sid, "supplier_name": name, "contract_amount": amount, "signed_date": signed}


def test_contracts_of_two_sources_pair_one_to_one():
    pair = egp_json.pair_contracts
    egp = [_contract("p/egp:a", "S", 100, "2026-01-01"), _contract("p/egp:b", "S", 200, "2026-02-02")]
    assert pair(egp, [_contract("p/1", "S", 100), _contract("p/2", "S", None, "2026-02-02")]) == {
        "p/egp:a": "p/1", "p/egp:b": "p/2"}
    assert pair(egp, [_contract("p/2", "S", 200)]) == {"p/egp:b": "p/2"}  # the other stays apart
    assert pair(egp, [_contract("p/9", "S", 999)]) == {}  # which of the two? neither
    # a supplier's one contract on each side, amounts apart; known by name when the ids differ
    assert pair([_contract("p/egp:c", None, 5, name="หจก. ก")], [_contract("p/3", "x:1", 6, name="หจก.  ก")]) == {
        "p/egp:c": "p/3"}
    assert pair([_contract("p/egp:d", "T", 5)], [_contract("p/4", "S", 5)]) == {}  # another supplier


def test_changed_upstream_price_is_recorded_in_changes(tmp_path):
    db_path = tmp_path / "p.db"
    egp_json.run_file(db_path, PAGE1, kind="listing", year=2569)
    page = doc(PAGE1)
    page["data"]["data"][0]["priceBuild"] = "7,650,000.00"
    changed = tmp_path / "page1-amended.json"
    changed.write_bytes(dumps(page))
    run = egp_json.run_file(db_path, changed, kind="listing", year=2569)
    assert run.rows_changed == 1
    db = open_db(db_path)
    assert db.execute("SELECT project_id, field, old_value, new_value FROM changes").fetchall() == [
        (PID, "reference_price", "7700000.0", "7650000.0")]


@pytest.fixture
def client():
    c = Client(cache_path=None, backoff=0, sleep=lambda s: None)
    yield c
    c.close()


def test_live_listing_pages_until_empty_despite_total_pages_zero(tmp_path, client):
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, status=404)
        for page, path in ((1, PAGE1), (2, PAGE2)):
            mocked.get(egp_json.BASE, body=path.read_bytes(), match=[matchers.query_param_matcher(
                {"budgetYear": "2569", "announcementTodayFlag": "false", "page": str(page)})])
        run = egp_json.run_live(tmp_path / "p.db", year=2569, client=client)
        assert len(mocked.calls) == 3  # robots.txt, page 1, page 2 (empty: stop)
    assert run.rows_in == 3


def test_live_project_fetch_and_slow_rate(tmp_path):
    sleeps = []
    clock = [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    client = Client(cache_path=None, backoff=0, sleep=sleep, clock=lambda: clock[0])
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, status=404)
        mocked.get(egp_json.RESULT_URL, body=RESULT.read_bytes(),
                   match=[matchers.query_param_matcher({"projectId": PID})])
        mocked.get(egp_json.CONTRACT_URL, body=CONTRACT.read_bytes(),
                   match=[matchers.query_param_matcher({"projectId": PID})])
        run = egp_json.run_live(tmp_path / "p.db", projects=[PID], client=client)
    assert run.rows_in == 7
    assert sleeps == [3.0, 3.0]  # e-GP: at most one request per 3 s
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT supplier_id FROM contracts").fetchone()[0] == "0385550001231"


def test_live_403_wall_is_explained_and_nothing_is_kept(tmp_path, client):
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, status=404)
        mocked.get(egp_json.BASE, body=PAGE1.read_bytes())
        mocked.get(egp_json.BASE, status=403)
        with pytest.raises(FetchError, match="HTTP 403.*anti-bot wall"):
            egp_json.run_live(tmp_path / "p.db", year=2569, client=client)
    db = open_db(tmp_path / "p.db")
    assert db.execute("SELECT count(*) FROM projects").fetchone()[0] == 0
    assert db.execute("SELECT status, error FROM source_runs").fetchone()[0] == "failed"


def test_live_429_is_retried_then_explained(tmp_path, client):
    with responses.RequestsMock() as mocked:
        mocked.get(ROBOTS, status=404)
        wall = mocked.get(egp_json.RESULT_URL, status=429)
        with pytest.raises(FetchError, match="anti-bot wall"):
            egp_json.run_live(tmp_path / "p.db", projects=[PID], client=client)
        assert wall.call_count == 5


def test_help_warns_about_the_anti_bot_wall():
    result = CliRunner().invoke(egp_json.command, ["--help"])
    assert "anti-bot" in result.output and "403" in result.output and "3 seconds" in result.output


def test_json_in_a_thai_legacy_encoding_is_an_encoding_error():
    from scrapers.egp import EncodingError

    with pytest.raises(EncodingError, match="expected utf-8 text"):
        egp_json.parse_result(RESULT.read_text(encoding="utf-8").encode("cp874"), url="r", project_id=PID)
