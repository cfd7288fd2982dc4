"""Supplier page: wins over time, the agencies it sells to, who it bids against, its flags."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from portal import charts
from portal.db import get_db
from portal.format import fiscal_year_label
from portal.views.network import has_table
from portal.views.orgs import SUPPLIER, org_page, related

bp = Blueprint("suppliers", __name__)


@bp.route("/suppliers/<path:supplier_id>")
def show(supplier_id):
    twin = _twin(supplier_id)
    if twin:  # a damaged tax id joined to its twin by the build: its records are there
        return redirect(url_for("suppliers.show", supplier_id=twin), 301)
    page = org_page(SUPPLIER, supplier_id)
    years = related(SUPPLIER, "fy", supplier_id, "fiscal_year")
    figures = {"years": charts.bar([fiscal_year_label(y["fiscal_year"]) for y in years], [y["amount"] for y in years])}
    return render_template("supplier.html", years=years, figures=figures,
                           agencies=related(SUPPLIER, "agency", supplier_id, "rank"),
                           rivals=related(SUPPLIER, "rival", supplier_id, "rank"), **page)


def _twin(supplier_id) -> str | None:
    db = get_db()
    if not supplier_id.startswith("x:") or not has_table(db, "supplier_twins"):
        return None
    row = db.execute("SELECT twin_id FROM supplier_twins WHERE damaged_id = ?", [supplier_id]).fetchone()
    return row[0] if row else None
