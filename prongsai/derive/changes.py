"""What each build brought: new projects, red flags newly raised, new contracts.

Every build is a row of ``builds``; what it brought since the build before is ``build_changes``
(public, like the data it points at), one row per change with what a watchlist matches on
(agency, province, supplier, fiscal year, method, the project's flags), so a digest is worked
out from these rows alone. What the previous build had is kept as its keys (``agg_seen_*``,
hidden from Datasette): a diff by key does not depend on the sources' timestamps, survives the
copy ``refresh`` builds on, and a flag lowered and raised again counts as raised again. The
first build of a database is the baseline: it records what is there and brings nothing.
"""
from __future__ import annotations

import datetime as dt
import secrets
import sqlite3

from prongsai.core.clock import now

KEEP_BUILDS = 60   # older builds' change sets are dropped
CHANGES = ("project", "flag", "contract")

DDL = [
    """CREATE TABLE IF NOT EXISTS builds (
        id INTEGER PRIMARY KEY,
        build_key TEXT NOT NULL UNIQUE,
        built_at TEXT NOT NULL,
        baseline INTEGER NOT NULL,
        new_projects INTEGER NOT NULL,
        new_flags INTEGER NOT NULL,
        new_contracts INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS build_changes (
        build_id INTEGER NOT NULL REFERENCES builds(id),
        change TEXT NOT NULL CHECK (change IN ('project', 'flag', 'contract')),
        project_id TEXT NOT NULL,
        code TEXT,
        contract_id TEXT,
        supplier_id TEXT,
        supplier_name TEXT,
        buyer_id TEXT,
        procuring_entity_id TEXT,
        agency_name TEXT,
        province TEXT,
        fiscal_year INTEGER,
        method TEXT,
        title TEXT,
        amount REAL,
        currency TEXT,
        codes TEXT)""",
    "CREATE INDEX IF NOT EXISTS idx_build_changes_build ON build_changes(build_id, change)",
    # a follow page's "what the latest build brought" looks its subject up
    "CREATE INDEX IF NOT EXISTS idx_build_changes_buyer ON build_changes(build_id, buyer_id)",
    "CREATE INDEX IF NOT EXISTS idx_build_changes_entity ON build_changes(build_id, procuring_entity_id)",
    "CREATE INDEX IF NOT EXISTS idx_build_changes_province ON build_changes(build_id, province)",
    "CREATE INDEX IF NOT EXISTS idx_build_changes_supplier ON build_changes(build_id, supplier_id)",
    "CREATE TABLE IF NOT EXISTS agg_seen_projects (project_id TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS agg_seen_flags (project_id TEXT, code TEXT, PRIMARY KEY (project_id, code)) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS agg_seen_contracts (id TEXT PRIMARY KEY) WITHOUT ROWID",
]

#: the new keys of this build, in temp tables: (temp table, SELECT of the keys not seen before);
#: ``{only}`` limits them to the changed projects of an incremental build (``prongsai.derive.build``)
NEW = {
    "_new_projects": "SELECT project_id FROM projects p WHERE {only} NOT EXISTS "
                     "(SELECT 1 FROM agg_seen_projects s WHERE s.project_id = p.project_id)",
    "_new_flags": "SELECT r.project_id, r.code FROM red_flags r WHERE {only} NOT EXISTS (SELECT 1 FROM agg_seen_flags s "
                  "WHERE s.project_id = r.project_id AND s.code = r.code)",
    "_new_contracts": "SELECT id FROM contracts c WHERE {only} NOT EXISTS (SELECT 1 FROM agg_seen_contracts s "
                      "WHERE s.id = c.id)",
}
ONLY = {"_new_projects": "p.project_id IN temp._changed AND", "_new_flags": "r.project_id IN temp._changed AND",
        "_new_contracts": "c.project_id IN temp._changed AND"}
#: flags the previous build had and this one has not: forgotten, so raising them again is news
LOWERED = ("DELETE FROM agg_seen_flags WHERE {only} NOT EXISTS (SELECT 1 FROM red_flags r WHERE "
           "r.project_id = agg_seen_flags.project_id AND r.code = agg_seen_flags.code)")

_PROJECT = """p.buyer_id, p.procuring_entity_id, a.name_th, p.province, p.fiscal_year, p.method, p.title"""
_CODES = "(SELECT group_concat(code, ' ') FROM (SELECT code FROM red_flags WHERE project_id = p.project_id ORDER BY code))"
_COLUMNS = ("build_id, change, project_id, code, contract_id, supplier_id, supplier_name, buyer_id, procuring_entity_id, "
            "agency_name, province, fiscal_year, method, title, amount, currency, codes")
