"""Explanations of raised flags in Thai and English, filled from the flag's evidence.

The portal's flag pages and ``prongsai flags explain`` both call these functions, so a flag reads
the same everywhere.
"""
from __future__ import annotations

import json
import string

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


def describe(code: str, lang: str = "th", *, evidence=None) -> str:
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
    lines.append(DISCLAIMER[lang])
    return "\n".join(lines)
