"""The ``flags`` build step: compute every flag, then publish them in one transaction.

Flags are computed into scratch and temporary tables (invisible to readers), then
``flag_definitions``, ``red_flags``, ``org_flags`` and ``risk_scores`` are replaced inside a single
transaction, so a reader sees either the previous build or this one, never half of it.

The work runs on two connections of its own, one per core (their temporary tables go when they
close): the first, read-write, builds the bid tables while the second, read-only, builds the award
tables and computes the flags that read its own ``_th``. The other flags are then shared: each
connection takes the next group whenever it is free, so neither sits idle while the other finishes.
The shared tables live in scratch databases attached to both connections; no scratch database is
written while the other connection reads it, so neither ever waits for a lock.

Publishing is split the same way: as soon as its own flags are done, the first connection opens the
publishing transaction, deletes the old rows and writes its new ones; then, with the second's
results, their ``red_flags`` rows, while the second stages the new ``org_flags`` and
``risk_scores``, each in a scratch table with the public table's exact definition, so that the
first only copies their b-tree pages (SQLite's transfer optimisation for ``INSERT INTO t SELECT *
FROM u`` into an empty table). The public database is in WAL mode, so the second connection goes
on reading it while the first writes.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import json
import pathlib
import re
import sqlite3
import sys
import tempfile
import threading

from prongsai.core.clock import now
from prongsai.core.schema import PUBLIC_SECURE_DELETE
from prongsai.derive.flags import applicability, base, cardinal, scores, thai
from prongsai.derive.flags.definitions import CARDINAL_CODES, FLAGS
from prongsai.derive.flags.settings import load_calibration, load_cardinal, load_thai, pipe_set

#: Scratch databases, each written by one connection while the other only reads the others.
PROJECTS, BIDS, AWARDS = "scope_projects", "scope_bids", "scope_awards"     # first, first, second
FIRST_RESULTS, SECOND_RESULTS = "first_results", "second_results"
SECOND_STAGED = "second_staged"
SCRATCH = (PROJECTS, BIDS, AWARDS, SECOND_RESULTS, SECOND_STAGED, FIRST_RESULTS)
#: The public tables the second connection stages in ``SECOND_STAGED`` before publishing (see ``_stage``).
STAGED = ("org_flags", "risk_scores")
#: Page cache of each database a build connection opens, main, temp and scratch alike, in KiB.
#: The build reads each table in one pass, so caches of SQLite's default size (2 MB, sixteen of them
#: over the two connections) mostly hold again what the operating system caches: at 500 KiB the
#: build is as fast (measured: 26.4-27.1 s on 1M demo projects against 27.3 s) in 53 MB instead of
#: 74. A process-wide soft heap limit saved as much but slowed the temp tables' writes by a tenth.
#: (The public database alone at 2 MB: 0.7 s faster in 6 MB more; the memory is worth more here.)
CACHE_KIB = 500
#: Cardinal's indicators that the second connection computes while the first builds the bid tables.
WITHOUT_BIDS = ("R003", "R018")
#: Flags that either connection may take, in groups, longest first (the longest-processing-time
#: rule): the first connection starts on them once its bid tables are built, the second once its own
#: flags are done. TH14 and R048 read no bids; R024 and R058 share their ratios; R025, R038 and TH08
#: the (project, tenderer) rows ``_sp``. TH06 and TH07 read the second connection's ``_th``.
SHARED_WORK = (("TH14",), ("R038", "R025", "TH08", "TH15"), ("R024", "R058"), ("R048",), ("R028",), ("R036",),
               ("R035",), ("R030",))
_SHARED = {code for group in SHARED_WORK for code in group}
#: The second connection's own Thai flags: before the bid tables are ready, and after.
SECOND_CONNECTION_THAI = tuple(code for code in thai.FLAG_RULES if code not in thai.BID_CODES and code not in _SHARED)
SECOND_CONNECTION_THAI_BIDS = tuple(code for code in thai.BID_CODES if code not in _SHARED)
#: Each connection's results (temporary tables): raised flags per project and per organisation,
#: flags' testable counts, and the open tables published beside the flags (``DERIVED``).
_RESULTS = (("process_hits", "(pid INTEGER, code TEXT, value REAL, evidence TEXT)"),
            ("org_hits", "(org_type TEXT, org_id TEXT, code TEXT, value REAL, evidence TEXT)"),
            ("flag_testable", "(code TEXT, testable INTEGER)"))
#: Open tables the flags build publishes, replaced in the same transaction as the flags (documented
#: in metadata.yml); all but ``flag_applicability`` are computed by a flag's rule. The unit price
#: tables are keyed as the portal reads them and filled in key order, so they need no other index
#: and are published by copying pages (SQLite's transfer optimisation: same definition everywhere).
DERIVED = {
    "unit_price_benchmarks": "(item_class TEXT, unit TEXT, fiscal_year INTEGER, purchases INTEGER, median REAL, "
                             "p25 REAL, p75 REAL, min REAL, max REAL, comparable INTEGER, "
                             "PRIMARY KEY (item_class, unit, fiscal_year)) WITHOUT ROWID",
    "unit_price_agencies": "(item_class TEXT, unit TEXT, fiscal_year INTEGER, buyer_id TEXT, purchases INTEGER, "
                           "mean_price REAL, max_price REAL, ratio_to_median REAL, "
                           "PRIMARY KEY (item_class, unit, fiscal_year, buyer_id)) WITHOUT ROWID",
    "cobid_edges": "(supplier_a TEXT, supplier_b TEXT, together INTEGER, a_won INTEGER, b_won INTEGER, "
                   "others_won INTEGER, a_procedures INTEGER, b_procedures INTEGER)",
}
APPLICABILITY = ("flag_applicability", "(code TEXT PRIMARY KEY, counted TEXT, needs TEXT, testable INTEGER, "
                 "fired INTEGER, share REAL, max_fired_pct REAL, miscalibrated INTEGER, computed_at TEXT)")
_INDEXES = {"cobid_edges": ("supplier_a", "supplier_b")}


def build(db, settings_path=None, thai_settings_path=None) -> dict:
    """Compute all enabled flags on ``db`` (a sqlite-utils Database); return Cardinal's Meta."""
    cardinal_settings = load_cardinal(settings_path)
    thai_settings = load_thai(thai_settings_path)
    calibration = load_calibration(thai_settings_path)
    db_file = db.conn.execute("PRAGMA database_list").fetchone()[2]
    computed_at = now()
    top = cardinal_settings.get("", {})
    scope = {"exclusions": pipe_set(cardinal_settings.get("exclusions", {}).get("procurement_method_details")),
             "include": pipe_set(top.get("price_comparison_procurement_methods")),
             "exclude": pipe_set(top.get("no_price_comparison_procurement_methods"))}
    with tempfile.TemporaryDirectory(prefix="prongsai-flags-") as scratch, \
            concurrent.futures.ThreadPoolExecutor(1) as pool, \
            contextlib.closing(_connect(db_file, scratch)) as conn:
        work = _SharedWork(cardinal_settings, thai_settings)
        other = _Second(db_file, scratch, work, computed_at)
        projects_ready, bids_ready = threading.Event(), threading.Event()
        others = pool.submit(other.flags, cardinal_settings, thai_settings, projects_ready, bids_ready)
        try:
            try:
                base.create_projects(conn, PROJECTS, **scope)
            finally:
                projects_ready.set()
            try:
                base.create_bids(conn, BIDS)
            finally:
                bids_ready.set()
            other.awards_ready.wait()
            if other.awards_failed:
                others.result()  # raises the second connection's error
            meta = work.run(conn)
            _keep_results(conn, FIRST_RESULTS, derived=False)

            def results_of_the_second():
                try:
                    other.results_ready.wait()
                except threading.BrokenBarrierError:
                    others.result()  # raises the second connection's error
                    raise
                return _applicability(conn, calibration["max_fired_pct"], computed_at)

            def staged_by_the_second():
                meta.update(others.result())
                return _thresholds(cardinal_settings, thai_settings, meta)

            checked = _publish(conn, computed_at, results_of_the_second, staged_by_the_second)
            for line in applicability.warnings(checked):
                print(line, file=sys.stderr)
        except BaseException:
            other.results_ready.abort()  # the second connection must not wait for these results
            raise
        finally:
            pool.submit(other.close).result()
    return meta


