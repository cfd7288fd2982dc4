"""Plain Thai for every citizen: flag sentences and flag pages read as words, not as data.

The lists below are the check: words and patterns that must never appear inside a Thai flag
sentence or page (English words, raw keys, codes, ISO dates, THB, "0.0 %"), and those an English
one must not show (Thai units, B.E. years). ``tests/test_browser_pages.py`` uses the same lists.
"""
from __future__ import annotations

import html as htmllib
import re
import shutil
import sqlite3

import pytest
from conftest import SHARED, needs_shared

from prongsai.core import words
from prongsai.core.thai import normalize_name, tax_id_check_digit
from prongsai.derive.flags.definitions import FLAGS
from prongsai.derive.flags.explain import SUPPLIERS, explain, threshold_text

#: never inside a Thai flag sentence: English words the data holds, raw keys, codes
FORBIDDEN_IN_THAI = ("open", "selective", "limited", "direct", "masked", "damaged", "invalid", "missing", "THB",
                     "baht", "None", "nan", "e-bidding", "e-market", "number_of_tenderers", "procurement_method",
                     "tax_id", "supplier_id", "partner_id", "_pct", "threshold", "{", "}", "…")
#: never inside an English flag sentence
FORBIDDEN_IN_ENGLISH = ("บาท", "None", "nan", "{", "}", "…", "_pct", "number_of_tenderers", "tax_id_status")
#: patterns never on a Thai page or sentence: ISO dates, "0.0 %", amounts without separators, bare
#: measured values, raw JSON
PATTERNS_THAI = (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), re.compile(r"\b0\.0 ?%"), re.compile(r"\b\d{4,} บาท"),
                 re.compile(r"\b\d+\.\d{3,}(?![\dEe])"), re.compile(r'\{"'))
PATTERNS_ENGLISH = (re.compile(r"\b0\.0 ?%"), re.compile(r"\b\d{4,} baht"), re.compile(r"\b\d+\.\d{3,}(?![\dEe])"),
                    re.compile(r'\{"'), re.compile(r"\b25[6-7]\d\b"))
#: the Latin text a Thai sentence may carry: raw ids as published (``313060050xxxx``, ``3.0556E+11``)
LATIN_WORD = re.compile(r"(?<![\w.:])[A-Za-z][A-Za-z_-]+")


def problems(text: str, lang: str) -> list[str]:
    """What in ``text`` a reader of ``lang`` should not see."""
    found = [w for w in (FORBIDDEN_IN_THAI if lang == "th" else FORBIDDEN_IN_ENGLISH)
             if (re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text) if w.isalpha() else w in text)]
    found += [p.pattern for p in (PATTERNS_THAI if lang == "th" else PATTERNS_ENGLISH) if p.search(text)]
    if lang == "th":
        found += [w for w in LATIN_WORD.findall(text) if w.lower() not in ("xxxx", "e")]
    return found


def visible_text(page: str) -> str:
    """The words a person sees: no tags, scripts, styles, attributes or the head."""
    page = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", page)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _names(db):
    return lambda sid: (db.execute("SELECT name_th FROM suppliers WHERE id = ?", [sid]).fetchone() or [None])[0]


def test_every_flag_sentence_reads_plainly_in_both_languages(demo_db):
    db = sqlite3.connect(demo_db)
    rows = db.execute("""SELECT code, evidence FROM (
                           SELECT code, evidence, row_number() OVER (PARTITION BY code ORDER BY rowid) AS k FROM red_flags
                           UNION ALL
                           SELECT code, evidence, row_number() OVER (PARTITION BY code ORDER BY rowid) FROM org_flags)
                         WHERE k <= 30""").fetchall()
    seen = set()
    for code, evidence in rows:
        for lang in ("th", "en"):
            text = explain(code, evidence, lang, names=_names(db))
            assert not problems(text, lang), (code, lang, text, problems(text, lang))
        seen.add(code)
    db.close()
    assert seen == set(FLAGS)


