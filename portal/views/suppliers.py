"""Supplier page: wins over time, the agencies it sells to, who it bids against, its flags."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal import charts
from portal.db import get_db
from portal.flagtext import definitions, explain
from portal.format import fiscal_year_label

bp = Blueprint("suppliers", __name__)


@bp.route("/suppliers/<path:supplier_id>")
def show(supplier_id):
    db = get_db()
    supplier = db.execute("SELECT * FROM suppliers WHERE id = ?", [supplier_id]).fetchone()
    if supplier is None:
        abort(404)
    stats = db.execute("SELECT * FROM agg_supplier WHERE supplier_id = ?", [supplier_id]).fetchone()
    years = db.execute("SELECT * FROM agg_supplier_fy WHERE supplier_id = ? ORDER BY fiscal_year",
                       [supplier_id]).fetchall()
    agencies = db.execute("SELECT * FROM agg_supplier_agency WHERE supplier_id = ? ORDER BY rank",
                          [supplier_id]).fetchall()
    rivals = db.execute("SELECT * FROM agg_supplier_rival WHERE supplier_id = ? ORDER BY rank",
                        [supplier_id]).fetchall()
    defs = definitions()
    project_flags = db.execute("SELECT * FROM agg_supplier_flag WHERE supplier_id = ? ORDER BY projects DESC",
                               [supplier_id]).fetchall()
    org_flags = [dict(r, text=explain(r["code"], r["evidence"], defs.get(r["code"])))
                 for r in db.execute("SELECT * FROM org_flags WHERE org_type = 'tenderer' AND org_id = ? "
                                     "ORDER BY code", [supplier_id])]
    recent = db.execute("SELECT * FROM agg_recent WHERE scope = 'supplier' AND key = ? ORDER BY rank",
                        [supplier_id]).fetchall()
    figures = {"years": charts.bar([fiscal_year_label(y["fiscal_year"]) for y in years], [y["amount"] for y in years])}
    return render_template("supplier.html", s=supplier, stats=stats, years=years, agencies=agencies,
                           rivals=rivals, project_flags=project_flags, org_flags=org_flags, recent=recent,
                           figures=figures, flag_defs=defs)
