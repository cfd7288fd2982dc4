"""Explanations of raised flags in Thai and English, filled from the flag's evidence.

The portal's flag pages and ``prongsai flags explain`` both call these functions, so a flag reads
the same everywhere.
"""
from __future__ import annotations

import json
import pathlib
import sqlite3
import string

from prongsai.derive.flags.applicability import FACTS
from prongsai.derive.flags.definitions import DISCLAIMER, FLAGS

SCOPE_NAMES = {
    "th": {"process": "โครงการ", "buyer": "หน่วยงานเจ้าของงบ", "procuring_entity": "หน่วยงานจัดซื้อ",
           "tenderer": "ผู้เสนอราคา/ผู้ขาย"},
    "en": {"process": "procurement process", "buyer": "buyer", "procuring_entity": "procuring entity",
           "tenderer": "tenderer / supplier"},
}
SEVERITY_NAMES = {"th": {"high": "สูง", "medium": "กลาง", "low": "ต่ำ"},
                  "en": {"high": "high", "medium": "medium", "low": "low"}}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def explain(code: str, evidence, lang: str = "th") -> str:
    """One sentence for a raised flag: the template of ``code`` in ``lang`` filled from ``evidence``.

    ``evidence`` is the flag's evidence (a dict or its JSON text). When a number the template
    needs is missing, the flag's title is returned instead of a half-filled sentence.
    """
    flag = FLAGS[code]
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    evidence = evidence or {}
    template = flag.explanation_th if lang == "th" else flag.explanation_en
    values = {k: v for k, v in evidence.items() if v is not None}
    if not _fields(template) <= values.keys():
        return flag.title_th if lang == "th" else flag.title_en
    try:
        return template.format(**values)
    except (ValueError, TypeError):  # a value of an unexpected type for its format
        return flag.title_th if lang == "th" else flag.title_en


def title(code: str, lang: str = "th") -> str:
    flag = FLAGS[code]
    return flag.title_th if lang == "th" else flag.title_en


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
    """"fired on 12 of 340 testable projects (3.5 %)", and the mis-calibration warning."""
    share = f"{row['share'] * 100:.1f} %" if row["share"] is not None else "–"
    unit = {"projects": ("โครงการ", "projects"), "organisations": ("หน่วยงาน/ผู้ขาย", "organisations")}[row["counted"]]
    if lang == "th":
        text = f"พบใน {row['fired']:,} จาก {row['testable']:,} {unit[0]}ที่ตรวจได้ ({share})"
        if row["miscalibrated"]:
            text += f" เกิน {row['max_fired_pct']:g} %: เกณฑ์อาจไม่เหมาะกับข้อมูลชุดนี้"
    else:
        text = f"fired on {row['fired']:,} of {row['testable']:,} testable {unit[1]} ({share})"
        if row["miscalibrated"]:
            text += f", more than {row['max_fired_pct']:g} %: probably mis-calibrated for this data"
    return text


def describe(code: str, lang: str = "th", *, evidence=None, applicability: dict | None = None) -> str:
    """A short text about the flag itself (``prongsai flags explain CODE``)."""
    flag = FLAGS[code]
    scopes = ", ".join(SCOPE_NAMES[lang][s] for s in flag.scopes)
    template = flag.explanation_th if lang == "th" else flag.explanation_en
    if lang == "th":
        lines = [f"{flag.code} {flag.title_th}", f"ระดับความเสี่ยง: {SEVERITY_NAMES['th'][flag.severity]}",
                 f"ใช้กับ: {scopes}"]
        if flag.cardinal_code:
            lines.append(f"ตัวชี้วัด {flag.cardinal_code} ของ OCP Cardinal (นิยามและค่าตั้งต้นเดียวกัน)")
        lines.append(f"คำอธิบาย: {explain(code, evidence, 'th') if evidence else template}")
    else:
        lines = [f"{flag.code} {flag.title_en}", f"severity: {flag.severity}", f"applies to: {scopes}"]
        if flag.cardinal_code:
            lines.append(f"OCP Cardinal indicator {flag.cardinal_code} (same definition and defaults)")
        lines.append(f"explanation: {explain(code, evidence, 'en') if evidence else template}")
    needs = ", ".join(FACTS[need][2 if lang == "th" else 1] for need in flag.needs)
    lines.append(f"ต้องใช้ข้อมูล: {needs}" if lang == "th" else f"needs: {needs}")
    if applicability:
        lines.append(applicability_text(applicability, lang))
    lines.append(DISCLAIMER[lang])
    return "\n".join(lines)