def test_a_sentence_names_the_supplier_and_says_the_tax_id_state_in_words():
    evidence = {"supplier_id": "x:1", "tax_id_status": "masked", "tax_id_raw": "313060050xxxx", "amount": 7_149_461.41}
    th = explain("TH13", evidence, "th")
    assert th == "ผู้ชนะสัญญา 7,149,461 บาท มีเลขประจำตัวผู้เสียภาษีที่ถูกปิดบางหลัก (313060050xxxx)"
    assert "partly masked" in explain("TH13", evidence, "en")
    pair = {"partner_id": "0105559012345", "together": 24, "share_pct": 80.0}
    assert explain("TH08", pair, "th", names={"0105559012345": "บริษัท ยนต์สยาม"}.get) == \
        "เสนอราคาร่วมกับ บริษัท ยนต์สยาม ใน 24 โครงการ (80% ของโครงการที่เสนอราคา)"
    r018 = {"number_of_tenderers": 1, "procurement_method": "open"}
    assert explain("R018", r018, "th") == "มีผู้เสนอราคาเพียง 1 รายในการจัดซื้อจัดจ้างโดยวิธีประกาศเชิญชวนทั่วไป"
    th06 = {"bidders": 2, "min_bidders": 3, "method": "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)"}
    assert explain("TH06", th06, "th").endswith("ทั้งที่เป็นวิธีประกวดราคาอิเล็กทรอนิกส์")
    assert "Electronic bidding (e-bidding)" in explain("TH06", th06, "en")
    assert SUPPLIERS >= {"supplier_id", "partner_id"}


def test_dates_in_sentences_are_buddhist_era_in_thai_and_common_era_in_english():
    evidence = {"date": "2025-09-14", "fiscal_year": 2568, "days_to_year_end": 16}
    assert explain("TH09", evidence, "th") == ("จัดซื้อจัดจ้างโดยวิธีเฉพาะเจาะจงเมื่อ 14 ก.ย. 2568 ซึ่งเหลือ 16 วัน"
                                               "ก่อนสิ้นปีงบประมาณ 2568")
    assert explain("TH09", evidence, "en") == "direct purchase on 14 Sep 2025, 16 days before the end of fiscal year 2025"
    # a stored UTC time is read in Bangkok time: 20:00 UTC on the 13th is the 14th in Thailand
    assert words.date("2025-09-13T20:00:00+00:00", "th") == "14 ก.ย. 2568"


@pytest.mark.parametrize("value, th, en", [(0, "0%", "0%"), (0.04, "ไม่ถึง 0.1%", "under 0.1%"), (0.43, "0.4%", "0.4%"),
                                           (12.46, "12%", "12%"), (100, "100%", "100%")])
def test_percentages_are_rounded_as_people_say_them(value, th, en):
    assert words.percent_points(value, "th") == th and words.percent_points(value, "en") == en


def test_names_in_english_where_known_and_as_published_otherwise():
    assert words.ministry("กระทรวงมหาดไทย", "en") == "Ministry of Interior"
    assert words.ministry("กระทรวงมหาดไทย", "th") == "กระทรวงมหาดไทย"
    assert words.ministry("หน่วยงานที่ไม่มีในรายการ", "en") == "หน่วยงานที่ไม่มีในรายการ"
    assert words.method("เฉพาะเจาะจง", "en") == "Specific method (direct purchase)"
    assert words.method("ตลาดอิเล็กทรอนิกส์ (e-market)", "th") == "ตลาดอิเล็กทรอนิกส์"
    assert words.announcement("15", "th") == "ประกาศราคากลาง" and words.announcement("W0", "en") == "winner announced"
    assert words.term("จ้างก่อสร้าง", "en") == "construction"
    assert words.unit("เครื่อง", "en") == "unit" and words.unit("เครื่อง", "th") == "เครื่อง"


