"""Home page and the health check."""
from __future__ import annotations

import sqlite3

from flask import Blueprint, jsonify, render_template

from portal.db import get_db, get_meta

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    counts = {row["name"]: row["value"]
              for row in get_db().execute("SELECT name, value FROM summary_counts")}
    return render_template("index.html", counts=counts)


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
    return jsonify(body)
