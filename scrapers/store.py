"""Loading records into ``procurement.db``: one transaction per run, provenance on every row.

Every source's pure parser returns :class:`scrapers.records.Records` (one per document, or
one per batch of rows of a big file), and every scraper loads them through a :class:`SourceRun`::

    with SourceRun(db_path, source="datagoth", target=url_or_path) as run:
        for records in parse_records(lines):
            load(run, records, source_url=url)   # rows_in, quarantine, upserts, stubs, links

What the run guarantees:

- ``source_runs`` gets a ``running`` row first (committed at once), then ``ok`` with
  ``rows_in``/``rows_changed``/``rows_quarantined``, or ``failed`` with the error. The load itself
  is ONE transaction: on any exception nothing of the run is kept except that ``failed`` row.
- It refuses a database whose ``meta.dataset`` is ``demo`` and marks a fresh one ``real``.
- ``upsert(table, row)`` keys on the table's primary key and writes only the columns given, so
  sources that know different columns of a row never erase each other. New row: inserted with
  ``first_seen = last_seen = run.seen_at``. Same values as stored: only ``last_seen`` moves (and
  ``rows_changed`` is untouched, so a re-run of the same input reports 0). Different values: the
  row is updated, ``first_seen`` kept, and one ``changes`` row per changed field records old and
  new value, when it was seen and by which run. ``source``, ``source_url``, ``fetched_at`` and
  ``content_sha256`` (sha256 of the values this source gave) describe the stored version.
  Within one run the first record for a key wins; later duplicates are ignored.
  A blank (None) erases a stored value only in a ``complete`` row (an OCDS compiled release)
  and only in a row this source stored; a value that fills a blank is not an amendment (no
  ``changes`` row) and leaves the row's provenance as it was.
  ``upsert(..., overwrite=False)`` (a stub, or what a source only mentions in passing) and any
  upsert into a row stored by a source of higher ``scrapers.merge.SOURCE_RANK`` only fill the stored
  row's blanks, and leave its provenance as it was.
- ``link(table, row)`` inserts a row of a link table (no provenance) unless it exists.
- ``quarantine(location, raw, reason)`` stores a malformed row; more than ``max_bad_share``
  (5 %) of ``rows_in`` quarantined fails the run.
- The merge policy (who overwrites whom, what fills a blank, when a blank erases) is
  :mod:`scrapers.merge`, pure; a flush here plans each pending upsert by it (``_plan``) and
  then writes the plan (``_write``).
- Writes are batched (``executemany``, one ``SELECT ... IN`` per 500 keys to compare; nothing to
  compare in a table that was empty), written parents first, and foreign keys are checked at
  commit, so the order of calls inside a run does not matter. A table empty at the start of the
  run gets its non-foreign-key indexes rebuilt once at the end instead of row by row.
- First load: when every table with a foreign key is empty, the run checks foreign keys once
  before commit (``PRAGMA foreign_key_check``, an ``IntegrityError`` naming the first orphan)
  instead of row by row, so the empty tables' foreign-key indexes are deferred too (with
  enforcement on, a dropped one would turn a parent insert after an orphaned child into a table scan),
  and it writes through the rollback journal rather than WAL when no other connection is attached.

- ``run_touched`` gets, in the run's transaction, the project, agency and supplier of every row
  the run inserted, amended, filled or removed (a link row: the project of the row it hangs
  from); a first load writes one ``all`` row instead. Rows only seen again are not in it, so an
  incremental build reads what a refresh changed without scanning every table's ``last_seen``.
- A first load can be prepared by worker processes (``scrapers.workers``): :func:`staged` does
  in a worker what a flush would insert, :meth:`SourceRun.load_staged` writes it.

Errors a user can act on subclass :class:`ScrapeError` (a ``UserError``: one line, exit 1).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import gc
import itertools
import json
import pathlib
import sqlite3
from typing import Iterable, NamedTuple

import sqlite_utils

from prongsai.core.clock import now
from prongsai.core.errors import UserError
from prongsai.core.files import sha256_file
from prongsai.core.progress import progress
from prongsai.core.schema import get_meta, open_db, set_meta
from scrapers.merge import may_erase, may_overwrite, merge, row_sha256
from scrapers.records import Records

MAX_BAD_SHARE = 0.05
PROVENANCE = ("source", "source_url", "fetched_at", "content_sha256", "first_seen", "last_seen")
_IN_CHUNK = 500
#: ``run_touched.kind`` of a table's own keys; any other table with a ``project_id`` records its project.
_TOUCH_KINDS = {"projects": "project", "agencies": "agency", "suppliers": "supplier"}
_DONE_LIMIT = 100_000


class ScrapeError(UserError):
    """A run that cannot go on; the message says what to fix."""


class LayoutError(ScrapeError):
    """The source changed shape: a column, element or envelope is missing or renamed."""

    def __init__(self, source: str, location: str, field: str, found):
        self.source, self.location, self.field, self.found = source, location, field, found
        super().__init__(f"{source}: layout changed in {location}: expected {field}, found {found}")


class TooManyBadRows(ScrapeError):
    pass


class DemoDatabaseError(ScrapeError):
    pass


def each_file(source: str, items, load, *, label=str) -> list:
    """``load(item)`` for every file (each its own run), going on past one that fails; the
    failures are reported together at the end, each named by ``label(item)``."""
    results, failures = [], []
    for item in items:
        try:
            results.append(load(item))
        except UserError as exc:
            failures.append(f"{label(item)}: {exc.message}")
    if failures:
        raise ScrapeError(f"{source}: {len(failures)} file(s) failed: " + " | ".join(failures))
    return results


def now_iso() -> str:
    """UTC timestamp with microseconds: it also tells this run's rows from the previous run's."""
    return now("microseconds")


class Pending(NamedTuple):
    """One upsert waiting for the next flush (the first for its key in this run)."""
    row: dict
    source_url: str | None
    overwrite: bool  # False: a stub, it only fills the stored row's blanks
    complete: bool   # the row states every column it gives: its blanks erase too


class Staging(NamedTuple):
    """What a worker process needs to prepare a first load's inserts (:func:`staged`)."""
    source: str
    source_url: str | None
    fetched_at: str
    seen_at: str
    keys: dict  # table -> its primary key column, for every table the source upserts


