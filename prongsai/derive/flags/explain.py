"""Explanations of raised flags in Thai and English, filled from the flag's evidence.

The portal's pages, the Datasette cells and ``prongsai flags explain`` all call these functions,
so a flag reads the same everywhere. Templates name evidence keys bare (``{award_amount}``); each
value is put in words by its key (:func:`word`, on :mod:`prongsai.core.words`): baht with
separators, B.E. or CE dates, percentages rounded as people say them, codes as names.
"""
from __future__ import annotations

import json
import math
import pathlib
import sqlite3
import string
from typing import Callable

from prongsai.core import words
from prongsai.derive.flags.applicability import FACTS
from prongsai.derive.flags.articles import ARTICLES
from prongsai.derive.flags.definitions import DISCLAIMER, FLAGS

#: Evidence and setting keys by what they hold; other numbers are counts, other text is shown as it is.
MONEY = frozenset({"award_amount", "reference_price", "contract_amount", "budget", "winner_amount", "second_amount",
                   "lowest_amount", "lowest_valid_amount", "amount", "total", "limit", "supplier_amount",
                   "total_amount", "unit_price", "median", "min_amount", "min_total"})
DATES = frozenset({"tender_start", "tender_end", "bid_date", "date", "first_date", "last_date"})
#: keys naming a supplier by its id: shown by name when the caller can look it up
SUPPLIERS = frozenset({"supplier_id", "partner_id", "winner_id", "second_id"})
#: keys a sentence may do without (shown as nothing when absent)
OPTIONAL = frozenset({"tax_id_raw"})

SCOPE_NAMES = {
    "th": {"process": "โครงการ", "buyer": "หน่วยงานเจ้าของงบ", "procuring_entity": "หน่วยงานจัดซื้อ",
           "tenderer": "ผู้เสนอราคา/ผู้ขาย"},
    "en": {"process": "procurement process", "buyer": "buyer", "procuring_entity": "procuring entity",
           "tenderer": "tenderer / supplier"},
}
SEVERITY_NAMES = {"th": {"high": "สูง", "medium": "กลาง", "low": "ต่ำ"},
                  "en": {"high": "high", "medium": "medium", "low": "low"}}
NOT_ENABLED = {"th": "ไม่ได้เปิดใช้ในข้อมูลชุดนี้", "en": "not enabled in this build"}
NO_FENCE = {"th": "คำนวณจากข้อมูลทั้งหมด แต่ข้อมูลชุดนี้ยังไม่พอจะคำนวณ",
            "en": "computed from all the data; this build has too little data to compute it"}

#: a process flag's tenderer-group result (``org_flags`` of R024, R028, ...): the projects that raised it
TENDERER_GROUP = {"th": "พบธงนี้ใน {processes} โครงการที่ร่วมเสนอราคา",
                  "en": "raised on {processes} of the procedures it took part in"}

Names = Callable[[str], "str | None"]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


#: the other keys with words of their own: (value, lang) -> text
BY_KEY: dict[str, Callable] = {
    **{key: words.date for key in DATES},
    "fiscal_year": words.fiscal_year, "procurement_method": words.ocds_method,
    "procurement_methods": words.ocds_methods, "method": words.method, "tax_id_status": words.tax_id_status,
    "unit": words.unit, "ratio": lambda value, lang: words.times(value),
}


def word(key: str, value, lang: str, evidence: dict, names: Names | None = None) -> str:
    """One evidence (or setting) value in words, by its key."""
    if key in OPTIONAL:
        return f" ({value})" if value not in (None, "") else ""
    if key in MONEY:
        return words.money(value, evidence.get("currency"), lang)
    if key.endswith("_pct") or key.startswith("pct_"):
        return words.percent_points(value, lang)
    if key in SUPPLIERS:
        name = names(str(value)) if names else None
        return name or (f"รหัส {value}" if lang == "th" else f"no. {value}")
    if key in BY_KEY:
        return BY_KEY[key](value, lang)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return words.count(value)