#: change -> the SELECT of its rows (``?`` is the build id)
ROWS = {
    "project": f"""SELECT ?, 'project', p.project_id, NULL, NULL, NULL, NULL, {_PROJECT}, p.budget, p.currency, {_CODES}
                   FROM temp._new_projects n JOIN projects p ON p.project_id = n.project_id
                   LEFT JOIN agencies a ON a.id = p.buyer_id""",
    # a new project's flags travel with it (its ``codes``): only flags raised on projects seen before
    "flag": f"""SELECT ?, 'flag', p.project_id, n.code, NULL, NULL, NULL, {_PROJECT}, p.budget, p.currency, {_CODES}
                FROM temp._new_flags n JOIN projects p ON p.project_id = n.project_id
                LEFT JOIN agencies a ON a.id = p.buyer_id
                WHERE n.project_id NOT IN (SELECT project_id FROM temp._new_projects)""",
    "contract": f"""SELECT ?, 'contract', p.project_id, NULL, c.id, c.supplier_id, coalesce(s.name_th, c.supplier_name),
                    {_PROJECT}, coalesce(c.contract_amount, c.award_amount), coalesce(c.currency, p.currency), {_CODES}
                    FROM temp._new_contracts n JOIN contracts c ON c.id = n.id JOIN projects p ON p.project_id = c.project_id
                    LEFT JOIN agencies a ON a.id = p.buyer_id LEFT JOIN suppliers s ON s.id = c.supplier_id""",
}


def build(db, changed: set | None = None) -> None:
    """Record this build and what it brought; the keys seen move on to this build's. An incremental
    build (``changed``: the projects it recomputed, whose flags it changed included) looks only at
    those: the others' keys are what they were."""
    for statement in DDL:
        db.execute(statement)
    baseline = db.execute("SELECT count(*) FROM builds").fetchone()[0] == 0
    if baseline:
        changed = None  # a baseline records every key
    key = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    temps = [*NEW, "_changed"]
    try:
        db.execute("BEGIN")
        if changed is not None:
            db.execute("DROP TABLE IF EXISTS temp._changed")
            db.execute("CREATE TEMP TABLE _changed (project_id TEXT PRIMARY KEY) WITHOUT ROWID")
            db.conn.executemany("INSERT OR IGNORE INTO temp._changed VALUES (?)", [(p,) for p in changed])
        for table, select in NEW.items():
            db.execute(f"DROP TABLE IF EXISTS temp.[{table}]")
            db.execute(f"CREATE TEMP TABLE [{table}] AS " + select.format(only=ONLY[table] if changed is not None else ""))
        counts = {name: db.execute(f"SELECT count(*) FROM temp.[{table}]").fetchone()[0]
                  for name, table in zip(CHANGES, NEW)}
        build_id = db.execute(
            "INSERT INTO builds (build_key, built_at, baseline, new_projects, new_flags, new_contracts) "
            "VALUES (?, ?, ?, ?, ?, ?)", [key, now(), int(baseline), *([0] * 3 if baseline else counts.values())]
        ).lastrowid
        if not baseline:
            for change, select in ROWS.items():
                db.execute(f"INSERT INTO build_changes ({_COLUMNS}) {select}", [build_id])
            db.execute("UPDATE builds SET new_flags = (SELECT count(*) FROM build_changes WHERE build_id = ?1 AND "
                       "change = 'flag') WHERE id = ?1", [build_id])
        db.execute(LOWERED.format(only="project_id IN temp._changed AND" if changed is not None else ""))
        db.execute("INSERT INTO agg_seen_projects SELECT project_id FROM temp._new_projects")
        db.execute("INSERT INTO agg_seen_flags SELECT project_id, code FROM temp._new_flags")
        db.execute("INSERT INTO agg_seen_contracts SELECT id FROM temp._new_contracts")
        old = db.execute("SELECT id FROM builds ORDER BY id DESC LIMIT 1 OFFSET ?", [KEEP_BUILDS]).fetchone()
        if old:
            db.execute("DELETE FROM build_changes WHERE build_id <= ?", [old[0]])
            db.execute("DELETE FROM builds WHERE id <= ?", [old[0]])
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        for table in temps:
            db.execute(f"DROP TABLE IF EXISTS temp.[{table}]")


def latest(conn):
    """The newest build's row, or None before the first (or in a database built before this step)."""
    try:
        return conn.execute("SELECT * FROM builds ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise


def since(conn, done, after: str | None = None) -> list:
    """The builds after the newest one in ``done`` (build keys already digested), oldest first; when
    none is, those built after ``after`` (the first follow's time), else the newest alone: what the
    next digests cover. Baselines bring nothing."""
    if latest(conn) is None:
        return []
    rows = conn.execute("SELECT * FROM builds ORDER BY id").fetchall()
    marks = [i for i, row in enumerate(rows) if row["build_key"] in done]
    if marks:
        pending = rows[marks[-1] + 1:]
    else:
        pending = [row for row in rows if row["built_at"] > after] if after else rows[-1:]
    return [row for row in pending if not row["baseline"]]
