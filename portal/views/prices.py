"""Unit prices across agencies: each item class's median and spread, and where each agency sits."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from portal import charts
from portal.cache import cached_page
from portal.db import get_db
from portal.views.network import has_table

bp = Blueprint("prices", __name__)


@bp.route("/prices")
@cached_page
def index():
    db = get_db()
    classes = []
    if has_table(db, "unit_price_benchmarks"):
        classes = db.execute("""
            SELECT item_class, sum(purchases) AS purchases, count(*) AS groups,
                   (SELECT count(*) FROM unit_price_agencies a WHERE a.item_class = b.item_class
                    AND a.ratio_to_median > 2) AS dear_agencies
            FROM unit_price_benchmarks b WHERE comparable GROUP BY item_class
            ORDER BY dear_agencies DESC, purchases DESC LIMIT 200""").fetchall()
    return render_template("prices.html", classes=classes)


@bp.route("/prices/<item_class>")
@cached_page
def show(item_class):
    db = get_db()
    if not has_table(db, "unit_price_benchmarks"):
        abort(404)
    groups = db.execute("SELECT * FROM unit_price_benchmarks WHERE item_class = ? AND comparable "
                        "ORDER BY purchases DESC", [item_class]).fetchall()
    if not groups:
        abort(404)
    unit, year = request.args.get("unit"), request.args.get("fiscal_year", type=int)
    group = next((g for g in groups if g["unit"] == unit and g["fiscal_year"] == year), groups[0])
    agencies = db.execute("""
        SELECT a.*, g.name_th AS name FROM unit_price_agencies a LEFT JOIN agencies g ON g.id = a.buyer_id
        WHERE a.item_class = ? AND a.unit = ? AND a.fiscal_year = ? ORDER BY a.ratio_to_median DESC LIMIT 60
    """, [item_class, group["unit"], group["fiscal_year"]]).fetchall()
    names = [a["name"] or a["buyer_id"] for a in agencies]
    figure = charts.bar(names, [a["mean_price"] for a in agencies], horizontal=True, hover=",.2f")
    figure["data"][0]["marker"]["color"] = [charts.WARN if a["ratio_to_median"] > 2 else charts.ACCENT
                                            for a in agencies]
    return render_template("price_class.html", item_class=item_class, groups=groups, group=group,
                           agencies=agencies, figure=figure)