def staged(records: Iterable[Records], staging: Staging) -> tuple:
    """``(rows_in, bad, inserts, links)``: what the flushes of a first load would write for
    ``records``, in a form :meth:`SourceRun.load_staged` binds straight into SQLite (pure: it
    runs in a worker process). ``inserts`` holds ``(table, columns, parameters)`` with the first
    row of each key (upserts before stubs, as :func:`scrapers.records.load` feeds them),
    grouped by column set, each with its provenance; ``links`` holds ``(table, columns, rows)``.
    A key repeated in a later batch is left to ``ON CONFLICT DO NOTHING``, as a flush does."""
    rows_in, bad, first, links = 0, [], {}, {}
    keys = staging.keys
    for batch in records:
        rows_in += batch.rows_in
        bad.extend(tuple(b) for b in batch.bad)
        for table, row in itertools.chain(batch.upserts, batch.stubs):
            rows = first.get(table)
            if rows is None:
                rows = first[table] = {}
            rows.setdefault(row[keys[table]], row)
        for table, row in batch.links:
            links.setdefault(table, []).append(row)
    tail = (staging.source, staging.source_url, staging.fetched_at)
    seen = (staging.seen_at, staging.seen_at)
    inserts = []
    for table, rows in first.items():
        groups: dict[tuple, list] = {}
        for row in rows.values():
            values = tuple(row.values())
            groups.setdefault(tuple(row), []).append((*values, *tail, row_sha256(values), *seen))
        inserts.extend((table, cols, params) for cols, params in groups.items())
    link_groups: dict[tuple, list] = {}
    for table, rows in links.items():
        for row in rows:
            link_groups.setdefault((table, tuple(row)), []).append(tuple(row.values()))
    return rows_in, bad, inserts, [(table, cols, values) for (table, cols), values in link_groups.items()]


