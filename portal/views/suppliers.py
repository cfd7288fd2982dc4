"""Supplier page: wins over time, the agencies it sells to, who it bids against, its flags."""
from __future__ import annotations

from flask import Blueprint, render_template

from portal import charts
from portal.format import fiscal_year_label
from portal.views.orgs import SUPPLIER, org_page, related

bp = Blueprint("suppliers", __name__)


@bp.route("/suppliers/<path:supplier_id>")
def show(supplier_id):
    page = org_page(SUPPLIER, supplier_id)
    years = related(SUPPLIER, "fy", supplier_id, "fiscal_year")
    figures = {"years": charts.bar([fiscal_year_label(y["fiscal_year"]) for y in years], [y["amount"] for y in years])}
    return render_template("supplier.html", years=years, figures=figures,
                           agencies=related(SUPPLIER, "agency", supplier_id, "rank"),
                           rivals=related(SUPPLIER, "rival", supplier_id, "rank"), **page)
