"""Agency page: spending over time, by method, its top suppliers and their shares, its flags."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal import charts
from portal.db import get_db
from portal.flagtext import definitions, explain
from portal.format import month

bp = Blueprint("agencies", __name__)


@bp.route("/agencies/<path:agency_id>")
def show(agency_id):
    db = get_db()
    agency = db.execute("SELECT * FROM agencies WHERE id = ?", [agency_id]).fetchone()
    if agency is None:
        abort(404)
    stats = db.execute("SELECT * FROM agg_agency WHERE agency_id = ?", [agency_id]).fetchone()
    months = db.execute("SELECT * FROM agg_agency_month WHERE agency_id = ? ORDER BY month", [agency_id]).fetchall()
    methods = db.execute("SELECT * FROM agg_agency_method WHERE agency_id = ? ORDER BY amount DESC",
                         [agency_id]).fetchall()
    suppliers = db.execute("SELECT * FROM agg_agency_supplier WHERE agency_id = ? ORDER BY rank",
                           [agency_id]).fetchall()
    defs = definitions()
    project_flags = db.execute("SELECT * FROM agg_agency_flag WHERE agency_id = ? ORDER BY projects DESC",
                               [agency_id]).fetchall()
    org_flags = [dict(r, text=explain(r["code"], r["evidence"], defs.get(r["code"])))
                 for r in db.execute("SELECT * FROM org_flags WHERE org_type IN ('buyer', 'procuring_entity') "
                                     "AND org_id = ? ORDER BY code", [agency_id])]
    recent = db.execute("SELECT * FROM agg_recent WHERE scope = 'agency' AND key = ? ORDER BY rank",
                        [agency_id]).fetchall()
    figures = {
        "months": charts.bar([month(m["month"]) for m in months], [m["amount"] for m in months]),
        "methods": charts.pie([m["method"] for m in methods], [m["amount"] for m in methods]),
    }
    return render_template("agency.html", a=agency, stats=stats, months=months, methods=methods,
                           suppliers=suppliers, project_flags=project_flags, org_flags=org_flags,
                           recent=recent, figures=figures, flag_defs=defs)
