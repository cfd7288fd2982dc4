"""Thai data helpers shared by scrapers, flags and the portal: digits, dates, money, ids, names.

One place for every rule about Thai public records, so a fix reaches every source at once.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
import unicodedata

from prongsai.core import clock

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

#: Thai month abbreviations and full names -> month number.
MONTHS = {
    "ม.ค.": 1, "ก.พ.": 2, "มี.ค.": 3, "เม.ย.": 4, "พ.ค.": 5, "มิ.ย.": 6,
    "ก.ค.": 7, "ส.ค.": 8, "ก.ย.": 9, "ต.ค.": 10, "พ.ย.": 11, "ธ.ค.": 12,
    "มกราคม": 1, "กุมภาพันธ์": 2, "มีนาคม": 3, "เมษายน": 4, "พฤษภาคม": 5, "มิถุนายน": 6,
    "กรกฎาคม": 7, "สิงหาคม": 8, "กันยายน": 9, "ตุลาคม": 10, "พฤศจิกายน": 11, "ธันวาคม": 12,
}
MONTH_ABBR_TH = [None, "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
                 "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
BE_OFFSET = 543
#: Thailand's clock, UTC+7 all year (no summer time): where the fiscal and the B.E. year turn.
THAI_TZ = _dt.timezone(_dt.timedelta(hours=7), "ICT")

_EMPTY = {"", "-", "--", "null", "none", "nan"}


def to_arabic_digits(text: str) -> str:
    """Read Thai digits (๐-๙) as Arabic digits."""
    return text.translate(THAI_DIGITS)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY)


def parse_amount(value) -> float | None:
    """``'๑,๖๓๘,๓๐๓.๗๕ บาท'``, ``'3,498,760,900.00'``, ``48735000.0`` -> float; ``-``/blank -> None."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    text = to_arabic_digits(value).replace(",", "").replace("บาท", "").strip()
    if text.lower() in _EMPTY:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not an amount: {value!r}") from None


_DATE_RE = re.compile(
    r"^\s*(?P<d>\d{1,2})\s*[-\s/]\s*(?P<m>[^\s\d/-]+|\d{1,2})\s*[-\s/]\s*(?P<y>\d{2,4})\s*$"
)


def parse_be_date(value) -> str | None:
    """A Buddhist-era date as published -> ISO ``YYYY-MM-DD`` (common era).

    Handles ``15-ก.ย.-64``, ``17 ม.ค. 68``, ``๓๐ กันยายน ๒๕๖๙``, ``30/09/2569`` and ISO input;
    ``-`` and blanks give None; anything else raises ``ValueError`` naming the value.
    """
    if is_blank(value):
        return None
    text = to_arabic_digits(str(value)).strip()
    text = re.sub(r"^(ณ\s*)?วันที่\s*", "", text).replace("พ.ศ.", " ")
    text = re.sub(r"\s+", " ", text).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):  # ISO already (CE); keep the date part
        year = int(text[:4])
        if year > 2400:
            year -= BE_OFFSET
        return _dt.date(year, int(text[5:7]), int(text[8:10])).isoformat()
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(f"not a Thai date: {value!r}")
    day, month_text, year_text = int(m["d"]), m["m"], m["y"]
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text)
    if month is None:
        raise ValueError(f"unknown Thai month {month_text!r} in {value!r}")
    year = int(year_text)
    if year < 100:
        year += 2500  # two-digit B.E. year: 64 -> 2564
    if year > 2400:
        year -= BE_OFFSET
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(f"impossible date: {value!r}") from None


def fiscal_year(date: str | _dt.date) -> int:
    """Thai fiscal year (B.E.) of a CE date: Oct 2025 -> 2569."""
    if isinstance(date, str):
        date = _dt.date.fromisoformat(date[:10])
    return date.year + BE_OFFSET + (1 if date.month >= 10 else 0)


def thai_today() -> _dt.date:
    """Today's date in Thailand (the server's clock is UTC: 1 October begins 7 hours earlier there)."""
    return clock.utcnow().astimezone(THAI_TZ).date()


def current_fiscal_year() -> int:
    """The Thai fiscal year running now: a live refresh's default."""
    return fiscal_year(thai_today())


def be_date(date: str | _dt.date, *, long: bool = False) -> str:
    """ISO date -> ``17 ม.ค. 2568`` (what a Thai reader expects)."""
    if isinstance(date, str):
        date = _dt.date.fromisoformat(date[:10])
    return f"{date.day} {MONTH_ABBR_TH[date.month]} {date.year + BE_OFFSET}"


# --- tax ids -------------------------------------------------------------------------------


def tax_id_check_digit(first12: str) -> int:
    """Check digit of a Thai 13-digit tax / citizen id (mod 11 over weights 13..2)."""
    total = sum(int(d) * w for d, w in zip(first12, range(13, 1, -1)))
    return (11 - total % 11) % 10


def is_valid_tax_id(tax_id: str) -> bool:
    return bool(re.fullmatch(r"\d{13}", tax_id)) and tax_id_check_digit(tax_id[:12]) == int(tax_id[12])


