"""Red flags in plain words: titles and explanations from ``flag_definitions``, filled with evidence."""
from __future__ import annotations

import string

from portal.db import get_db
from portal.format import evidence as parse_evidence, is_thai


def definitions() -> dict[str, dict]:
    """code -> definition row (with ``title``/``explanation`` in the reader's language)."""
    th = is_thai()
    rows = {}
    for row in get_db().execute("SELECT * FROM flag_definitions ORDER BY code"):
        d = dict(row)
        d["title"] = (d["title_th"] if th else d["title_en"]) or d["title_en"] or d["title_th"] or d["code"]
        d["explanation"] = (d["explanation_th"] if th else d["explanation_en"]) or ""
        rows[d["code"]] = d
    return rows


class _Blank(dict):
    def __missing__(self, key):
        return "…"


def explain(code: str, evidence_json, definition: dict | None) -> str:
    """One plain sentence for a flag on a project, in the reader's language.

    The red-flags module's own ``explain`` is used when present; otherwise the definition's
    explanation template is filled from the evidence (unknown placeholders show as "…").
    """
    lang = "th" if is_thai() else "en"
    evidence = parse_evidence(evidence_json)
    try:
        from prongsai.flags import explain as flags_explain
    except ImportError:
        flags_explain = None
    if flags_explain is not None:
        try:
            return flags_explain(code, evidence, lang)
        except (KeyError, ValueError, TypeError):
            pass
    template = (definition or {}).get("explanation") or ""
    values = _Blank({k: _fmt(v) for k, v in evidence.items()})
    try:
        return string.Formatter().vformat(template, (), values)
    except (ValueError, IndexError, AttributeError):
        return template


def _fmt(value):
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
