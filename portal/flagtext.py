"""Red flags in plain words: titles and explanations from ``flag_definitions``, filled with evidence."""
from __future__ import annotations

import string

from portal.db import get_db
from prongsai.derive.flags.definitions import FLAGS
from prongsai.derive.flags.explain import explain as flags_explain
from portal.format import evidence as parse_evidence, is_thai


def definitions() -> dict[str, dict]:
    """code -> definition row, with ``title``, ``explanation`` and ``summary`` in the reader's language."""
    th = is_thai()
    rows = {}
    for row in get_db().execute("SELECT * FROM flag_definitions ORDER BY code"):
        d = dict(row)
        d["title"] = (d["title_th"] if th else d["title_en"]) or d["title_en"] or d["title_th"] or d["code"]
        d["explanation"] = (d["explanation_th"] if th else d["explanation_en"]) or ""
        d["summary"] = generic(d["explanation"])
        rows[d["code"]] = d
    return rows


def generic(template: str) -> str:
    """An explanation template with its blanks shown as "…" (for pages about the flag itself)."""
    try:
        return "".join(text + ("…" if field is not None else "")
                       for text, field, _, _ in string.Formatter().parse(template))
    except ValueError:
        return template


def explain(code: str, evidence_json, definition: dict | None) -> str:
    """One plain sentence for a raised flag, in the reader's language.

    The red-flags module's ``explain`` renders the flags it defines; a flag it does not know
    (added by another build) falls back to its stored template, blanks shown as "…".
    """
    evidence = parse_evidence(evidence_json)
    if code in FLAGS:
        return flags_explain(code, evidence, "th" if is_thai() else "en")
    template = (definition or {}).get("explanation") or ""
    try:
        return template.format(**evidence)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return generic(template)
