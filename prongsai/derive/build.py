"""``prongsai build``: every derived table, computed from the source tables.

Each step is a function ``(db) -> None`` in the module that owns its tables; steps replace
their tables atomically so readers never see half a build.

A build is **incremental** when the previous build left its state (``meta.build_state``: a digest
of the derive code and the flag settings, unchanged) and ``full`` is not asked: it works out which
projects changed since (see :func:`changed_projects`) and hands them to the steps that take a
``changed`` argument, which then recompute only what those projects touch; the others run whole.
The tables are the same as a full build's (``tests/test_build_incremental.py`` compares them).
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import json
import os
import pathlib
import secrets
import time

import click

from prongsai.core.clock import now
from prongsai.core.schema import get_meta, open_db, set_meta
from prongsai.derive import reconcile
from prongsai.derive.aggregates import has_state

#: (label, "module:function") in the order they run; flags first, aggregates read them.
STEPS = [
    ("reconcile", "prongsai.derive.reconcile:build"),  # damaged tax ids joined to their twins, before flags
    ("flags", "prongsai.derive.flags.build:build"),
    ("coverage", "prongsai.derive.flags.coverage:build"),
    ("aggregates", "prongsai.derive.aggregates:build"),
    ("investigations", "prongsai.derive.investigations:build"),
    ("search index", "prongsai.derive.search_index:build"),
    ("changes", "prongsai.derive.changes:build"),  # what this build brought, for watchlists
    ("datasette inspect", "prongsai.datasette_inspect:build"),  # keep last: counts every table
]

#: Source tables whose rows carry ``last_seen`` and a ``project_id`` (databases without ``run_touched``).
PROJECT_TABLES = ("projects", "items", "bids", "awards", "contracts", "announcements")
#: How a changed agency or supplier row reaches the projects that show it.
PARTY_PROJECTS = {
    "agencies": ("SELECT project_id FROM projects WHERE buyer_id IN ({ids}) OR procuring_entity_id IN ({ids})",),
    "suppliers": ("SELECT project_id FROM contracts WHERE supplier_id IN ({ids})",
                  "SELECT b.project_id FROM bid_tenderers t JOIN bids b ON b.id = t.bid_id WHERE t.supplier_id IN ({ids})",
                  "SELECT a.project_id FROM award_suppliers s JOIN awards a ON a.id = s.award_id "
                  "WHERE s.supplier_id IN ({ids})"),
}
#: Connection settings for the build besides its page cache (``cache_kib``): file reads mapped, and
#: WAL commits not synced one by one (the build ends with a checkpoint; a crash means building again).
PRAGMAS = ("mmap_size = 8589934592", "synchronous = NORMAL")
#: The build's page cache: this share of the machine's (or container's) memory, never less than
#: the floor. The aggregates rewrite tables larger than 256 MiB in one transaction; a cache that
#: holds them spares SQLite spilling dirty pages to the WAL and reading them back (1M demo
#: projects: aggregates 140 s with 256 MiB, 93 s with 2 GiB). On a 1 GB Fly machine: the floor.
CACHE_SHARE, CACHE_FLOOR_KIB = 0.25, 256 << 10
#: ANALYZE reads this many rows per index instead of every row (the planner needs only the shape).
ANALYSIS_LIMIT = 1000


def memory_bytes(cgroup_limit=pathlib.Path("/sys/fs/cgroup/memory.max")) -> int:
    """Physical memory, or the cgroup's limit when a container has a lower one ("max": none)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = pathlib.Path(cgroup_limit).read_text().strip()
    except OSError:
        return memory
    return min(memory, int(limit)) if limit.isdigit() else memory


def cache_kib(memory: int) -> int:
    """The build's page cache in KiB (``PRAGMA cache_size`` takes it negated) for ``memory`` bytes."""
    return max(CACHE_FLOOR_KIB, int(memory * CACHE_SHARE) >> 10)


