"""Template filters, the one formatting layer of the pages: baht with separators, B.E. dates in Thai
and CE dates in English, shares rounded as people say them, codes and names in the page's language.

The words themselves are :mod:`prongsai.core.words` (shared with the red-flag sentences and the
CLI); these filters bind the page's language.
"""
from __future__ import annotations

import datetime as _dt
import json
from urllib.parse import quote, urlencode

from flask import request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal.i18n import current_lang
from portal.i18n import gettext as _
from prongsai.core import words
from prongsai.core.thai import BE_OFFSET, MONTH_ABBR_TH, THAI_TZ
from prongsai.core.words import MONTH_ABBR_EN
from prongsai.derive.flags.definitions import FLAGS
from prongsai.derive.flags.explain import SCOPE_NAMES
from prongsai.derive.flags.explain import title as _flag_title


def is_thai() -> bool:
    return current_lang() == "th"


def lang() -> str:
    return "th" if is_thai() else "en"


number = words.number


def baht(value) -> str:
    """``1,234,567 บาท`` / ``1,234,567 baht``; unknown amounts say so."""
    return words.baht(value, lang())


def money(value, currency=None) -> str:
    """An amount in its own currency: baht for THB (or unstated), else ``68,327 UAH``."""
    return words.money(value, currency, lang())


def baht_short(value) -> str:
    """Big sums for dashboards: ``12.3 ล้านบาท`` / ``12.3 million baht``."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 1e12:
        return _("%(n)s trillion baht", n=_short(value / 1e12))
    if size >= 1e9:
        return _("%(n)s billion baht", n=_short(value / 1e9))
    if size >= 1e6:
        return _("%(n)s million baht", n=_short(value / 1e6))
    return baht(round(value))


def _short(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def date(value) -> str:
    """ISO date (or datetime) -> ``17 ม.ค. 2568`` in Thai, ``17 Jan 2025`` in English."""
    return words.date(value, lang())


def moment(value) -> str:
    """A stored UTC time -> its date (as ``date``) and hour in Thai time: ``7 ธ.ค. 2569 18:20 น.``."""
    if not value:
        return "–"
    try:
        when = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    when = when.astimezone(THAI_TZ)
    clock = when.strftime("%H:%M")
    return f"{date(when.date().isoformat())} {clock} " + ("น." if is_thai() else "(Thai time)")


def month(value: str) -> str:
    """``2025-01`` -> ``ม.ค. 2568`` / ``Jan 2025``."""
    year, mon = int(value[:4]), int(value[5:7])
    if is_thai():
        return f"{MONTH_ABBR_TH[mon]} {year + BE_OFFSET}"
    return f"{MONTH_ABBR_EN[mon]} {year}"


def fiscal_year_label(value) -> str:
    """Thai fiscal years are B.E. (Oct-Sep): ``ปีงบประมาณ 2568`` / ``FY2025``."""
    if value is None:
        return "–"
    value = int(value)
    if is_thai():
        return f"ปีงบ {value}"
    return f"FY{value - BE_OFFSET}"


def percent(value) -> str:
    """A share (0.382) as ``38%``; ``0.4%`` under 10 %, ``under 0.1%`` rather than ``0.0%``."""
    return words.percent(value, lang())


def method_name(value) -> str:
    """A Thai method name as published; in English its English name where known."""
    return words.method(value, lang())


def ministry_name(value) -> str:
    return words.ministry(value, lang())


def term(value) -> str:
    """A Thai project type or contract state; in English its English name where known."""
    return words.term(value, lang())


def unit_name(value) -> str:
    """A Thai counting unit; in English its English name where known."""
    return words.unit(value, lang()) if value else ""


def role(org_type) -> str:
    """An organisation's part in a flag (``buyer``, ``procuring_entity``, ``tenderer``) in words."""
    return SCOPE_NAMES[lang()].get(org_type, org_type)


def flag_title(code) -> str:
    """A red flag's code as its title in the page's language (a code we do not define stays a code)."""
    return _flag_title(code, lang()) if code in FLAGS else str(code)


def announcement(code) -> str:
    """An e-GP announcement type (``15``, ``D0``, ``W0``) in words."""
    return words.announcement(code, lang())


def evidence(value) -> dict:
    """``red_flags.evidence`` JSON -> dict (anything else as ``{"note": text}``)."""
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {"note": str(value)}
    return parsed if isinstance(parsed, dict) else {"values": parsed}


#: Stored codes shown as words (bid and award status, flag severity).
LABELS = {"high": _l("high"), "medium": _l("medium"), "low": _l("low"), "valid": _l("passed"),
          "disqualified": _l("failed"), "pending": _l("pending"), "withdrawn": _l("withdrawn"),
          "invited": _l("invited"), "active": _l("awarded"), "cancelled": _l("cancelled"),
          "unsuccessful": _l("unsuccessful")}


def label(value) -> str:
    return LABELS.get(value, value)


def tilde(value) -> str:
    """A primary key as Datasette spells it in a row URL (slashes and spaces tilde-encoded)."""
    from datasette.utils import tilde_encode

    return tilde_encode(str(value))


FILTERS = {"money": money, "label": label, "tilde": tilde, "number": number, "baht": baht, "baht_short": baht_short, "date": date, "moment": moment, "month": month,
           "fiscal_year_label": fiscal_year_label, "percent": percent, "evidence": evidence,
           "method_name": method_name, "ministry_name": ministry_name, "announcement": announcement,
           "term": term, "role": role, "unit_name": unit_name,
           "flag_title": flag_title}


def _path(*parts: str) -> str:
    return request.script_root + "/" + "/".join(quote(str(p), safe="/") for p in parts)


# Links built by hand in long lists: url_for costs ~0.1 ms a call and a dashboard has hundreds.
def project_url(project_id) -> str:
    return _path("projects", project_id)


def agency_url(agency_id) -> str:
    return _path("agencies", agency_id)


def supplier_url(supplier_id) -> str:
    return _path("suppliers", supplier_id)


def search_url(**args) -> str:
    return _path("search") + "?" + urlencode({k: v for k, v in args.items() if v not in (None, "")})


def flag_badges(codes, defs: dict) -> Markup:
    """Links to the flags raised on a project (``codes`` space- or comma-separated)."""
    out = []
    for code in (codes or "").replace(",", " ").split():
        d = defs.get(code) or {}
        out.append(f'<a class="badge sev-{escape(d.get("severity") or "none")}" '
                   f'href="{escape(_path("flags", code))}">{escape(d.get("title") or code)}</a>')
    return Markup(" ".join(out))


def feed_url(kind: str, key) -> str:
    return _path("feeds", kind, str(key) + ".atom")


GLOBALS = {"flag_badges": flag_badges, "feed_url": feed_url, "project_url": project_url, "agency_url": agency_url, "supplier_url": supplier_url,
           "search_url": search_url}


def init_app(app) -> None:
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(GLOBALS)