def _keep_results(conn, schema: str, *, derived: bool) -> None:
    """Copy this connection's temporary results to ``schema``, where the other connection can read them.

    Done on both connections at once, so each also looks up its raised flags' project ids (to be
    published) and counts them per code (``flag_applicability``), rather than leaving it all to
    the end, when one connection alone publishes. The first connection publishes its ``DERIVED``
    tables from its own temporary ones (``derived=False``).
    """
    for name in dict(_RESULTS):
        if name == "process_hits":  # in the order computed (CROSS JOIN keeps it): see ``build``
            conn.execute(f"CREATE TABLE {schema}.{name} AS SELECT f.*, p.project_id FROM temp.{name} f "
                         f"CROSS JOIN _p p ON p.pid = f.pid")
        else:
            conn.execute(f"CREATE TABLE {schema}.{name} AS SELECT * FROM temp.{name}")
    for name, body in DERIVED.items() if derived else ():
        conn.execute(f"CREATE TABLE {schema}.{name} {body}")
        conn.execute(f"INSERT INTO {schema}.{name} SELECT * FROM temp.{name}")
    conn.execute(f"CREATE TABLE {schema}.fired AS SELECT 'process' AS scope, code, count(*) AS n FROM temp.process_hits "
                 f"GROUP BY code UNION ALL SELECT 'organisation', code, count(*) FROM temp.org_hits GROUP BY code")


