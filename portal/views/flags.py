"""Every red flag explained, with counts and examples; one page per flag."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.cache import cached_page
from portal.db import get_db
from portal.flagtext import definitions
from portal.views.network import has_table
from prongsai.derive.flags.applicability import FACTS
from prongsai.derive.flags.definitions import FLAGS

bp = Blueprint("flags", __name__)


@bp.route("/flags")
@cached_page
def index():
    db = get_db()
    defs = definitions()
    counts = {r["code"]: dict(r) for r in db.execute("SELECT * FROM agg_flag_counts")}
    examples: dict[str, list] = {}
    for row in db.execute("SELECT * FROM agg_flag_examples WHERE rank <= 3 ORDER BY code, rank"):
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
    count = db.execute("SELECT * FROM agg_flag_counts WHERE code = ?", [code]).fetchone()
    examples = db.execute("SELECT * FROM agg_flag_examples WHERE code = ? ORDER BY rank", [code]).fetchall()
    return render_template("flag.html", d=defs[code], count=count, examples=examples,
                           checked=applicability(db).get(code), flag=FLAGS.get(code), facts=FACTS)


def applicability(db) -> dict[str, dict]:
    """code -> its ``flag_applicability`` row (none on a database built before the table existed)."""
    if not has_table(db, "flag_applicability"):
        return {}
    return {r["code"]: dict(r) for r in db.execute("SELECT * FROM flag_applicability")}
