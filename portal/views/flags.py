"""Every red flag explained, with counts and examples; one page per flag."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.cache import cached_page
from portal.db import get_db
from portal.flagtext import definitions

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
                           projects=projects[0] if projects else 0)


@bp.route("/flags/<code>")
@cached_page
def show(code):
    defs = definitions()
    if code not in defs:
        abort(404)
    db = get_db()
    count = db.execute("SELECT * FROM agg_flag_counts WHERE code = ?", [code]).fetchone()
    examples = db.execute("SELECT * FROM agg_flag_examples WHERE code = ? ORDER BY rank", [code]).fetchall()
    return render_template("flag.html", d=defs[code], count=count, examples=examples)
