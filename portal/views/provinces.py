"""A province's page: its อบจ.'s budget by plan, the procurement in the province, its flags, its feed."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal import charts
from portal.cache import cached_page
from portal.db import get_db
from portal.flagtext import definitions
from portal.provinces import TILES

bp = Blueprint("provinces", __name__)


@bp.route("/provinces/<name>")
@cached_page
def show(name):
    db = get_db()
    spend = db.execute("SELECT * FROM agg_spend_province WHERE province = ? ORDER BY fiscal_year", [name]).fetchall()
    budget = db.execute("SELECT * FROM agg_province_budget WHERE province = ? ORDER BY fiscal_year DESC, amount DESC",
                        [name]).fetchall()
    if name not in TILES and not spend and not budget:
        abort(404)
    years = sorted({r["fiscal_year"] for r in budget}, reverse=True)
    latest = [r for r in budget if years and r["fiscal_year"] == years[0]]
    figures = {
        "budget": charts.bar([r["plan"] for r in latest], [r["amount"] for r in latest]),
        "spend": charts.bar([str(r["fiscal_year"]) for r in spend], [r["amount"] for r in spend]),
    }
    return render_template(
        "province.html", name=name, budget=budget, budget_years=years, latest=latest, spend=spend, figures=figures,
        budget_total={y: sum(r["amount"] or 0 for r in budget if r["fiscal_year"] == y) for y in years},
        project_flags=db.execute("SELECT * FROM agg_province_flag WHERE province = ? ORDER BY projects DESC",
                                 [name]).fetchall(),
        org_flags=[], flag_defs=definitions(),
        recent=db.execute("SELECT * FROM agg_recent WHERE scope = 'province' AND key = ? ORDER BY rank",
                          [name]).fetchall())
