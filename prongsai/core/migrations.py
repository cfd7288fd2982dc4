"""One migration mechanism for both databases: numbered DDL scripts, each applied once.

A database records the versions it has in ``schema_version``. Each pending version runs in its own
``BEGIN IMMEDIATE`` transaction that reads the version again inside the lock, so workers starting
at once apply it exactly once, and a failed script leaves the database as it was.

Foreign keys are off while a script runs (SQLite's own recipe for rebuilding a table, which a
dropped parent table would otherwise fail) and, if the connection had them on, checked before
the commit: a script that leaves a dangling reference is rolled back."""
from __future__ import annotations

import datetime as dt
import sqlite3


def statements(script: str):
    """The statements of a DDL script, one by one: ``executescript`` would commit our transaction,
    and a trigger or a comment may hold semicolons, so a piece ends only where SQLite says so."""
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                yield current.strip()
            current = ""
    if current.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:80]!r}")


def current_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError:  # no table yet: a new database
        return 0
    return row[0] or 0


def migrate(conn: sqlite3.Connection, migrations: dict[int, str]) -> list[int]:
    """Apply the versions of ``migrations`` (version -> DDL script) newer than the database's;
    return those applied. ``conn`` must be in autocommit mode (``isolation_level=None``)."""
    applied = []
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    for version in sorted(migrations):
        if version <= current_version(conn):
            continue
        conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before BEGIN
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
            if "applied_at" not in {row[1] for row in conn.execute("PRAGMA table_info(schema_version)")}:
                conn.execute("ALTER TABLE schema_version ADD COLUMN applied_at TEXT")  # complaints.db of schema 3 and before
            if version > current_version(conn):
                for statement in statements(migrations[version]):
                    conn.execute(statement)
                if enforced and (dangling := conn.execute("PRAGMA foreign_key_check").fetchone()):
                    raise sqlite3.IntegrityError(f"migration {version} leaves a row of {dangling[0]} pointing at "
                                                 f"a missing row of {dangling[2]}")
                conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                             [version, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")])
                applied.append(version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")
    return applied