def _results(table: str) -> str:
    """Both connections' ``process_hits`` or ``org_hits``, once each has kept them in scratch."""
    return f"SELECT * FROM {FIRST_RESULTS}.{table} UNION ALL SELECT * FROM {SECOND_RESULTS}.{table}"


def _stage(conn, table: str) -> str:
    """Create ``table`` in ``SECOND_STAGED`` exactly as in main, indexes too; its name."""
    schema = SECOND_STAGED
    for (sql,) in conn.execute("SELECT sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                               "ORDER BY type = 'index'", [table]).fetchall():
        conn.execute(re.sub(r"^(CREATE (?:UNIQUE )?(?:TABLE|INDEX) (?:IF NOT EXISTS )?)", rf"\1{schema}.", sql))
    return f"{schema}.{table}"


def _connect(db_file: str, scratch: str, *, read_only: bool = False, schemas=SCRATCH):
    """A connection of the build's own: its temporary tables and attachments go when it closes.

    Foreign keys stay off (SQLite's default): every row is derived from the tables it points to,
    and checking each again would double the cost of publishing a million flags and rule out the
    transfer optimisation.
    """
    uri = pathlib.Path(db_file).resolve().as_uri() + ("?mode=ro" if read_only else "")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    for schema in ("main", "temp"):  # the databases attached later inherit main's secure delete
        conn.execute(f"PRAGMA {schema}.cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA {schema}.secure_delete = {PUBLIC_SECURE_DELETE}")
    if not read_only:  # as open_db leaves it: readers and the writer never wait for each other
        conn.execute("PRAGMA journal_mode = WAL")
    for name, body in (*_RESULTS, *DERIVED.items()):
        conn.execute(f"CREATE TEMP TABLE {name} {body}")
    for schema in schemas:
        _attach(conn, scratch, schema)
    base.create_views(conn)
    return conn


def _attach(conn, scratch: str, schema: str) -> None:
    conn.execute("ATTACH DATABASE ? AS " + schema, [str(pathlib.Path(scratch) / f"{schema}.db")])
    conn.execute(f"PRAGMA {schema}.journal_mode = OFF")  # scratch: nothing to roll back to
    conn.execute(f"PRAGMA {schema}.synchronous = OFF")
    conn.execute(f"PRAGMA {schema}.cache_size = -{CACHE_KIB}")


class _SharedWork:
    """``SHARED_WORK``, one group at a time to whichever connection asks first."""

    def __init__(self, cardinal_settings, thai_settings):
        self.cardinal_settings, self.thai_settings = cardinal_settings, thai_settings
        self.groups, self.lock = list(SHARED_WORK), threading.Lock()

    def run(self, conn) -> dict:
        """Compute groups on ``conn`` until none is left; return their Cardinal ``Meta``."""
        meta: dict = {}
        while True:
            with self.lock:
                if not self.groups:
                    return meta
                group = self.groups.pop(0)
            meta.update(cardinal.compute(conn, self.cardinal_settings, [c for c in group if c in CARDINAL_CODES]))
            thai.compute(conn, _only(self.thai_settings, group))


class _Second:
    """The second connection (read-only on the public database), used from the pool's thread."""

    def __init__(self, db_file: str, scratch: str, work: _SharedWork, computed_at: str):
        self.db_file, self.scratch, self.conn, self.work = db_file, scratch, None, work
        self.computed_at = computed_at
        self.awards_ready, self.awards_failed = threading.Event(), False
        #: Both connections have copied their results to scratch tables.
        self.results_ready = threading.Barrier(2)

    def flags(self, cardinal_settings, thai_settings, projects_ready, bids_ready) -> dict:
        """The award tables (while the first connection builds ``_p``), the flags without bids,
        then (bids ready) its own and the shared ones; then, with both connections' results, it
        stages ``org_flags`` and ``risk_scores``."""
        try:
            # the projects' scratch is attached once written: even reading its schema would wait for the writer
            self.conn = _connect(self.db_file, self.scratch, read_only=True,
                                 schemas=[schema for schema in SCRATCH if schema != PROJECTS])
            base.create_awards(self.conn, AWARDS)
        except BaseException:
            self.awards_failed = True
            self.results_ready.abort()
            raise
        finally:
            self.awards_ready.set()
        try:
            projects_ready.wait()
            _attach(self.conn, self.scratch, PROJECTS)
            thai.facts(self.conn)
            thai.compute(self.conn, _only(thai_settings, SECOND_CONNECTION_THAI))
            meta = cardinal.compute(self.conn, cardinal_settings, WITHOUT_BIDS)
            bids_ready.wait()
            applicability.count_testable(self.conn, _enabled(cardinal_settings, thai_settings))
            thai.compute(self.conn, _only(thai_settings, SECOND_CONNECTION_THAI_BIDS))
            meta.update(self.work.run(self.conn))
            _keep_results(self.conn, SECOND_RESULTS, derived=True)
            self.results_ready.wait()
        except BaseException:
            self.results_ready.abort()
            raise
        self.conn.execute(f"INSERT INTO {_stage(self.conn, 'org_flags')} SELECT org_type, org_id, code, value, "
                          f"evidence, ? FROM ({_results('org_hits')}) ORDER BY 1, 2, 3", [self.computed_at])
        scores.insert(self.conn, _stage(self.conn, "risk_scores"),
                      f"SELECT pid, code FROM ({_results('process_hits')})",
                      self.computed_at)
        return meta

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _enabled(cardinal_settings, thai_settings) -> dict[str, dict]:
    """Every flag this build runs, with its settings (defaults filled in)."""
    enabled = {code: FLAGS[code].defaults | cardinal_settings.get(code, {}) for code in CARDINAL_CODES
               if code in cardinal_settings or (code == "R003" and "R003.procurement_method_details" in cardinal_settings)}
    return enabled | thai_settings


def _applicability(conn, max_fired_pct: float, computed_at: str) -> list[tuple]:
    """``flag_applicability`` rows from both connections' testable counts and raised flags."""
    testable = dict(conn.execute(_results("flag_testable")).fetchall())
    counts: dict[str, dict[str, int]] = {"process": {}, "organisation": {}}
    for scope, code, n in conn.execute(_results("fired")):
        counts[scope][code] = counts[scope].get(code, 0) + n
    fired = counts["organisation"] | counts["process"]  # a flag raised on projects counts its projects
    return applicability.rows(testable, fired, max_fired_pct, computed_at)


def _only(settings: dict, codes) -> dict:
    return {code: cfg for code, cfg in settings.items() if code in codes}


def _thresholds(cardinal_settings, thai_settings, meta) -> dict[str, str | None]:
    """``flag_definitions.threshold``: the settings in force and, for fences, the computed values."""
    out = {}
    for code in FLAGS:
        if code in thai_settings:
            out[code] = json.dumps(thai_settings[code], ensure_ascii=False)
        elif code in cardinal_settings or (code == "R003" and "R003.procurement_method_details" in cardinal_settings):
            value = {"settings": cardinal_settings.get(code, {}), "meta": meta.get(code, {})}
            if code == "R003":
                value["procurement_method_details"] = cardinal_settings.get("R003.procurement_method_details", {})
            out[code] = json.dumps(value, ensure_ascii=False)
        else:
            out[code] = None  # not enabled in this build
    return out


def _publish(conn, computed_at: str, results_of_the_second, staged_by_the_second) -> list[tuple]:
    """Replace the public tables by the new ones in one transaction (foreign keys off); return the
    ``flag_applicability`` rows.

    The transaction opens once this connection's results are in: the old rows are deleted and its
    own new ones written while the second connection may still be computing
    (``results_of_the_second()`` waits for its results and returns the applicability rows) and then
    staging ``org_flags`` and ``risk_scores`` (``staged_by_the_second()`` waits for them and returns
    the thresholds). Readers see the previous tables until the commit.
    """
    # deferred: BEGIN IMMEDIATE would also lock the scratch databases the second connection writes
    conn.execute("BEGIN")
    try:
        for table in ("flag_definitions", "red_flags", *STAGED):
            conn.execute(f"DELETE FROM {table}")
        for table, body in (APPLICABILITY, *DERIVED.items()):
            _replace(conn, table, body)
        _insert_results(conn, FIRST_RESULTS, "temp", computed_at)
        checked = results_of_the_second()
        _insert_results(conn, SECOND_RESULTS, SECOND_RESULTS, computed_at)
        thresholds = staged_by_the_second()
        conn.executemany(
            "INSERT INTO flag_definitions (code, cardinal_code, scope, severity, title_th, title_en, "
            "explanation_th, explanation_en, threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.code, f.cardinal_code, f.scope, f.severity, f.title_th, f.title_en, f.explanation_th,
              f.explanation_en, thresholds[f.code]) for f in FLAGS.values()])
        for table in STAGED:
            conn.execute(f"INSERT INTO main.{table} SELECT * FROM {SECOND_STAGED}.{table}")
        conn.executemany(f"INSERT INTO main.{APPLICABILITY[0]} VALUES ({', '.join('?' * 9)})", checked)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return checked


def _insert_results(conn, results: str, derived: str, computed_at: str) -> None:
    """One connection's raised flags (kept in ``results``) and ``DERIVED`` tables (in ``derived``) into main."""
    # flag by flag, as computed: sorting 600k wide rows by project costs more than it saves
    conn.execute(f"INSERT INTO main.red_flags SELECT project_id, code, value, evidence, ? FROM {results}.process_hits",
                 [computed_at])
    for table in DERIVED:  # each computed by one connection: into the empty table its pages are copied
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM {derived}.{table}")


def _replace(conn, table: str, body: str) -> None:
    """Empty ``table`` in main, created (with its indexes) the first time or when its definition changed."""
    found = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
    if found and found[0] != f"CREATE TABLE {table} {body}":
        conn.execute(f"DROP TABLE main.{table}")  # a database built before the definition changed
        found = None
    if found:
        conn.execute(f"DELETE FROM main.{table}")
        return
    conn.execute(f"CREATE TABLE main.{table} {body}")
    for k, on in enumerate(_INDEXES.get(table, ())):
        conn.execute(f"CREATE INDEX main.idx_{table}_{k} ON {table} ({on})")
