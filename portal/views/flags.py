"""Every red flag as a short article: what it means, why it matters, when it is innocent, its
threshold in words, how often it fired, and examples in filled sentences; one page per flag."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.cache import cached_page
from portal.db import get_db
from portal.flagtext import definitions, explain, sentence, supplier_names
from portal.format import evidence as parse_evidence
from portal.format import lang
from portal.views.network import has_table
from prongsai.derive.flags import explain as flag_words
from prongsai.derive.flags.applicability import FACTS
from prongsai.derive.flags.definitions import FLAGS

bp = Blueprint("flags", __name__)

#: organisation examples shown on a flag page
ORG_EXAMPLES = 10


@bp.route("/flags")
@cached_page
def index():
    db = get_db()
    defs = definitions()
    counts = {r["code"]: dict(r) for r in db.execute("SELECT * FROM agg_flag_counts")}
    examples: dict[str, list] = {}
    for row in _with_sentences(db, db.execute("SELECT * FROM agg_flag_examples WHERE rank <= 3 ORDER BY code, rank"),
                               defs):
        examples.setdefault(row["code"], []).append(row)
    projects = db.execute("SELECT value FROM summary_counts WHERE name = 'projects'").fetchone()
    return render_template("flags.html", defs=defs, counts=counts, examples=examples,
                           projects=projects[0] if projects else 0, checked=applicability(db))


@bp.route("/flags/<code>")
@cached_page
def show(code):
    defs = definitions()
    if code not in defs:
        abort(404)
    db = get_db()
    d = defs[code]
    count = db.execute("SELECT * FROM agg_flag_counts WHERE code = ?", [code]).fetchone()
    examples = _with_sentences(db, db.execute("SELECT * FROM agg_flag_examples WHERE code = ? ORDER BY rank",
                                              [code]), defs)
    checked = applicability(db).get(code)
    text = None
    if code in FLAGS:
        text = dict(flag_words.article(code, lang()),
                    threshold=sentence(flag_words.threshold_text(code, d["threshold"], lang())),
                    scopes=[flag_words.SCOPE_NAMES[lang()][s] for s in FLAGS[code].scopes],
                    checked=sentence(flag_words.applicability_text(checked, lang())) if checked else None)
    return render_template("flag.html", d=d, count=count, examples=examples, checked=checked,
                           flag=FLAGS.get(code), facts=FACTS, text=text, orgs=_org_examples(db, code, defs))


def _with_sentences(db, rows, defs) -> list[dict]:
    """Example projects with their flag's sentence, filled from its evidence in ``red_flags``."""
    rows = [dict(r) for r in rows]
    evidence = {}
    for r in rows:
        found = db.execute("SELECT evidence FROM red_flags WHERE project_id = ? AND code = ?",
                           [r["project_id"], r["code"]]).fetchone()
        evidence[(r["project_id"], r["code"])] = parse_evidence(found[0] if found else None)
    names = supplier_names(evidence.values())
    for r in rows:
        r["sentence"] = explain(r["code"], evidence[(r["project_id"], r["code"])], defs.get(r["code"]), names)
    return rows


def _org_examples(db, code: str, defs) -> list[dict]:
    """Agencies and suppliers the flag was raised on, by name, each with its sentence."""
    rows = [dict(r) for r in db.execute(
        """SELECT f.org_type, f.org_id, f.evidence, coalesce(s.name_th, a.name_th, f.org_id) AS name
           FROM org_flags f
           LEFT JOIN suppliers s ON f.org_type = 'tenderer' AND s.id = f.org_id
           LEFT JOIN agencies a ON f.org_type != 'tenderer' AND a.id = f.org_id
           WHERE f.code = ? ORDER BY f.value DESC, f.org_id LIMIT ?""", [code, ORG_EXAMPLES])]
    names = supplier_names([parse_evidence(r["evidence"]) for r in rows])
    for r in rows:
        r["sentence"] = explain(code, r["evidence"], defs.get(code), names)
        r["kind"] = flag_words.SCOPE_NAMES[lang()][r["org_type"]]
    return rows


def applicability(db) -> dict[str, dict]:
    """code -> its ``flag_applicability`` row (none on a database built before the table existed)."""
    if not has_table(db, "flag_applicability"):
        return {}
    return {r["code"]: dict(r) for r in db.execute("SELECT * FROM flag_applicability")}