def fill(template: str, values: dict, lang: str, names: Names | None = None) -> str | None:
    """``template`` with every field in words, or None when a value it needs is missing."""
    present = {k: v for k, v in values.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
    fields = _fields(template)
    if not fields - OPTIONAL <= present.keys():
        return None
    try:
        return template.format(**{k: word(k, present.get(k), lang, present, names) for k in fields})
    except (ValueError, TypeError, IndexError, KeyError):
        return None


def explain(code: str, evidence, lang: str = "th", *, names: Names | None = None) -> str:
    """One sentence for a raised flag: the template of ``code`` in ``lang`` filled from ``evidence``.

    ``evidence`` is the flag's evidence (a dict or its JSON text); ``names`` looks up a supplier's
    name by its id. When a value the template needs is missing, the flag's title is returned
    instead of a half-filled sentence.
    """
    flag = FLAGS[code]
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    template = flag.explanation_th if lang == "th" else flag.explanation_en
    evidence = evidence or {}
    return (fill(template, evidence, lang, names) or fill(TENDERER_GROUP[lang], evidence, lang)
            or title(code, lang))


def title(code: str, lang: str = "th") -> str:
    flag = FLAGS[code]
    return flag.title_th if lang == "th" else flag.title_en


def article(code: str, lang: str) -> dict[str, str]:
    """The flag's page text: ``meaning``, ``why``, ``innocent`` and the ``threshold`` template."""
    return ARTICLES[code][lang]


def threshold_text(code: str, stored, lang: str) -> str:
    """The threshold in force, in words: ``stored`` is ``flag_definitions.threshold`` (JSON text or None)."""
    if not stored:
        return NOT_ENABLED[lang]
    value = json.loads(stored) if isinstance(stored, str) else stored
    if "settings" in value or "meta" in value:  # Cardinal's: its settings and the fences it computed
        value = {**value.get("settings", {}), **value.get("meta", {})}
    values = {**FLAGS[code].defaults, **value}
    for key in list(values):  # fences and ratio thresholds are fractions: their percentage beside them
        if (key.endswith("_fence") or key == "threshold") and isinstance(values[key], (int, float)):
            values[f"{key}_pct"] = values[key] * 100
    return fill(article(code, lang)["threshold"], values, lang) or NO_FENCE[lang]


def applicability_of(db_path, code: str) -> dict | None:
    """The flag's ``flag_applicability`` row in a built database, or None (no database, not built)."""
    path = pathlib.Path(db_path)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM flag_applicability WHERE code = ?", [code]).fetchone()
    except sqlite3.OperationalError:  # built before flag_applicability existed
        row = None
    finally:
        conn.close()
    return dict(row) if row else None


def applicability_text(row: dict, lang: str) -> str:
    """"fired on 12 of 340 testable projects (3.5%)", and the mis-calibration warning."""
    share = words.percent(row["share"], lang)
    unit = {"projects": ("โครงการ", "projects"), "organisations": ("หน่วยงาน/ผู้ขาย", "organisations")}[row["counted"]]
    fired, testable = words.count(row["fired"]), words.count(row["testable"])
    limit = words.percent_points(row["max_fired_pct"], lang)
    if lang == "th":
        text = f"พบใน {fired} จาก {testable} {unit[0]}ที่ตรวจได้ ({share})"
        if row["miscalibrated"]:
            text += f" เกิน {limit}: เกณฑ์อาจไม่เหมาะกับข้อมูลชุดนี้"
    else:
        text = f"fired on {fired} of {testable} testable {unit[1]} ({share})"
        if row["miscalibrated"]:
            text += f", more than {limit}: probably mis-calibrated for this data"
    return text


def describe(code: str, lang: str = "th", *, evidence=None, applicability: dict | None = None) -> str:
    """A short text about the flag itself (``prongsai flags explain CODE``): its article, the
    sentence filled from ``evidence`` when given, and how often it fired in a built database."""
    flag = FLAGS[code]
    scopes = ", ".join(SCOPE_NAMES[lang][s] for s in flag.scopes)
    text = article(code, lang)
    labels = ({"meaning": "หมายความว่า", "why": "ทำไมจึงน่าสงสัย", "innocent": "เมื่อใดไม่มีอะไรผิด",
               "example": "ตัวอย่าง"} if lang == "th" else
              {"meaning": "meaning", "why": "why it matters", "innocent": "when it is innocent", "example": "example"})
    if lang == "th":
        lines = [f"{flag.code} {flag.title_th}", f"ระดับความเสี่ยง: {SEVERITY_NAMES['th'][flag.severity]}",
                 f"ใช้กับ: {scopes}"]
        if flag.cardinal_code:
            lines.append(f"ตัวชี้วัด {flag.cardinal_code} ของ OCP Cardinal (นิยามและค่าตั้งต้นเดียวกัน)")
    else:
        lines = [f"{flag.code} {flag.title_en}", f"severity: {flag.severity}", f"applies to: {scopes}"]
        if flag.cardinal_code:
            lines.append(f"OCP Cardinal indicator {flag.cardinal_code} (same definition and defaults)")
    lines += [f"{labels[k]}: {text[k]}" for k in ("meaning", "why", "innocent")]
    if evidence:
        lines.append(f"{labels['example']}: {explain(code, evidence, lang)}")
    needs = ", ".join(FACTS[need][2 if lang == "th" else 1] for need in flag.needs)
    lines.append(f"ต้องใช้ข้อมูล: {needs}" if lang == "th" else f"needs: {needs}")
    if applicability:
        lines.append(applicability_text(applicability, lang))
    lines.append(DISCLAIMER[lang])
    return "\n".join(lines)
