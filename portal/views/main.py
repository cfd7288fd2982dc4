"""Home dashboard, the health check and the self-hosted plotly.js."""
from __future__ import annotations

import pathlib
import sqlite3

import plotly
from flask import Blueprint, current_app, jsonify, render_template, send_file
from flask_babel import gettext as _

from portal import charts
from portal.cache import cached_page
from portal.complaints import outbox
from portal.complaints.db import get_cdb
from portal.db import get_db, get_meta
from portal.flagtext import definitions
from portal.format import baht_short, fiscal_year_label, method_name, ministry_name, month
from portal.params import choice_arg
from portal.provinces import tile_map

bp = Blueprint("main", __name__)

PLOTLY_JS = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MONTHS_SHOWN = 36


def fiscal_years() -> list[int]:
    return [r[0] for r in get_db().execute("SELECT fiscal_year FROM agg_spend_fy ORDER BY fiscal_year")]


@bp.route("/")
@cached_page
def index():
    db = get_db()
    years = fiscal_years()
    fy = choice_arg("fiscal_year", [str(y) for y in years])
    fy = int(fy) if fy else None
    where, args = ("WHERE fiscal_year = ?", [fy]) if fy else ("", [])
    counts = {row["name"]: row["value"] for row in db.execute("SELECT name, value FROM summary_counts")}
    by_fy = [dict(r) for r in db.execute("SELECT * FROM agg_spend_fy ORDER BY fiscal_year")]
    months = [dict(r) for r in db.execute(
        f"SELECT * FROM (SELECT * FROM agg_spend_month {where} ORDER BY month DESC LIMIT {MONTHS_SHOWN}) "
        "ORDER BY month", args)]
    methods = [dict(r) for r in db.execute(
        f"SELECT method, sum(contracts) AS contracts, total(amount) AS amount FROM agg_spend_method {where} "
        "GROUP BY method ORDER BY amount DESC", args)]
    ministries = [dict(r) for r in db.execute(
        f"SELECT ministry, sum(contracts) AS contracts, total(amount) AS amount FROM agg_spend_ministry {where} "
        "GROUP BY ministry ORDER BY amount DESC", args)]
    provinces = [dict(r) for r in db.execute(
        f"SELECT province, sum(contracts) AS contracts, total(amount) AS amount, sum(projects) AS projects, "
        f"sum(flagged_projects) AS flagged FROM agg_spend_province {where} GROUP BY province ORDER BY amount DESC",
        args)]
    top = [dict(r) for r in db.execute("SELECT * FROM agg_top_suppliers ORDER BY rank LIMIT 10")]
    newest = [dict(r) for r in db.execute("SELECT * FROM agg_newest_flagged ORDER BY rank LIMIT 10")]
    projects = counts.get("projects") or 0
    flagged_share = (counts.get("flagged_projects") or 0) / projects if projects else None
    figures = {
        "months": charts.bar([month(m["month"]) for m in months], [m["amount"] for m in months]),
        "years": charts.bar([fiscal_year_label(y["fiscal_year"]) for y in by_fy], [y["amount"] for y in by_fy]),
        "methods": charts.pie([method_name(m["method"]) for m in methods], [m["amount"] for m in methods]),
        "ministries": charts.bar([ministry_name(m["ministry"]) for m in ministries[:12]],
                                 [m["amount"] for m in ministries[:12]],
                                 horizontal=True),
    }
    return render_template(
        "index.html", counts=counts, by_fy=by_fy, months=months, methods=methods, ministries=ministries,
        provinces=provinces, tiles=tile_map({p["province"]: p["amount"] for p in provinces}), top=top,
        newest=newest, flagged_share=flagged_share, figures=figures, years=years, fy=fy,
        flag_defs=definitions(), total=sum(m["amount"] for m in methods),
        map_title=_("Spending by province"), baht_short=baht_short,
    )


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    """plotly.js from the pinned plotly package: our own origin, no CDN, not committed twice."""
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=7 * 24 * 3600)


@bp.route("/healthz")
def healthz():
    """200 whenever the app can serve, with what a person needs to judge the data's freshness."""
    body = {"status": "ok", "build_id": get_meta("build_id"), "built_at": get_meta("built_at"),
            "dataset": get_meta("dataset")}
    try:
        db = get_db()
        body["counts"] = {row["name"]: row["value"]
                          for row in db.execute("SELECT name, value FROM summary_counts")}
        body["sources"] = {
            row["source"]: {"status": row["status"], "finished_at": row["finished_at"],
                            "rows_in": row["rows_in"], "rows_changed": row["rows_changed"],
                            "error": row["error"]}
            for row in db.execute(
                "SELECT * FROM source_runs WHERE id IN (SELECT max(id) FROM source_runs GROUP BY source)")
        }
    except sqlite3.Error as exc:
        body["status"] = "degraded"
        body["error"] = f"public database unreadable: {exc.__class__.__name__}"
    body.update(_primary(body))
    if body["role"] == "primary" and not current_app.extensions.get("complaints_disabled"):
        body["outbox"] = _outbox()
        if body["outbox"].get("failed") or (body["outbox"].get("oldest_pending_seconds") or 0) > OUTBOX_LATE:
            body["status"] = "degraded"
    return jsonify(body)


#: seconds a message may wait before /healthz calls the outbox late (the worker retries within minutes).
OUTBOX_LATE = 900


def _outbox() -> dict:
    """The outbox's counts (never content): messages failed or waiting too long make the site degraded."""
    try:
        return outbox.health(get_cdb())
    except sqlite3.Error as exc:
        return {"error": f"complaints database unreadable: {exc.__class__.__name__}"}


def _primary(body: dict) -> dict:
    """This machine's role and the primary's build as last read (a read copy's refresh watch puts it
    in ``extensions``); a copy whose build is not the primary's says "stale" and still answers 200,
    so Fly keeps it serving the build it has while it fetches the new one."""
    role = current_app.config.get("ROLE", "primary")
    watch = current_app.extensions.get("primary_build")
    if watch is None:
        return {"role": role, "primary_build_id": body["build_id"]}
    out = {"role": role, "primary_build_id": watch["build_id"], "primary_checked_at": watch["checked_at"]}
    if watch["error"]:
        out["primary_error"] = watch["error"]
    if body["status"] == "ok" and watch["build_id"] and watch["build_id"] != body["build_id"]:
        out["status"] = "stale"
    return out