def run_build(db_path, *, flag_settings=None, full: bool = False, echo=None) -> str:
    """Build ``db_path``; incremental unless ``full`` or the previous build's state is missing or stale."""
    echo = echo or (lambda line: click.echo(line, err=True))
    db = open_db(db_path, create=False)
    conn = db.conn
    for pragma in (f"cache_size = -{cache_kib(memory_bytes())}", *PRAGMAS):
        conn.execute(f"PRAGMA {pragma}")
    state = fingerprint(flag_settings)
    last_run = conn.execute("SELECT coalesce(max(id), 0) FROM source_runs").fetchone()[0]
    started = time.perf_counter()
    incremental = not full and get_meta(db, "build_state") == state and has_state(conn)
    changed = changed_projects(db) if incremental else None
    echo("build: full" if changed is None else
         f"build: incremental, {len(changed):,} projects changed (found in {time.perf_counter() - started:.1f}s)")
    for label, target in STEPS:
        module_name, func_name = target.split(":")
        module = importlib.import_module(module_name)
        step = getattr(module, func_name)
        started = time.perf_counter()
        kwargs = {"settings_path": flag_settings} if label == "flags" else {}
        if changed is None:
            step(db, **kwargs)
        elif label == "search index" and hasattr(module, "update"):
            for table, rowids in _rowids(conn, changed).items():
                module.update(db, rowids, table)
        elif "changed" in inspect.signature(step).parameters:
            result = step(db, changed=changed, **kwargs)
            if label == "flags":
                changed = changed | set(result.get("reflagged", ()))
        elif label == "flags":  # a whole flags run: the projects whose flags it changed are changed too
            before = _flag_signatures(conn)
            step(db, **kwargs)
            changed = changed | _reflagged(conn, before)
        elif label == "reconcile":  # it moves the links of damaged suppliers' projects
            changed = changed | _reconciled(conn)
            step(db, **kwargs)
        else:
            step(db, **kwargs)
        grown = f" ({len(changed):,} projects changed with it)" if changed is not None and label == "flags" else ""
        echo(f"build: {label} in {time.perf_counter() - started:.1f}s{grown}")
    started = time.perf_counter()
    build_id = time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(3)
    conn.execute("BEGIN")
    set_meta(db, build_id=build_id, built_at=now(), build_state=state, build_last_run=str(last_run))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")  # a single file Datasette can open immutable
    conn.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    conn.execute("ANALYZE")
    echo(f"build: analyze and journal in {time.perf_counter() - started:.1f}s")
    db.close()
    return build_id


def fingerprint(flag_settings=None) -> str:
    """A digest of what a build's tables depend on besides the data: the derive code and the flag
    settings in force. When it differs from the previous build's, the next build is a full one."""
    from prongsai.derive.flags.settings import load_cardinal, load_thai

    digest = hashlib.sha256()
    here = pathlib.Path(__file__).resolve().parent
    for path in sorted([*here.rglob("*.py"), *here.rglob("*.csv"), here.parent / "datasette_inspect.py"]):
        digest.update(str(path.relative_to(here.parent)).encode() + b"\0" + path.read_bytes())
    settings = {"cardinal": load_cardinal(flag_settings), "thai": load_thai(None)}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def changed_projects(db) -> set[str] | None:
    """Project ids that the loads since the previous build inserted, amended, filled or removed rows
    of, or None when one of them was a first load (everything changed: a full build).

    Every load records them in ``run_touched`` (``scrapers.store``); an agency or supplier it
    changed reaches the projects that show it, and projects new to, or gone from, the previous
    build's state are added. A database without ``run_touched`` (before schema v4) falls back to the
    rows' ``last_seen``: every row at or after the first run the previous build did not see, and
    every row without one, whenever a load ran. A writer that bypasses the store must ask for a
    full build.
    """
    conn = db.conn
    after = int(get_meta(db, "build_last_run") or 0)
    selects = ["SELECT project_id FROM projects WHERE project_id NOT IN (SELECT project_id FROM agg_state_proj)",
               "SELECT project_id FROM agg_state_proj WHERE project_id NOT IN (SELECT project_id FROM projects)"]
    params: list = []
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_touched'").fetchone():
        touched = "SELECT key FROM run_touched WHERE source_run_id > ? AND kind = ?"
        if conn.execute(touched.replace("key", "1") + " LIMIT 1", [after, "all"]).fetchone():
            return None
        selects.append(touched)
        params += [after, "project"]
        for kind, table in (("agency", "agencies"), ("supplier", "suppliers")):
            for select in PARTY_PROJECTS[table]:
                selects.append(select.format(ids=touched))
                params += [after, kind] * select.count("{ids}")
        return {row[0] for row in conn.execute(" UNION ".join(selects), params)}
    since = conn.execute("SELECT min(started_at) FROM source_runs WHERE id > ?", [after]).fetchone()[0]
    if since is not None:
        for table in PROJECT_TABLES:
            selects.append(f"SELECT project_id FROM [{table}] WHERE last_seen >= ? OR last_seen IS NULL")
            params.append(since)
        for table, reach in PARTY_PROJECTS.items():
            ids = f"SELECT id FROM [{table}] WHERE last_seen >= ? OR last_seen IS NULL"
            for select in reach:
                selects.append(select.format(ids=ids))
                params.extend([since] * select.count("{ids}"))
    return {row[0] for row in conn.execute(" UNION ".join(selects), params)}


