"""Digests of a database's rows, to tell that a faster loader keeps exactly the same rows.

Per table: the row count and the sha256 of its rows sorted. The times a run happened
(``started_at``, ``finished_at``, ``applied_at``) and the autoincrement ids of ``changes`` and
``quarantine`` (the order rows were written in, not what they hold) are left out; a row's
``first_seen``, ``last_seen`` and ``seen_at`` become the id of the run that started then, so
which run inserted, touched or changed a row is compared too. Values are compared as SQLite
stores them (type and value), so 5 and 5.0 or '5' differ.
"""
from __future__ import annotations

import hashlib
import sqlite3

RUN_TIME = frozenset(("started_at", "finished_at", "applied_at"))
BY_RUN = frozenset(("first_seen", "last_seen", "seen_at"))
WRITE_ORDER = {"changes": "id", "quarantine": "id"}


def table_digests(db_path) -> dict[str, tuple[int, str]]:
    """{table: (rows, sha256 of the sorted rows)} for every table of ``db_path``."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        runs = dict(conn.execute("SELECT started_at, id FROM source_runs")) if "source_runs" in tables else {}
        out = {}
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])")
                       if r[1] not in RUN_TIME and r[1] != WRITE_ORDER.get(table)]
            select = ", ".join(f"typeof([{c}]), quote([{c}])" for c in columns)
            by_run = [2 * i + 1 for i, c in enumerate(columns) if c in BY_RUN]
            rows = []
            for row in conn.execute(f"SELECT {select} FROM [{table}]"):
                row = list(row)
                for i in by_run:
                    row[i] = f"run {runs.get(row[i][1:-1], row[i])}"
                rows.append("\x1f".join(map(str, row)))
            rows.sort()
            digest = hashlib.sha256("\x1e".join(rows).encode("utf-8")).hexdigest()
            out[table] = (len(rows), digest)
        return out
    finally:
        conn.close()


def database_digest(db_path) -> str:
    """One sha256 over :func:`table_digests` (tables and counts included)."""
    parts = [f"{t}:{n}:{d}" for t, (n, d) in sorted(table_digests(db_path).items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
