"""Budget against procurement, the Learn guide, and About & coverage."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from portal import charts
from portal.cache import cached_page
from portal.db import all_meta, get_db
from portal.format import is_thai
from portal.params import choice_arg
from prongsai.derive.budget_gap import OFFICIAL_BUDGET_TOTALS

bp = Blueprint("pages", __name__)


@bp.route("/budget")
@cached_page
def budget():
    db = get_db()
    years = [r[0] for r in db.execute("SELECT DISTINCT fiscal_year FROM agg_budget ORDER BY fiscal_year")]
    chosen = choice_arg("fiscal_year", [str(y) for y in years])
    fy = int(chosen) if chosen else (years[-1] if years else None)
    rows = [dict(r) for r in db.execute(
        "SELECT * FROM agg_budget WHERE fiscal_year = ? ORDER BY ministry, budget_amount DESC", [fy])]
    ministries: dict[str, dict] = {}
    for row in rows:
        m = ministries.setdefault(row["ministry"], {"ministry": row["ministry"], "budget": 0.0,
                                                    "procurement": 0.0, "units": []})
        m["budget"] += row["budget_amount"] or 0
        m["procurement"] += row["procurement_amount"] or 0
        m["units"].append(row)
    ordered = sorted(ministries.values(), key=lambda m: -m["budget"])
    figure = charts.grouped([m["ministry"] for m in ordered], [
        (_("Budget"), [m["budget"] for m in ordered], charts.ACCENT),
        (_("Procurement contracts"), [m["procurement"] for m in ordered], charts.WARN)])
    return render_template("budget.html", years=years, fy=fy, ministries=ordered, figure=figure,
                           total_budget=sum(m["budget"] for m in ordered),
                           total_procurement=sum(m["procurement"] for m in ordered))


@bp.route("/learn")
@cached_page
def learn():
    return render_template("learn_th.html" if is_thai() else "learn_en.html")


@bp.route("/about")
@cached_page
def about():
    db = get_db()
    sources = db.execute(
        """SELECT source, max(finished_at) AS finished_at, sum(rows_in) AS rows_in,
                  sum(rows_quarantined) AS rows_quarantined, count(*) AS runs,
                  (SELECT status FROM source_runs s2 WHERE s2.source = s.source ORDER BY id DESC LIMIT 1) AS status
           FROM source_runs s GROUP BY source ORDER BY source""").fetchall()
    by_source = db.execute("SELECT * FROM agg_source ORDER BY source").fetchall()
    years = db.execute("SELECT * FROM agg_spend_fy ORDER BY fiscal_year").fetchall()
    quarantine = db.execute("SELECT * FROM agg_quarantine ORDER BY source").fetchall()
    budget_totals = {r[0]: r[1] for r in db.execute(
        "SELECT fiscal_year, total(budget_amount) FROM agg_budget WHERE level = 'national' GROUP BY fiscal_year")}
    counts = {r["name"]: r["value"] for r in db.execute("SELECT name, value FROM summary_counts")}
    return render_template("about.html", meta=all_meta(), sources=sources, by_source=by_source, years=years,
                           quarantine=quarantine, budget_totals=budget_totals, official=OFFICIAL_BUDGET_TOTALS,
                           counts=counts)

