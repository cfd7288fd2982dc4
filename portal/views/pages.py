"""Budget against procurement, the Learn guide, and About & coverage."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from portal import charts
from portal.cache import cached_page
from portal.db import all_meta, get_db
from portal.format import is_thai, ministry_name
from portal.params import choice_arg
from prongsai.derive import budget_links
from prongsai.derive.budget_gap import OFFICIAL_BUDGET_TOTALS

bp = Blueprint("pages", __name__)


@bp.route("/budget")
@cached_page
def budget():
    db = get_db()
    years = [r[0] for r in db.execute("SELECT DISTINCT fiscal_year FROM agg_budget_ministry ORDER BY fiscal_year")]
    chosen = choice_arg("fiscal_year", [str(y) for y in years])
    fy = int(chosen) if chosen else (years[-1] if years else None)
    ministries = db.execute("SELECT * FROM agg_budget_ministry WHERE fiscal_year = ? ORDER BY budget_amount DESC",
                            [fy]).fetchall()
    rows = db.execute("SELECT * FROM agg_budget WHERE fiscal_year = ? ORDER BY budget_amount DESC", [fy]).fetchall()
    units: dict[tuple, list] = {}
    for row in rows:
        units.setdefault((row["level"], row["ministry"]), []).append(row)
    figure = charts.grouped([ministry_name(m["ministry"]) for m in ministries], [
        (_("Budget"), [m["budget_amount"] for m in ministries], charts.ACCENT),
        (_("Procurement contracts"), [m["procurement_amount"] or 0 for m in ministries], charts.WARN)])
    return render_template(
        "budget.html", years=years, fy=fy, ministries=ministries, units=units, figure=figure,
        unmatched=[r for r in rows if r["match"] in budget_links.UNMATCHED],
        ministry_methods=_grouped(db.execute("SELECT * FROM agg_budget_ministry_method WHERE fiscal_year = ? "
                                             "ORDER BY amount DESC", [fy]), "level", "ministry"),
        unit_methods=_grouped(db.execute("SELECT * FROM agg_budget_method WHERE fiscal_year = ? ORDER BY amount DESC",
                                         [fy]), "agency_id"),
        totals={"budget": sum(m["budget_amount"] or 0 for m in ministries),
                "procurement": sum(m["procurement_amount"] or 0 for m in ministries),
                "certain": sum(m["certain_units"] for m in ministries),
                "uncertain": sum(m["uncertain_units"] for m in ministries),
                "unmatched": sum(m["unmatched_units"] for m in ministries)})


def _grouped(rows, *key: str) -> dict:
    """Rows by a key (one column: its value; several: a tuple), in their order."""
    out: dict = {}
    for row in rows:
        out.setdefault(row[key[0]] if len(key) == 1 else tuple(row[k] for k in key), []).append(row)
    return out


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