_EXCEL_RE = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def classify_tax_id(raw) -> tuple[str | None, str]:
    """Published tax id -> (13-digit id or None, status ok/masked/damaged/missing/invalid).

    Excel turned FY2565-2567 ids into ``1.05559E+11``: the digits are gone, so such an id is
    ``damaged`` and never becomes a valid-looking id. Natural persons are masked ``313060050xxxx``.
    """
    if is_blank(raw):
        return None, "missing"
    text = to_arabic_digits(str(raw)).strip().replace("-", "").replace(" ", "")
    if _EXCEL_RE.match(text):
        return None, "damaged"
    if "x" in text.lower() or "*" in text:
        return None, "masked"
    if text.endswith(".0") and text[:-2].isdigit():  # a number that went through a float
        text = text[:-2]
    if re.fullmatch(r"\d{12}", text):  # leading zero lost by a spreadsheet
        return None, "damaged"
    if re.fullmatch(r"\d{13}", text):
        return (text, "ok") if is_valid_tax_id(text) else (None, "invalid")
    return None, "invalid"


# --- names and ids -------------------------------------------------------------------------

LEGAL_FORMS = (
    "บริษัทมหาชนจำกัด", "บริษัท", "ห้างหุ้นส่วนจำกัด", "ห้างหุ้นส่วนสามัญ", "หจก.", "บจก.", "บมจ.",
)
JV_MARKERS = ("(สัญญากิจการค้าร่วม)", "(กิจการร่วมค้า)", "(กิจการค้าร่วม)")


def normalize_name(name: str | None) -> str:
    """A comparable form of a Thai organisation name.

    NFC, Thai digits, collapsed spaces, a doubled legal-form prefix said once
    (``ห้างหุ้นส่วนจำกัด ห้างหุ้นส่วนจำกัด สิทธิยนต์``), joint-venture markers kept once at the end.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFC", to_arabic_digits(name))
    text = re.sub(r"\s+", " ", text).strip()
    jv = any(marker in text for marker in JV_MARKERS)
    for marker in JV_MARKERS:
        text = text.replace(marker, " ")
    text = re.sub(r"\s+", " ", text).strip()
    for form, doubled in _DOUBLED_FORMS:
        if text.startswith(form):
            text = doubled.sub(form + " ", text).strip()
    return text + (" (กิจการร่วมค้า)" if jv else "")


_DOUBLED_FORMS = [(form, re.compile(rf"^(?:{re.escape(form)}\s*){{2,}}")) for form in LEGAL_FORMS]


def short_hash(*parts: str | None, length: int = 16) -> str:
    joined = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:length]


def supplier_id(raw_tax_id, name: str | None) -> tuple[str, str | None, str]:
    """(suppliers.id, tax_id, tax_id_status) for a published tax id and name.

    A valid id is the key; otherwise ``x:`` + a hash of the raw id *and* the normalised name,
    so two companies behind the same damaged id never merge.
    """
    tax_id, status = classify_tax_id(raw_tax_id)
    if tax_id:
        return tax_id, tax_id, status
    raw = "" if raw_tax_id is None else str(raw_tax_id).strip()
    return "x:" + short_hash(raw, normalize_name(name)), None, status


def agency_id(department_code: str | None, name: str | None) -> str:
    """agencies.id: the e-GP department code when known, else ``name:`` + normalised Thai name."""
    if department_code and str(department_code).strip():
        return str(department_code).strip()
    return "name:" + normalize_name(name)


# --- procurement methods -------------------------------------------------------------------

#: (text found in a Thai method name, method group under the 2560 Act, OCDS procurementMethod);
#: the first match wins, so the consultant variants naming their group come first.
METHOD_RULES = (
    ("ประกาศเชิญชวน", "ประกาศเชิญชวนทั่วไป", "open"),
    ("คัดเลือก", "คัดเลือก", "selective"),
    ("เฉพาะเจาะจง", "เฉพาะเจาะจง", "limited"),
    ("e-bidding", "ประกาศเชิญชวนทั่วไป", "open"),
    ("e-market", "ประกาศเชิญชวนทั่วไป", "open"),
    ("ตลาดอิเล็กทรอนิกส์", "ประกาศเชิญชวนทั่วไป", "open"),
    ("ประกวดราคา", "ประกาศเชิญชวนทั่วไป", "open"),
    ("สอบราคา", "ประกาศเชิญชวนทั่วไป", "open"),
    ("ตกลงราคา", None, "limited"),      # legacy (before the 2560 Act)
    ("วิธีพิเศษ", None, "limited"),     # legacy
    ("กรณีพิเศษ", None, "limited"),
)


def method_group(method: str | None) -> tuple[str | None, str | None]:
    """(method group, OCDS method) of a Thai method name as published; (None, None) if unknown."""
    if not method:
        return None, None
    for text, group, ocds in METHOD_RULES:
        if text in method:
            return group, ocds
    return None, None
