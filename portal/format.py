"""Template filters: baht with separators, B.E. dates in Thai and CE dates in English."""
from __future__ import annotations

import datetime as _dt
import json

from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from prongsai.thai import BE_OFFSET, MONTH_ABBR_TH, be_date

MONTH_ABBR_EN = [None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def is_thai() -> bool:
    return str(get_locale()) == "th"


def number(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def baht(value) -> str:
    """``1,234,567 บาท`` / ``1,234,567 baht``; unknown amounts say so."""
    if value is None:
        return _("not published")
    return _("%(amount)s baht", amount=number(value, 2 if value != int(value) and abs(value) < 1000 else 0))


def baht_short(value) -> str:
    """Big sums for dashboards: ``12.3 ล้านบาท`` / ``12.3 million baht``."""
    if value is None:
        return "–"
    for size, label in ((1e12, _("%(n)s trillion baht")), (1e9, _("%(n)s billion baht")),
                        (1e6, _("%(n)s million baht"))):
        if abs(value) >= size:
            return label % {"n": f"{value / size:,.2f}".rstrip("0").rstrip(".")}
    return baht(round(value))


def date(value) -> str:
    """ISO date (or datetime) -> ``17 ม.ค. 2568`` in Thai, ``17 Jan 2025`` in English."""
    if not value:
        return "–"
    try:
        day = _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    if is_thai():
        return be_date(day)
    return f"{day.day} {MONTH_ABBR_EN[day.month]} {day.year}"


def month(value: str) -> str:
    """``2025-01`` -> ``ม.ค. 2568`` / ``Jan 2025``."""
    year, mon = int(value[:4]), int(value[5:7])
    if is_thai():
        return f"{MONTH_ABBR_TH[mon]} {year + BE_OFFSET}"
    return f"{MONTH_ABBR_EN[mon]} {year}"


def fiscal_year(value) -> str:
    """Thai fiscal years are B.E. (Oct-Sep): ``ปีงบประมาณ 2568`` / ``FY2025``."""
    if value is None:
        return "–"
    value = int(value)
    if is_thai():
        return f"ปีงบ {value}"
    return f"FY{value - BE_OFFSET}"


def percent(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def evidence(value) -> dict:
    """``red_flags.evidence`` JSON -> dict (anything else as ``{"note": text}``)."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {"note": str(value)}
    return parsed if isinstance(parsed, dict) else {"values": parsed}


#: Stored codes shown as words (bid status, flag severity).
LABELS = {"high": _l("high"), "medium": _l("medium"), "low": _l("low"), "valid": _l("passed"),
          "disqualified": _l("failed"), "pending": _l("pending"), "withdrawn": _l("withdrawn"),
          "invited": _l("invited")}


def label(value) -> str:
    return LABELS.get(value, value)


def tilde(value) -> str:
    """A primary key as Datasette spells it in a row URL (slashes and spaces tilde-encoded)."""
    from datasette.utils import tilde_encode

    return tilde_encode(str(value))


FILTERS = {"label": label, "tilde": tilde, "number": number, "baht": baht, "baht_short": baht_short, "date": date, "month": month,
           "fiscal_year": fiscal_year, "percent": percent, "evidence": evidence}


def init_app(app) -> None:
    app.jinja_env.filters.update(FILTERS)