class _Suspect(NamedTuple):
    """A stored row whose digest differs from an upsert's: the merge policy decides."""
    key: object
    values: tuple
    source_url: str | None
    digest: str
    overwrite: bool
    complete: bool


@dataclasses.dataclass
class _Writes:
    """What one flush writes for one table and column set, batched per kind of statement."""
    inserts: list = dataclasses.field(default_factory=list)
    touches: list = dataclasses.field(default_factory=list)   # (last_seen, key): same values
    updates: list = dataclasses.field(default_factory=list)   # the merged row, new provenance
    fills: dict = dataclasses.field(default_factory=dict)     # filled columns -> (values..., last_seen, key)
    changes: list = dataclasses.field(default_factory=list)   # amendments for ``changes``


class SourceRun:
    """One load of one source (see the module docstring)."""

    def __init__(self, db: str | pathlib.Path | sqlite_utils.Database, source: str, target=None, *,
                 fetched_at: str | None = None, batch_size: int = 20000, label: str | None = None,
                 length: int | None = None, max_bad_share: float = MAX_BAD_SHARE):
        self.source = source
        self._own_db = not isinstance(db, sqlite_utils.Database)
        try:
            self.db = open_db(db) if self._own_db else db
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise self._locked(db) from None
            raise
        self.target = None if target is None else str(target)
        self.target_sha256: str | None = None
        self.seen_at = now_iso()
        self.fetched_at = fetched_at or self.seen_at
        self.batch_size = batch_size
        self.max_bad_share = max_bad_share
        self.rows_in = self.rows_changed = self.rows_quarantined = 0
        self.id: int | None = None
        self._label = label or f"{source}: rows"
        self._length = length
        self._upserts: dict[str, dict[object, Pending]] = {}
        self._links: dict[str, list[dict]] = {}
        self._buffered = 0
        self._pk: dict[str, str] = {}
        self._columns: dict[str, set[str]] = {}
        self._order: list[str] | None = None
        self._fresh: dict[str, bool] = {}
        self._done: dict[str, set] = {}
        self._done_count = 0
        self._deferred_indexes: list[str] = []
        self._touched: dict[str, set] = {}
        self._bulk = False  # foreign keys checked once before commit (see the module docstring)
        self._stack = contextlib.ExitStack()
        self._update = lambda n=1: None
        self._gc_was_enabled = gc.isenabled()

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "SourceRun":
        conn = self.db.conn
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        try:
            dataset = get_meta(self.db, "dataset")
            if dataset == "demo":
                raise DemoDatabaseError(f"{path} is a DEMO database; scrapers only write real data "
                                        "(use another --db, e.g. a new file)")
            if dataset is None:
                set_meta(self.db, dataset="real")
            self.id = conn.execute(
                "INSERT INTO source_runs (source, target, started_at, status) VALUES (?, ?, ?, 'running')",
                (self.source, self.target, self.seen_at)).lastrowid
            self._begin()
        except (sqlite3.OperationalError, DemoDatabaseError) as exc:
            if self.id is not None:
                self._finish("failed", exc)
            self._close()
            if "locked" in str(exc):
                raise self._locked(path) from None
            raise
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA defer_foreign_keys = ON")
        self._update = self._stack.enter_context(progress(self._label, self._length))
        # A load allocates millions of short-lived, acyclic objects; the cyclic collector's passes
        # over the buffered rows cost ~10 % of a big load and free nothing.
        gc.disable()
        return self

    def _locked(self, path) -> ScrapeError:
        return ScrapeError(f"{path} is locked by another writer; run {self.source} again when it has finished")

    def _begin(self) -> None:
        """BEGIN IMMEDIATE; in bulk mode if the database has no row with a foreign key. Enforcement
        can only be switched outside a transaction, so emptiness is checked again under the lock."""
        conn = self.db.conn
        if conn.execute("PRAGMA foreign_keys").fetchone()[0] and self._no_foreign_key_rows():
            self._bulk_modes(True)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                self._bulk_modes(False)
                raise
            if self._no_foreign_key_rows():
                self._bulk = True
                return
            conn.execute("ROLLBACK")  # another writer got in between
            self._bulk_modes(False)
        conn.execute("BEGIN IMMEDIATE")

    def _bulk_modes(self, on: bool) -> None:
        """Foreign keys off (checked once before commit) and, for a first load, the rollback
        journal instead of WAL: it does not journal the pages the load appends, where WAL writes
        every page twice (log, then checkpoint). Switching needs the only connection; with a
        reader attached the run stays in WAL. Only for a first load, as readers that come during
        it wait (up to the busy timeout) while the load spills or commits, and a killed load
        leaves a hot journal that read-only connections cannot roll back: the next ``open_db``
        does, and sets WAL again."""
        conn = self.db.conn
        conn.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")
        with contextlib.suppress(sqlite3.OperationalError):  # "database is locked"
            conn.execute(f"PRAGMA journal_mode = {'DELETE' if on else 'WAL'}")

    def _no_foreign_key_rows(self) -> bool:
        conn = self.db.conn
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return not any(conn.execute(f"PRAGMA foreign_key_list([{t}])").fetchone()
                       and conn.execute(f"SELECT 1 FROM [{t}] LIMIT 1").fetchone() for t in tables)

    def _check_foreign_keys(self) -> None:
        """Bulk mode: the row-by-row check SQLite skipped; every table it reads was empty."""
        if self._bulk:
            orphan = self.db.conn.execute("PRAGMA foreign_key_check").fetchone()
            if orphan:
                table, rowid, parent, _ = orphan
                raise sqlite3.IntegrityError(f"FOREIGN KEY constraint failed: {table} row {rowid} "
                                             f"refers to a missing {parent} row")

    def __exit__(self, exc_type, exc, tb):
        conn = self.db.conn
        failed = exc
        try:
            if exc is None:
                try:
                    self.flush()
                    self._check_bad_share()
                    self._rebuild_indexes()
                    self._check_foreign_keys()
                    if self._bulk:
                        self.db.conn.execute("INSERT OR IGNORE INTO run_touched VALUES (?, 'all', '')", (self.id,))
                    self._finish("ok", None)  # in the run's transaction: committed with its rows
                    conn.execute("COMMIT")
                except BaseException as failure:
                    failed = failure
                    self._fail(failure)
                    raise
            else:
                self._fail(exc)
        finally:
            try:
                if self._bulk:
                    self._bulk_modes(False)
                if self._gc_was_enabled:
                    gc.enable()
                if failed is not None:  # the progress line says "done" only of a run that is
                    self._stack.__exit__(type(failed), failed, failed.__traceback__)
                else:
                    self._stack.close()
            finally:
                self._close()
        return False

    def _fail(self, exc: BaseException) -> None:
        """Roll back and record why, without letting a failure to record hide ``exc``."""
        conn = self.db.conn
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._finish("failed", exc)

    def _finish(self, status: str, exc: BaseException | None) -> None:
        error = None
        if exc is not None:
            error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        if status == "failed":
            self.rows_changed = 0
        self.db.conn.execute(
            "UPDATE source_runs SET finished_at = ?, status = ?, rows_in = ?, rows_changed = ?, "
            "rows_quarantined = ?, error = ?, target_sha256 = ? WHERE id = ?",
            (now_iso(), status, self.rows_in, self.rows_changed, self.rows_quarantined, error,
             self.target_sha256, self.id))

    def _close(self) -> None:
        if self._own_db:
            self.db.close()

    def _check_bad_share(self) -> None:
        if self.rows_in and self.rows_quarantined / self.rows_in > self.max_bad_share:
            reasons = [r[0] for r in self.db.conn.execute(
                "SELECT reason FROM quarantine WHERE source_run_id = ? GROUP BY reason "
                "ORDER BY count(*) DESC LIMIT 3", (self.id,))]
            raise TooManyBadRows(
                f"{self.source}: {self.rows_quarantined:,} of {self.rows_in:,} rows of {self.target} are "
                f"malformed (more than {self.max_bad_share:.0%}); nothing loaded. Most common: "
                + "; ".join(reasons))

    @property
    def first_load(self) -> bool:
        """Did every table with a foreign key start this run empty (the bulk mode)?"""
        return self._bulk

    @contextlib.contextmanager
    def hashing(self, path, known: str | None = None):
        """``target_sha256`` = ``known``, else the sha256 of the file at ``path``, computed in a
        thread while the run reads the file (reading and hashing release the GIL, so on a second
        core it costs no wall time); set when the block ends, also when it fails."""
        if known is not None:
            self.target_sha256 = known
            yield
            return
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            digest = pool.submit(sha256_file, path)
            try:
                yield
            finally:
                self.target_sha256 = digest.result()

    # --- recording -------------------------------------------------------------------------
    def read(self, n: int = 1) -> None:
        """Count ``n`` source rows read (the base of the 5 % rule) and advance the progress."""
        self.rows_in += n
        self._update(n)

    def quarantine(self, location: str, raw, reason: str) -> None:
        self.rows_quarantined += 1
        self.db.conn.execute(
            "INSERT INTO quarantine (source, source_run_id, location, raw, reason, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.source, self.id, location, raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False),
             reason, self.seen_at))

    def upsert(self, table: str, row: dict, *, source_url: str | None = None, overwrite: bool = True,
               complete: bool = False) -> None:
        """``overwrite=False``: a stored row only gets its blanks filled (see the module
        docstring); so does one stored by a source of higher ``merge.SOURCE_RANK`` either way.
        ``complete=True``: the row states every column it gives, so its blanks erase too."""
        self.upsert_rows(((table, row),), source_url=source_url, overwrite=overwrite,
                         complete=(table,) if complete else ())

    def upsert_rows(self, rows, *, source_url: str | None = None, overwrite: bool = True,
                    complete=()) -> None:
        """:meth:`upsert` of every ``(table, row)`` of ``rows``, complete for the tables in
        ``complete`` (one call per batch of rows: this loop is a load's hottest)."""
        upserts, done, pks = self._upserts, self._done, self._pk
        for table, row in rows:
            pending = upserts.get(table)
            if pending is None:
                self._primary_key(table)
                pending = upserts[table] = {}
            key = row[pks[table]]
            if key not in pending and key not in done.get(table, ()):
                pending[key] = Pending(row, source_url, overwrite, table in complete)
                self._buffered += 1
                if self._buffered >= self.batch_size:
                    self.flush()

    def link(self, table: str, row: dict) -> None:
        self.link_rows(((table, row),))

    def link_rows(self, rows) -> None:
        """:meth:`link` of every ``(table, row)`` of ``rows``."""
        links = self._links
        for table, row in rows:
            pending = links.get(table)
            if pending is None:
                pending = links[table] = []
            pending.append(row)
            self._buffered += 1
            if self._buffered >= self.batch_size:
                self.flush()

    # --- first loads staged in worker processes ---------------------------------------------
    def staging(self, tables, link_tables=(), *, source_url: str | None = None) -> Staging | None:
        """A :class:`Staging` when this is a first load (bulk mode) and every table of ``tables``
        and ``link_tables`` started empty: then nothing stored needs comparing, and workers can
        prepare the inserts (:func:`staged`); else None, and rows come through :meth:`upsert`."""
        if not self._bulk or not all(self._is_fresh(t) for t in (*tables, *link_tables)):
            return None
        return Staging(self.source, source_url, self.fetched_at, self.seen_at,
                       {t: self._primary_key(t) for t in tables})

    def load_staged(self, rows_in: int, bad: list, inserts: list, links: list) -> None:
        """Write what :func:`staged` prepared: counts, quarantine, then the inserts parents
        first and the links, one ``executemany`` per table and column set."""
        self.read(rows_in)
        for location, raw, reason in bad:
            self.quarantine(location, raw, reason)
        conn, order = self.db.conn, {t: i for i, t in enumerate(self._parents_first())}
        before = conn.total_changes
        for table, cols, params in sorted(inserts, key=lambda group: order.get(group[0], len(order))):
            unknown = set(cols) - self._columns[table]
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            conn.executemany(self._insert_sql(table, cols), params)
        for table, cols, values in links:
            conn.executemany(self._link_sql(table, cols), values)
        self.rows_changed += conn.total_changes - before

    # --- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is buffered, parents before children: with the deferred foreign-key
        counter at zero SQLite never has to search child tables for orphans."""
        order = self._parents_first()
        for table in order + [t for t in (*self._upserts, *self._links) if t not in order]:
            pending = self._upserts.get(table)
            if pending:
                self._flush_upserts(table, pending)
                self._remember(table, pending)
                pending.clear()
            rows = self._links.get(table)
            if rows:
                self._flush_links(table, rows)
                rows.clear()
        self._buffered = 0
        self._record_touched()

    # --- what the run changed (run_touched) --------------------------------------------------
    def touched(self, table: str, keys) -> None:
        """Rows of ``table`` (by primary key) this run inserted, amended, filled or is about to
        remove: recorded in ``run_touched`` by project, agency or supplier at the next flush. A
        first load records nothing row by row: one ``all`` row says everything is new."""
        if not self._bulk:
            self._touched.setdefault(table, set()).update(keys)

    def _record_touched(self) -> None:
        conn, run = self.db.conn, self.id
        for table, keys in self._touched.items():
            keys = list(keys)
            kind = _TOUCH_KINDS.get(table)
            if kind:
                conn.executemany("INSERT OR IGNORE INTO run_touched VALUES (?, ?, ?)",
                                 [(run, kind, str(k)) for k in keys])
                continue
            pk = self._primary_key(table)
            if "project_id" not in self._columns[table]:
                continue  # not procurement (budget lines)
            for i in range(0, len(keys), _IN_CHUNK):
                chunk = keys[i:i + _IN_CHUNK]
                conn.execute(f"INSERT OR IGNORE INTO run_touched SELECT ?, 'project', project_id FROM [{table}] "
                             f"WHERE project_id IS NOT NULL AND [{pk}] IN ({','.join('?' * len(chunk))})",
                             (run, *chunk))
        self._touched.clear()

    def _touched_links(self, table: str, cols: tuple, values: list) -> None:
        """A link row inserted changes the project of the row it hangs from (its parent with a
        ``project_id``); every parent named in the batch is recorded (a superset)."""
        if self._bulk:
            return
        conn = self.db.conn
        for _, _, parent, column, *_ in conn.execute(f"PRAGMA foreign_key_list([{table}])").fetchall():
            if column in cols and parent not in _TOUCH_KINDS and \
                    "project_id" in {r[1] for r in conn.execute(f"PRAGMA table_info([{parent}])")}:
                at = cols.index(column)
                self.touched(parent, {row[at] for row in values})

    def _remember(self, table: str, written: dict) -> None:
        """Keys written in this run (bounded): later records for them are dropped unread. Over
        the bound the biggest table's keys go first: a table of many keys (projects) repeats
        few of them, one of few keys (agencies, suppliers) is the one that repeats."""
        done = self._done.setdefault(table, set())
        before = len(done)
        done.update(written)
        self._done_count += len(done) - before
        while self._done_count > _DONE_LIMIT:
            biggest = max(self._done.values(), key=len)
            self._done_count -= len(biggest)
            biggest.clear()

    def _parents_first(self) -> list[str]:
        if self._order is None:
            conn = self.db.conn
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            parents = {t: {r[2] for r in conn.execute(f"PRAGMA foreign_key_list([{t}])")} - {t} for t in tables}
            order: list[str] = []

            def visit(table, path=()):
                if table in order or table in path:
                    return
                for parent in sorted(parents.get(table, ())):
                    visit(parent, path + (table,))
                order.append(table)

            for table in sorted(tables):
                visit(table)
            self._order = order
        return self._order

    def _primary_key(self, table: str) -> str:
        pk = self._pk.get(table)
        if pk is None:
            info = list(self.db.conn.execute(f"PRAGMA table_info([{table}])"))
            keys = [r[1] for r in info if r[5]]
            if len(keys) != 1 or not set(PROVENANCE) <= {r[1] for r in info}:
                raise ValueError(f"{table} is not a provenance table with one primary key; use link()")
            pk = self._pk[table] = keys[0]
            self._columns[table] = {r[1] for r in info}
        return pk

    def _flush_upserts(self, table: str, pending: dict) -> None:
        """One batch of statements per column set: rows given with the same columns share them."""
        fresh = self._is_fresh(table)  # empty when this run began: nothing to compare with
        by_columns: dict[tuple, list[Pending]] = {}
        for item in pending.values():
            by_columns.setdefault(tuple(item.row), []).append(item)
        for cols, items in by_columns.items():
            unknown = set(cols) - self._columns[table]
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            if fresh:
                self._insert_fresh(table, cols, items)
            else:
                self._write(table, cols, self._plan(table, cols, items))

    def _insert_fresh(self, table: str, cols: tuple, items: list[Pending]) -> None:
        """Nothing stored to compare with: every item is an INSERT (the hot path of a first load)."""
        source, stamp, seen = self.source, self.fetched_at, self.seen_at
        params = []
        for item in items:
            values = tuple(item.row.values())
            params.append((*values, source, item.source_url, stamp, row_sha256(values), seen, seen))
        before = self.db.conn.total_changes
        self.db.conn.executemany(self._insert_sql(table, cols), params)
        self.rows_changed += self.db.conn.total_changes - before
        self.touched(table, (item.row[self._pk[table]] for item in items))

    def _insert_sql(self, table: str, cols: tuple) -> str:
        names = ", ".join(f"[{c}]" for c in (*cols, *PROVENANCE))
        return (f"INSERT INTO [{table}] ({names}) VALUES ({','.join('?' * (len(cols) + len(PROVENANCE)))}) "
                f"ON CONFLICT([{self._pk[table]}]) DO NOTHING")  # only rows written earlier in this run

    def _provenanced(self, values: tuple, source_url, digest: str) -> tuple:
        """An INSERT's parameters: the values, then :data:`PROVENANCE`."""
        return (*values, self.source, source_url, self.fetched_at, digest, self.seen_at, self.seen_at)

    def _plan(self, table: str, cols: tuple, items: list[Pending]) -> _Writes:
        """Compare ``items`` with the stored rows and decide each one by the merge policy."""
        pk, seen = self._pk[table], self.seen_at
        existing = self._select(table, pk, ("last_seen", "content_sha256", "source"),
                                [item.row[pk] for item in items])
        writes, suspects = _Writes(), []
        for item in items:
            key, values = item.row[pk], tuple(item.row.values())
            digest = row_sha256(values)
            old = existing.get(key)
            if old is None:
                writes.inserts.append(self._provenanced(values, item.source_url, digest))
            elif old[0] == seen:
                continue  # written earlier in this run: the first record wins
            elif old[1] == digest:
                writes.touches.append((seen, key))
            else:
                suspects.append(_Suspect(key, values, item.source_url, digest,
                                         may_overwrite(self.source, old[2], item.overwrite),
                                         may_erase(self.source, old[2], item.complete)))
        stored = self._select(table, pk, cols, [s.key for s in suspects]) if suspects else {}
        project_col = cols.index("project_id") if "project_id" in cols else None
        for suspect in suspects:
            outcome = merge(cols, stored[suspect.key], suspect.values, overwrite=suspect.overwrite,
                            complete=suspect.complete)
            if not outcome.changes:  # same values, given by another source or column set
                writes.touches.append((seen, suspect.key))
            elif outcome.merged is None:
                writes.fills.setdefault(tuple(c.column for c in outcome.changes), []).append(
                    (*(c.new for c in outcome.changes), seen, suspect.key))
            else:
                merged = outcome.merged
                writes.updates.append((*merged, self.source, suspect.source_url, self.fetched_at,
                                       suspect.digest, seen, suspect.key))
                project = suspect.key if table == "projects" else (
                    merged[project_col] if project_col is not None else None)
                writes.changes.extend((table, str(suspect.key), project, c.column, c.old, c.new)
                                      for c in outcome.changes if c.old is not None)
        return writes

    def _write(self, table: str, cols: tuple, writes: _Writes) -> None:
        """The planned writes, one ``executemany`` per kind."""
        conn, pk = self.db.conn, self._pk[table]
        if writes.inserts:
            conn.executemany(self._insert_sql(table, cols), writes.inserts)
        if writes.touches:
            conn.executemany(f"UPDATE [{table}] SET last_seen = ? WHERE [{pk}] = ?", writes.touches)
        if writes.updates:
            sets = ", ".join(f"[{c}] = ?" for c in (*cols, "source", "source_url", "fetched_at",
                                                     "content_sha256", "last_seen"))
            conn.executemany(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", writes.updates)
        for filled, rows in writes.fills.items():
            sets = ", ".join(f"[{c}] = ?" for c in (*filled, "last_seen"))
            conn.executemany(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", rows)
            self.rows_changed += len(rows)
            self.touched(table, (row[-1] for row in rows))
        key_at = cols.index(pk)
        self.touched(table, (row[key_at] for row in writes.inserts))
        self.touched(table, (row[-1] for row in writes.updates))
        self.log_changes(writes.changes)
        self.rows_changed += len(writes.inserts) + len(writes.updates)

    def log_changes(self, changes) -> None:
        """``changes`` rows for (table, row id, project id, field, old value, new value), seen
        now by this run; values are stored as text."""
        self.db.conn.executemany(
            "INSERT INTO changes (table_name, row_id, project_id, field, old_value, new_value, seen_at, "
            "source_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(table, str(key), project, field, _text(old), _text(new), self.seen_at, self.id)
             for table, key, project, field, old, new in changes])
        self.touched("projects", {project for _, _, project, *_ in changes if project is not None})

    def _is_fresh(self, table: str) -> bool:
        """Was ``table`` empty when this run began? Then its secondary indexes (not on a foreign
        key, unless in bulk mode) are dropped now and rebuilt once before commit (sorted bulk
        build, much cheaper than row by row); a failed run's rollback restores them."""
        if table not in self._fresh:
            conn = self.db.conn
            fresh = self._fresh[table] = conn.execute(f"SELECT 1 FROM [{table}] LIMIT 1").fetchone() is None
            if fresh:
                keys = set() if self._bulk else {r[3] for r in conn.execute(f"PRAGMA foreign_key_list([{table}])")}
                for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall():
                    if not {r[2] for r in conn.execute(f"PRAGMA index_info([{name}])")} & keys:
                        conn.execute(f"DROP INDEX [{name}]")
                        self._deferred_indexes.append(sql)
        return self._fresh[table]

    def _rebuild_indexes(self) -> None:
        """Build the deferred indexes with a smaller page cache: their sorts spill to temporary
        files past it, so the peak memory does not grow with the file (and the builds are faster)."""
        if self._deferred_indexes:
            self.db.conn.execute("PRAGMA cache_size = -16384")
        for sql in self._deferred_indexes:
            self.db.conn.execute(sql)
        self._deferred_indexes.clear()

    def _select(self, table: str, pk: str, cols, keys: list) -> dict:
        """{key: (cols...)} for the stored rows among ``keys``, one query per 500 keys."""
        sql = f"SELECT [{pk}], {', '.join(f'[{c}]' for c in cols)} FROM [{table}] WHERE [{pk}] IN "
        found = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            for row in self.db.conn.execute(sql + f"({','.join('?' * len(chunk))})", chunk):
                found[row[0]] = row[1:]
        return found

    def _flush_links(self, table: str, rows: list[dict]) -> None:
        self._is_fresh(table)
        by_cols: dict[tuple, list] = {}
        for row in rows:
            by_cols.setdefault(tuple(row), []).append(tuple(row.values()))
        for cols, values in by_cols.items():
            before = self.db.conn.total_changes
            self.db.conn.executemany(self._link_sql(table, cols), values)
            if self.db.conn.total_changes > before:
                self.rows_changed += self.db.conn.total_changes - before
                self._touched_links(table, cols, values)

    @staticmethod
    def _link_sql(table: str, cols: tuple) -> str:
        names = ", ".join(f"[{c}]" for c in cols)
        return f"INSERT INTO [{table}] ({names}) VALUES ({','.join('?' * len(cols))}) ON CONFLICT DO NOTHING"


def _text(value) -> str | None:
    return None if value is None else str(value)