def test_every_threshold_reads_in_words(demo_db):
    db = sqlite3.connect(demo_db)
    stored = dict(db.execute("SELECT code, threshold FROM flag_definitions"))
    db.close()
    for code in FLAGS:
        for lang in ("th", "en"):
            text = threshold_text(code, stored[code], lang)
            assert not problems(text, lang) and "{" not in text, (code, lang, text)
    assert threshold_text("TH10", stored["TH10"], "th") == (
        "ซื้อโดยวิธีเฉพาะเจาะจงจากผู้ขายรายเดียวกันอย่างน้อย 3 ครั้งภายใน 90 วัน แต่ละครั้งต่ำกว่า 500,000 บาท "
        "ไม่เกิน 20% และรวมกันเกิน 500,000 บาท")


@pytest.mark.parametrize("lang", ["th", "en"])
def test_flag_pages_are_short_articles(portal_client, lang):
    index = visible_text(portal_client.get(f"/flags?lang={lang}").get_data(as_text=True))
    assert not [p for p in ("…", "{", "1.00", "2.00") if p in index]
    for code, flag in FLAGS.items():
        r = portal_client.get(f"/flags/{code}?lang={lang}")
        assert r.status_code == 200
        page = visible_text(r.get_data(as_text=True))
        assert not [p for p in ("…", '{"', "{", "1.00", "2.00") if p in page], code
        for heading in (("ทำไมจึงอาจชี้ถึงการทุจริต", "เมื่อใดที่ไม่มีอะไรผิด", "เกณฑ์", "พบบ่อยแค่ไหน") if lang == "th"
                        else ("Why it can point to corruption", "When it is innocent", "Threshold", "How often it fired")):
            assert heading in page, (code, heading)
        if lang == "th":
            assert not [p.pattern for p in PATTERNS_THAI if p.search(page)], code
            assert "ที่ตรวจได้" in page, code  # fired on N of M testable
        else:
            assert "testable" in page, code


def test_project_page_flags_have_no_raw_keys_and_codes_in_words(portal_client, portal_db):
    db = sqlite3.connect(portal_db)
    pid = db.execute("SELECT project_id FROM red_flags WHERE code = 'TH10' LIMIT 1").fetchone()[0]
    db.close()
    page = visible_text(portal_client.get(f"/projects/{pid}?lang=th").get_data(as_text=True))
    for raw in ("number_of_tenderers", "project_ids", "window_days", "THB", "W0", "D0"):
        assert raw not in page
    assert "ประกาศผู้ชนะการเสนอราคา" in page
    assert not [p.pattern for p in PATTERNS_THAI if p.search(page)]
    en = visible_text(portal_client.get(f"/projects/{pid}?lang=en").get_data(as_text=True))
    assert "Specific method (direct purchase)" in en and "winner announced" in en


def give_a_twin(path) -> tuple[str, str, str]:
    """Give the first damaged supplier with contracts its undamaged twin (same name, agreeing
    digits); (damaged id, twin id, raw id)."""
    db = sqlite3.connect(path)
    damaged, raw, name = db.execute(
        "SELECT s.id, s.tax_id_raw, s.name_th FROM suppliers s WHERE s.tax_id_status = 'damaged' "
        "AND EXISTS (SELECT 1 FROM contracts c WHERE c.supplier_id = s.id) ORDER BY s.id LIMIT 1").fetchone()
    first12 = ("0" + str(int(float(raw))))[:12]
    twin = first12 + str(tax_id_check_digit(first12))
    db.execute("INSERT INTO suppliers (id, tax_id, tax_id_raw, tax_id_status, name_th, name_normalized) "
               "VALUES (?, ?, ?, 'ok', ?, ?)", [twin, twin, twin, name, normalize_name(name)])
    db.commit()
    db.close()
    return damaged, twin, raw


