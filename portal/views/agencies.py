"""Agency page: spending over time, by method, its top suppliers and their shares, its budget beside what
it bought in the same fiscal year, its flags."""
from __future__ import annotations

from flask import Blueprint, render_template

from portal import charts
from portal.db import get_db
from portal.format import method_name, month
from portal.views.orgs import AGENCY, org_page, related

bp = Blueprint("agencies", __name__)


@bp.route("/agencies/<path:agency_id>")
def show(agency_id):
    page = org_page(AGENCY, agency_id)
    months = related(AGENCY, "month", agency_id, "month")
    methods = related(AGENCY, "method", agency_id, "amount DESC")
    figures = {
        "months": charts.bar([month(m["month"]) for m in months], [m["amount"] for m in months]),
        "methods": charts.pie([method_name(m["method"]) for m in methods], [m["amount"] for m in methods]),
    }
    db = get_db()
    budget = db.execute("SELECT * FROM agg_budget WHERE agency_id = ? ORDER BY fiscal_year DESC, budgetary_unit",
                        [agency_id]).fetchall()
    budget_methods: dict[int, list] = {}
    for row in db.execute("SELECT * FROM agg_budget_method WHERE agency_id = ? ORDER BY amount DESC", [agency_id]):
        budget_methods.setdefault(row["fiscal_year"], []).append(row)
    return render_template("agency.html", months=months, methods=methods, figures=figures, budget=budget,
                           budget_methods=budget_methods,
                           suppliers=related(AGENCY, "supplier", agency_id, "rank"), **page)
