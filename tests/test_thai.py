import pytest

from prongsai.core.thai import (
    be_date,
    classify_tax_id,
    fiscal_year,
    is_valid_tax_id,
    normalize_name,
    parse_amount,
    parse_be_date,
    supplier_id,
    tax_id_check_digit,
)


@pytest.mark.parametrize("raw, iso", [
    ("15-ก.ย.-64", "2021-09-15"),
    ("17 ม.ค. 68", "2025-01-17"),
    ("๓๐ กันยายน พ.ศ. ๒๕๖๙", "2026-09-30"),
    ("ประกาศ ณ วันที่ 1 ต.ค. 2568".replace("ประกาศ ", ""), "2025-10-01"),
    ("2026-05-11T10:00:00", "2026-05-11"),
    ("-", None),
    ("", None),
])
def test_parse_be_date(raw, iso):
    assert parse_be_date(raw) == iso


@pytest.mark.parametrize("raw", ["32-ก.ย.-64", "15-Sep-64", "yesterday"])
def test_parse_be_date_rejects_with_the_value(raw):
    with pytest.raises(ValueError, match="64|yesterday"):
        parse_be_date(raw)


def test_fiscal_year_october_starts_the_next():
    assert fiscal_year("2025-09-30") == 2568
    assert fiscal_year("2025-10-01") == 2569
    assert be_date("2025-01-17") == "17 ม.ค. 2568"


def test_amounts_with_thai_digits_and_separators():
    assert parse_amount("๑,๖๓๘,๓๐๓.๗๕ บาท") == 1638303.75
    assert parse_amount("3,498,760,900.00") == 3498760900.0
    assert parse_amount("-") is None
    with pytest.raises(ValueError, match="abc"):
        parse_amount("abc")


def test_tax_id_check_digit():
    # 0105536000000 style ids: the 13th digit is mod-11 over weights 13..2
    first12 = "010553600001"
    full = first12 + str(tax_id_check_digit(first12))
    assert is_valid_tax_id(full)
    wrong = full[:12] + str((int(full[12]) + 1) % 10)
    assert not is_valid_tax_id(wrong)


@pytest.mark.parametrize("raw, status", [
    ("1.05559E+11", "damaged"), ("1.05559e+11", "damaged"), ("313060050xxxx", "masked"),
    ("-", "missing"), ("12345", "invalid"), ("105536000012", "damaged"),
])
def test_classify_tax_id(raw, status):
    assert classify_tax_id(raw) == (None, status)


def test_damaged_ids_never_merge_companies():
    a = supplier_id("1.05559E+11", "บริษัท ก จำกัด")
    b = supplier_id("1.05559E+11", "บริษัท ข จำกัด")
    assert a[0] != b[0] and a[0].startswith("x:") and a[2] == "damaged"
    assert supplier_id("1.05559E+11", "บริษัท  ก จำกัด")[0] == a[0]  # same company, same id


def test_normalize_name():
    assert normalize_name("ห้างหุ้นส่วนจำกัด ห้างหุ้นส่วนจำกัด  สิทธิยนต์") == "ห้างหุ้นส่วนจำกัด สิทธิยนต์"
    assert normalize_name("บริษัท เอ (สัญญากิจการค้าร่วม)") == "บริษัท เอ (กิจการร่วมค้า)"


def test_the_current_fiscal_year_turns_on_1_october_in_thailand(monkeypatch):
    import datetime as dt

    from prongsai.core import clock, thai

    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2025, 9, 30, 16, 59, tzinfo=dt.timezone.utc))
    assert thai.current_fiscal_year() == 2568
    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2025, 9, 30, 17, 0, tzinfo=dt.timezone.utc))
    assert thai.current_fiscal_year() == 2569 and thai.thai_today() == dt.date(2025, 10, 1)