@pytest.fixture
def twin_db(demo_db, tmp_path):
    """The demo with one damaged supplier given its undamaged twin, built."""
    from prongsai.derive.build import run_build

    path = tmp_path / "procurement.db"
    shutil.copy(demo_db, path)
    damaged, twin, raw = give_a_twin(path)
    run_build(path)
    return path, damaged, twin, raw


def test_a_damaged_supplier_is_joined_to_its_twin_before_flags_and_aggregates(twin_db):
    path, damaged, twin, raw = twin_db
    db = sqlite3.connect(path)
    assert db.execute("SELECT damaged_id, twin_id, tax_id_raw FROM supplier_twins").fetchall() == [(damaged, twin, raw)]
    for table in ("contracts", "award_suppliers", "bid_tenderers"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE supplier_id = ?", [damaged]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM contracts WHERE supplier_id = ?", [twin]).fetchone()[0] > 0
    # Top suppliers list the company once; the damage alone raises no TH13
    top = db.execute("SELECT supplier_id FROM agg_top_suppliers").fetchall()
    assert (damaged,) not in top
    assert db.execute("SELECT count(*) FROM red_flags WHERE code = 'TH13' AND json_extract(evidence, '$.tax_id_status') "
                      "= 'damaged'").fetchone()[0] == 0
    db.close()


def test_digits_must_agree_and_the_name_be_unambiguous():
    from prongsai.derive.reconcile import digits_agree

    assert digits_agree("3.0556E+11", "0305560001234") and not digits_agree("3.0556E+11", "0305570001234")
    assert digits_agree("105559012345", "0105559012345") and digits_agree("105559012345.0", "0105559012345")
    assert not digits_agree("masked", "0105559012345")


def test_the_project_page_says_so_as_a_note_not_a_flag(twin_db, tmp_path):
    from portal import create_app

    path, damaged, twin, raw = twin_db
    db = sqlite3.connect(path)
    pid = db.execute("SELECT project_id FROM contracts WHERE supplier_id = ? LIMIT 1", [twin]).fetchone()[0]
    db.close()
    client = create_app({"TESTING": True, "DATABASE": str(path), "COMPLAINTS_DATABASE": str(tmp_path / "c.db"),
                         "SECRET_KEY": "test"}).test_client()
    page = visible_text(client.get(f"/projects/{pid}?lang=th").get_data(as_text=True))
    assert "ข้อสังเกตเกี่ยวกับข้อมูล" in page and raw in page and twin in page
    assert "ไม่ใช่ธงแดง" in page
    moved = client.get(f"/suppliers/{damaged}")  # an old link to the damaged id leads to the twin
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/suppliers/{twin}")


@needs_shared
def test_the_real_record_from_the_issue_is_one_supplier_without_th13(tmp_path):
    """data.go.th's drone-market sample: the same company as 3.0556E+11 (FY2564-2567) and 0305560001659 (FY2568)."""
    from prongsai.derive.build import run_build
    from scrapers import datagoth

    path = tmp_path / "procurement.db"
    datagoth.load_file(path, SHARED / "data" / "thai" / "egp-contracts-datagoth-dronemarket" / "ics_egp_contracts.csv")
    run_build(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT twin_id, tax_id_raw FROM supplier_twins").fetchall() == [("0305560001659", "3.0556E+11")]
    assert db.execute("SELECT supplier_id, projects FROM agg_top_suppliers").fetchall() == [("0305560001659", 5)]
    assert db.execute("SELECT count(*) FROM red_flags WHERE code = 'TH13'").fetchone()[0] == 0
    db.close()
    # the same file again: its damaged ids come back and the next build joins them again
    datagoth.load_file(path, SHARED / "data" / "thai" / "egp-contracts-datagoth-dronemarket" / "ics_egp_contracts.csv")
    run_build(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM contracts WHERE supplier_id LIKE 'x:%'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == 0
    db.close()
