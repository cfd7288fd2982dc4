"""Read-only access to the public database for the portal.

Each server thread keeps its own read-only connection per database file (opening one and
parsing the schema costs more than most page queries); SQLite gives every statement a
consistent snapshot, and a rebuild replaces derived tables in one transaction. A file swapped
in by ``prongsai publish`` (a new inode at the same path) is noticed at the next request.
"""
from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
import time

from flask import current_app, g

_local = threading.local()


def _connect(path: pathlib.Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA mmap_size = 268435456")
    conn.execute("PRAGMA cache_size = -32768")
    return conn


def get_db() -> sqlite3.Connection:
    """The public database, opened read-only: the portal never writes procurement.db."""
    if "db" not in g:
        path = pathlib.Path(current_app.config["DATABASE"]).resolve()
        if current_app.testing:  # tests swap files under the same path; keep nothing between requests
            g.db = _connect(path)
            g.db_owned = True
        else:
            cache = _local.__dict__.setdefault("connections", {})
            inode = os.stat(path).st_ino
            if path in cache and cache[path][0] != inode:
                cache.pop(path)[1].close()
            if path not in cache:
                cache[path] = (inode, _connect(path))
            g.db = cache[path][1]
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None and g.pop("db_owned", False):
        db.close()


def get_meta(key: str, default=None):
    return all_meta().get(key, default)


def all_meta() -> dict:
    """The ``meta`` table, read once per request."""
    if "meta" not in g:
        try:
            g.meta = dict(get_db().execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error:
            g.meta = {}
    return g.meta


class TooSlow(Exception):
    """A query ran past its time budget (e.g. a search for something almost nothing matches)."""


def query_within(sql: str, params, seconds: float) -> list[sqlite3.Row]:
    """Run ``sql`` but give up after ``seconds``, so one broad query cannot stall a page."""
    db = get_db()
    deadline = time.monotonic() + seconds
    db.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise TooSlow() from None
        raise
    finally:
        db.set_progress_handler(None, 0)


def init_app(app) -> None:
    app.teardown_appcontext(close_db)

    @app.context_processor
    def build_info():
        meta = all_meta()
        return {
            "is_demo": meta.get("dataset") == "demo",
            "build_id": meta.get("build_id", "-"),
            "built_at": meta.get("built_at", "-"),
        }
