"""Red flags in plain words: titles, articles and sentences in the reader's language.

The sentences are :func:`prongsai.derive.flags.explain.explain` with the page's language and the
suppliers' names from the database, so every value goes through the same words as the rest of
the page (``portal.format`` on ``prongsai.core.words``).
"""
from __future__ import annotations

from flask import current_app

from portal.db import get_db, get_meta
from portal.format import evidence as parse_evidence
from portal.format import is_thai, lang
from prongsai.derive.flags import explain as flag_words
from prongsai.derive.flags.definitions import FLAGS

#: (database, build id, language) -> definitions: they change only with a build, and composing
#: the articles' meanings cost every page that shows a flag about 1.6 ms.
_definitions: dict[tuple, dict[str, dict]] = {}


def definitions() -> dict[str, dict]:
    """code -> definition row, with ``title`` and (for the flags we define) ``meaning`` in the reader's language."""
    key = (current_app.config["DATABASE"], get_meta("build_id"), lang())
    rows = _definitions.get(key)
    if rows is None:
        rows = _read_definitions()
        if len(_definitions) >= 16:
            _definitions.clear()
        _definitions[key] = rows
    return {code: dict(d) for code, d in rows.items()}


def _read_definitions() -> dict[str, dict]:
    th = is_thai()
    rows = {}
    for row in get_db().execute("SELECT * FROM flag_definitions ORDER BY code"):
        d = dict(row)
        d["title"] = (d["title_th"] if th else d["title_en"]) or d["title_en"] or d["title_th"] or d["code"]
        d["explanation"] = (d["explanation_th"] if th else d["explanation_en"]) or ""
        d["meaning"] = flag_words.article(d["code"], lang())["meaning"] if d["code"] in FLAGS else d["title"]
        rows[d["code"]] = d
    return rows


def supplier_names(evidences) -> dict[str, str]:
    """The names of the suppliers the evidences name by id (one query)."""
    ids = {str(ev[k]) for ev in evidences for k in flag_words.SUPPLIERS if ev.get(k) is not None}
    if not ids:
        return {}
    column = "name_th" if is_thai() else "coalesce(name_en, name_th)"
    marks = ", ".join("?" * len(ids))
    return {r[0]: r[1] for r in get_db().execute(
        f"SELECT id, {column} FROM suppliers WHERE id IN ({marks}) AND name_th IS NOT NULL", sorted(ids))}


def explain(code: str, evidence_json, definition: dict | None, names: dict | None = None) -> str:
    """One plain sentence for a raised flag, in the reader's language.

    A flag defined elsewhere (added by another build) has its stored template filled with the
    same words; when that fails, its title. ``names`` (supplier id -> name) saves the look-up
    when a page explains many flags.
    """
    evidence = parse_evidence(evidence_json)
    if names is None:
        names = supplier_names([evidence])
    if code in FLAGS:
        text = flag_words.explain(code, evidence, lang(), names=names.get)
    else:
        template = (definition or {}).get("explanation") or ""
        text = flag_words.fill(template, evidence, lang(), names.get) or (definition or {}).get("title") or code
    return sentence(text)


def sentence(text: str) -> str:
    """A text shown on its own starts with a capital (Thai has no case)."""
    return text[:1].upper() + text[1:]
