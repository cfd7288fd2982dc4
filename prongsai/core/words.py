"""Numbers, money, dates and codes as a person reads them, in Thai (``th``) or English (``en``).

One implementation for every reader: the portal's template filters (``portal.format``) bind the
page's language, the red-flag sentences (``prongsai.derive.flags.explain``) and the CLI pass it.
Thai pages read B.E. dates in Bangkok time and บาท; English pages CE dates and THB (as "baht").
"""
from __future__ import annotations

import csv
import datetime as _dt
import functools
import pathlib
import re

from prongsai.core.thai import BE_OFFSET, THAI_TZ, be_date

MONTH_ABBR_EN = [None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
NAMES = pathlib.Path(__file__).with_name("names")
_LATIN_ASIDE = re.compile(r"\s*\([A-Za-z][A-Za-z .-]*\)\s*$")
UNKNOWN = {"th": "ไม่ระบุ", "en": "not stated"}


def number(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def count(value) -> str:
    """A count or a plain quantity: ``1,234``; a fraction keeps one decimal (``7.5``)."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def baht(value, lang: str) -> str:
    """``1,234,567 บาท`` / ``1,234,567 baht``: satang only under 1,000 baht."""
    if value is None:
        return {"th": "ไม่ได้เผยแพร่", "en": "not published"}[lang]
    digits = 2 if value != int(value) and abs(value) < 1000 else 0
    return f"{number(value, digits)} " + ("บาท" if lang == "th" else "baht")


def money(value, currency, lang: str) -> str:
    """An amount in its own currency: baht for THB (or unstated), else ``68,327 UAH``."""
    if currency in (None, "", "THB") or value is None:
        return baht(value, lang)
    return f"{number(value, 2 if value != int(value) else 0)} {currency}"


def percent_points(value, lang: str = "th") -> str:
    """A percentage (already ×100) rounded as a person would say it: ``0%``, ``under 0.1%``,
    ``0.4%``, ``12.5%``, ``38%``; never ``0.0 %``."""
    if value is None:
        return "–"
    size = abs(value)
    if size == 0:
        return "0%"
    if size < 0.1:
        return ("ไม่ถึง 0.1%" if lang == "th" else "under 0.1%")
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if size < 10 else f"{value:,.0f}"
    return text + "%"


def percent(fraction, lang: str = "th") -> str:
    """A share (0.382) as ``38%``."""
    return "–" if fraction is None else percent_points(fraction * 100, lang)


def times(value) -> str:
    """A ratio as "so many times": ``2.3``."""
    return "–" if value is None else f"{value:,.1f}".rstrip("0").rstrip(".")


def date(value, lang: str) -> str:
    """An ISO date (or datetime, read in Bangkok time) -> ``17 ม.ค. 2568`` / ``17 Jan 2025``."""
    if not value:
        return "–"
    text = str(value)
    try:
        if len(text) > 10 and ("T" in text or " " in text):
            when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            day = (when.astimezone(THAI_TZ) if when.tzinfo else when).date()
        else:
            day = _dt.date.fromisoformat(text[:10])
    except ValueError:
        return text
    if lang == "th":
        return be_date(day)
    return f"{day.day} {MONTH_ABBR_EN[day.month]} {day.year}"


def fiscal_year(value, lang: str) -> str:
    """A Thai fiscal year (stored in B.E.) as its reader counts it: ``2568`` / ``2025``."""
    if value is None:
        return "–"
    value = int(value)
    return str(value) if lang == "th" else str(value - BE_OFFSET)


#: OCDS procurementMethod codes as the 2560 Act names them.
OCDS_METHODS = {
    "th": {"open": "ประกาศเชิญชวนทั่วไป", "selective": "คัดเลือก", "limited": "เฉพาะเจาะจง",
           "direct": "เฉพาะเจาะจง"},
    "en": {"open": "open", "selective": "selective", "limited": "specific (direct purchase)",
           "direct": "direct"},
}


def ocds_method(code, lang: str) -> str:
    return OCDS_METHODS[lang].get(code, code) if code else UNKNOWN[lang]


def ocds_methods(codes, lang: str) -> str:
    """A setting's ``open|selective`` as ``ประกาศเชิญชวนทั่วไป และคัดเลือก`` / ``open and selective``."""
    names = [ocds_method(c, lang) for c in str(codes or "").split("|") if c]
    joiner = " และ" if lang == "th" else " and "
    return (", ".join(names[:-1]) + joiner + names[-1]) if len(names) > 1 else (names[0] if names else UNKNOWN[lang])


@functools.cache
def _method_rules() -> tuple[tuple[str, str], ...]:
    with open(NAMES / "methods.csv", encoding="utf-8", newline="") as f:
        return tuple((row["contains"], row["name_en"]) for row in csv.DictReader(f))


@functools.cache
def _ministries() -> dict[str, str]:
    with open(NAMES / "ministries.csv", encoding="utf-8", newline="") as f:
        return {row["name_th"]: row["name_en"] for row in csv.DictReader(f)}


def method(name, lang: str) -> str:
    """A Thai method name as published, without its English aside (``(e-bidding)``) in Thai; in
    English its name from ``names/methods.csv`` where known."""
    if not name:
        return "–"
    if lang == "th":
        return _LATIN_ASIDE.sub("", name) or name
    return next((en for th, en in _method_rules() if th in name), name)


def ministry(name, lang: str) -> str:
    """A ministry's Thai name; in English its official name from ``names/ministries.csv`` where known."""
    if not name:
        return "–"
    return name if lang == "th" else _ministries().get(name.strip(), name)


#: ``suppliers.tax_id_status`` (``prongsai.core.thai.classify_tax_id``) in words.
TAX_ID_STATUS = {
    "th": {"ok": "ถูกต้อง", "masked": "ถูกปิดบางหลัก", "damaged": "เสียหายในไฟล์ต้นทาง",
           "invalid": "ไม่ผ่านการตรวจเลขหลักสุดท้าย", "missing": "ไม่ได้เผยแพร่"},
    "en": {"ok": "valid", "masked": "partly masked", "damaged": "damaged in the source file",
           "invalid": "failing its check digit", "missing": "not published"},
}


def tax_id_status(status, lang: str) -> str:
    return TAX_ID_STATUS[lang].get(status, UNKNOWN[lang] if not status else status)


#: e-GP announcement types (the RSS feed's ``anounceType``) in words.
ANNOUNCEMENTS = {
    "th": {"P0": "แผนการจัดซื้อจัดจ้าง", "B0": "ร่างเอกสารประกวดราคา", "15": "ประกาศราคากลาง",
           "D0": "ประกาศเชิญชวน", "D1": "ยกเลิกประกาศเชิญชวน", "D2": "เปลี่ยนแปลงประกาศเชิญชวน",
           "W0": "ประกาศผู้ชนะการเสนอราคา", "W1": "ยกเลิกประกาศผู้ชนะ", "W2": "เปลี่ยนแปลงประกาศผู้ชนะ"},
    "en": {"P0": "procurement plan", "B0": "draft tender documents", "15": "reference price",
           "D0": "invitation to bid", "D1": "invitation cancelled", "D2": "invitation amended",
           "W0": "winner announced", "W1": "winner announcement cancelled", "W2": "winner announcement amended"},
}


def announcement(code, lang: str) -> str:
    return ANNOUNCEMENTS[lang].get(str(code), UNKNOWN[lang] if not code else str(code))


#: Thai terms e-GP and data.go.th use for project types and contract states, in English.
TERMS_EN = {
    "ซื้อ": "purchase", "จ้างก่อสร้าง": "construction", "จ้างทำของ/จ้างเหมาบริการ": "services",
    "จ้างที่ปรึกษา": "consulting", "จ้างออกแบบ": "design", "จ้างควบคุมงาน": "works supervision",
    "เช่า": "rental", "จัดทำสัญญา/บริหารสัญญา": "contract signed, being managed",
    "ระหว่างดำเนินการ": "in progress", "สิ้นสุดสัญญา": "contract ended",
    "แล้วเสร็จตามสัญญา": "completed as contracted", "ยกเลิกสัญญา": "contract cancelled",
    "ยกเลิกโครงการ": "project cancelled",
}


def term(value, lang: str) -> str:
    """A Thai project type or contract state as published; in English its English name where known."""
    if not value:
        return "–"
    return value if lang == "th" else TERMS_EN.get(value.strip(), value)


#: Thai counting units (``items.unit``, normalised) in English.
UNITS_EN = {"เครื่อง": "unit", "ชุด": "set", "ตัว": "piece", "อัน": "piece", "ชิ้น": "piece", "กก.": "kg",
            "กิโลกรัม": "kg", "ลิตร": "litre", "เล่ม": "volume", "คัน": "vehicle", "แห่ง": "site", "หลัง": "building",
            "เมตร": "metre", "ตร.ม.": "square metre", "กล่อง": "box", "ม้วน": "roll", "รีม": "ream", "คน": "person",
            "เดือน": "month", "งาน": "job", "รายการ": "item"}


def unit(value, lang: str) -> str:
    """A Thai counting unit as published; in English its English name where known."""
    if not value:
        return "–"
    text = str(value).strip()
    return text if lang == "th" else UNITS_EN.get(text, text)