def _flag_signatures(conn) -> dict[str, tuple]:
    """Each flagged or scored project's (codes, risk score), to tell which ones a full flags run changed."""
    return {pid: (codes, score) for pid, codes, score in conn.execute(
        """SELECT project_id, group_concat(code, ' '), max(score) FROM (
             SELECT project_id, code, NULL AS score FROM red_flags
             UNION ALL SELECT project_id, NULL, score FROM risk_scores
             ORDER BY 1, 2) GROUP BY project_id""")}


def _reflagged(conn, before: dict[str, tuple]) -> set[str]:
    after = _flag_signatures(conn)
    return {pid for pid in before.keys() | after.keys() if before.get(pid) != after.get(pid)}


def _reconciled(conn) -> set[str]:
    """Projects whose links name a damaged supplier that the reconcile step will move to its twin.

    Not every damaged supplier's: one without a twin keeps its links build after build, and its
    projects, unchanged, would be rebuilt every time (about 4 % of the demo's).
    """
    with _temp_ids(conn, "_build_joined", [damaged for damaged, *_ in reconcile.twins(conn)]) as ids:
        return {row[0] for row in conn.execute(" UNION ".join(s.format(ids=ids) for s in PARTY_PROJECTS["suppliers"]))}


def _rowids(conn, changed: set[str]) -> dict[str, set[int]]:
    """The search index's tables' rowids of the changed projects, their agencies and suppliers."""
    with _temp_ids(conn, "_build_changed", changed) as ids:
        return {"projects": {r[0] for r in conn.execute(f"SELECT rowid FROM projects WHERE project_id IN ({ids})")},
                "agencies": {r[0] for r in conn.execute(
                    f"SELECT rowid FROM agencies WHERE id IN (SELECT buyer_id FROM projects WHERE project_id IN ({ids}))")},
                "suppliers": {r[0] for r in conn.execute(
                    f"SELECT rowid FROM suppliers WHERE id IN (SELECT supplier_id FROM contracts "
                    f"WHERE project_id IN ({ids}))")}}


@contextlib.contextmanager
def _temp_ids(conn, name: str, ids):
    """``ids`` in a temporary table for the ``with`` block; yields the SELECT that lists them."""
    conn.execute(f"CREATE TEMP TABLE {name} (id TEXT PRIMARY KEY) WITHOUT ROWID")
    try:
        conn.executemany(f"INSERT INTO temp.{name} VALUES (?)", [(i,) for i in ids])
        yield f"SELECT id FROM temp.{name}"
    finally:
        conn.execute(f"DROP TABLE temp.{name}")
