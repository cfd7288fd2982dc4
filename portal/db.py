"""Read-only access to the public database for the portal (one connection per request)."""
from __future__ import annotations

import pathlib
import sqlite3

from flask import current_app, g


def get_db() -> sqlite3.Connection:
    """The public database, opened read-only: the portal never writes procurement.db."""
    if "db" not in g:
        path = pathlib.Path(current_app.config["DATABASE"]).resolve()
        g.db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def get_meta(key: str, default=None):
    try:
        row = get_db().execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    except sqlite3.Error:
        return default
    return row[0] if row else default


def init_app(app) -> None:
    app.teardown_appcontext(close_db)

    @app.context_processor
    def build_info():
        return {
            "is_demo": get_meta("dataset") == "demo",
            "build_id": get_meta("build_id", "-"),
            "built_at": get_meta("built_at", "-"),
        }
