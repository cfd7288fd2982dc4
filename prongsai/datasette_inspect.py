"""Datasette's inspect file for the immutable public database, written by ``prongsai build``.

With it Datasette neither counts a million rows nor hashes a gigabyte file at start-up. The
file sits beside the database (``procurement.db-inspect.json``) and carries a token that is
also stored in ``meta``; ``load`` ignores a file whose token does not match its database, so a
swapped or re-downloaded database never shows another build's counts.
"""
from __future__ import annotations

import json
import pathlib
import secrets
import sqlite3

from prongsai.core.schema import read_meta_file, set_meta

DATABASE_NAME = "procurement"


def path_for(db_path) -> pathlib.Path:
    db_path = pathlib.Path(db_path)
    return db_path.with_name(db_path.name + "-inspect.json")


def build(db) -> None:
    """Count every table (the last build step, so derived tables are included) and write the file."""
    conn = db.conn
    db_file = pathlib.Path(conn.execute("PRAGMA database_list").fetchone()[2])
    token = secrets.token_hex(8)
    tables = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%'").fetchall():
        try:
            count = conn.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0]
        except sqlite3.OperationalError:  # FTS shadow tables and the like
            continue
        tables[name] = {"count": count}
    conn.execute("BEGIN")
    set_meta(db, inspect_token=token)
    conn.execute("COMMIT")
    data = {DATABASE_NAME: {"hash": token, "size": db_file.stat().st_size, "file": db_file.name,
                            "tables": tables}}
    target = path_for(db_file)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(target)


def load(db_path, inspect_file=None) -> dict | None:
    """The inspect data for ``db_path`` if its token matches the database, else None."""
    inspect_file = pathlib.Path(inspect_file) if inspect_file else path_for(db_path)
    if not inspect_file.exists():
        return None
    data = json.loads(inspect_file.read_text(encoding="utf-8"))
    token = read_meta_file(db_path, "inspect_token")
    entry = data.get(DATABASE_NAME) or {}
    return data if token and entry.get("hash") == token else None
