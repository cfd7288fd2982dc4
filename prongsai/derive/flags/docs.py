"""``thai-flags.ini`` and the flag sections of ``docs/red-flags.md``, rendered from the definitions.

``python -m prongsai.derive.flags.docs`` rewrites both; ``tests/test_docs_flags.py`` fails when either
differs from what the definitions say, so docs, settings and code cannot drift apart.
"""
from __future__ import annotations

import pathlib
import textwrap

from prongsai.derive.flags.applicability import FACTS
from prongsai.derive.flags.definitions import CARDINAL_CODES, FLAGS, THAI_CODES
from prongsai.derive.flags.settings import CALIBRATION, CALIBRATION_DEFAULTS, DEFAULT_THAI

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "red-flags.md"
BEGIN, END = "<!-- flag definitions: begin (generated, see prongsai/derive/flags/docs.py) -->", \
    "<!-- flag definitions: end -->"

_INI_HEADER = """\
; Prongsai's thresholds for the Thai red flags (Cardinal rejects unknown keys, so they live here, not
; in settings.ini). Replace this file with $PRONGSAI_THAI_FLAG_SETTINGS=PATH.
; As with Cardinal: a flag runs only when its section is present; a key left out takes the default
; written below. Amounts are in baht (THB); projects in other currencies are skipped.
; procurement_methods are OCDS methods (projects.ocds_method), pipe-separated:
; open = e-bidding / e-market, selective = คัดเลือก, limited = เฉพาะเจาะจง. Comparisons are
; inclusive at the threshold unless the key says "above" (strictly greater).
; Generated from prongsai/derive/flags/definitions.py (python -m prongsai.derive.flags.docs).
"""


def _value(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_thai_ini() -> str:
    parts = [_INI_HEADER, f"[{CALIBRATION}]",
             "; A flag firing on more than max_fired_pct % of the projects (or organisations) it could be",
             "; tested on is reported as probably mis-calibrated for this data (flag pages, build output).",
             *(f"{k} = {_value(v)}" for k, v in CALIBRATION_DEFAULTS.items()), ""]
    for code in THAI_CODES:
        flag = FLAGS[code]
        parts.append(f"[{code}]")
        parts += ["; " + line for line in textwrap.wrap(flag.doc.replace("`", ""), 98)]
        parts += [f"{k} = {_value(v)}" for k, v in flag.defaults.items()]
        parts.append("")
    return "\n".join(parts).rstrip("\n") + "\n"


def render_doc_sections() -> str:
    """One paragraph per flag with its severity, what it needs and its defaults (Markdown)."""
    lines = [BEGIN, ""]
    for title, codes in (("OCP Cardinal's indicators", CARDINAL_CODES), ("Thai flags", THAI_CODES)):
        lines += [f"### {title}", ""]
        for code in codes:
            flag = FLAGS[code]
            needs = ", ".join(FACTS[n][1] for n in flag.needs)
            defaults = ", ".join(f"`{k} = {_value(v)}`" for k, v in flag.defaults.items()) or "none"
            lines += [f"#### {code} {flag.title_en} ({flag.title_th})", "",
                      f"*{flag.severity} severity, {flag.scope.replace(',', ', ')}; needs: {needs}; "
                      f"defaults: {defaults}.*", "", flag.doc, ""]
    lines.append(END)
    return "\n".join(lines)


def write() -> None:
    DEFAULT_THAI.write_text(render_thai_ini(), encoding="utf-8")
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + render_doc_sections() + tail, encoding="utf-8")


if __name__ == "__main__":
    write()
