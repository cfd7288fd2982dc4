"""Loading records into ``procurement.db``: one transaction per run, provenance on every row.

Every scraper loads through a :class:`SourceRun`::

    with SourceRun(db_path, source="datagoth", target=url_or_path) as run:
        for location, raw, record in parse(lines):
            run.read()                                  # counts rows_in, drives progress
            if problem:
                run.quarantine(location, raw, reason)   # row skipped, run carries on
                continue
            run.upsert("projects", {"project_id": ..., "title": ...}, source_url=url)
            run.link("award_suppliers", {"award_id": ..., "supplier_id": ...})

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
  ``content_sha256`` (sha256 of the columns this source gave, as JSON) describe the stored version.
  Within one run the first record for a key wins; later duplicates are ignored.
- ``link(table, row)`` inserts a row of a link table (no provenance) unless it exists.
- ``quarantine(location, raw, reason)`` stores a malformed row; more than ``max_bad_share``
  (5 %) of ``rows_in`` quarantined fails the run.
- Writes are batched (``executemany``, one ``SELECT ... IN`` per 500 keys to compare), and
  foreign keys are checked at commit, so the order of calls inside a run does not matter.

Errors a user can act on subclass :class:`ScrapeError` (a ``UserError``: one line, exit 1).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import pathlib

import sqlite_utils

from prongsai.errors import UserError
from prongsai.progress import progress
from prongsai.schema import get_meta, open_db, set_meta

MAX_BAD_SHARE = 0.05
PROVENANCE = ("source", "source_url", "fetched_at", "content_sha256", "first_seen", "last_seen")
_IN_CHUNK = 500


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


def now_iso() -> str:
    """UTC timestamp with microseconds: it also tells this run's rows from the previous run's."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def row_sha256(row: dict) -> str:
    payload = json.dumps(sorted(row.items()), ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _same(old, new) -> bool:
    if old == new:
        return True
    if old is None or new is None:
        return False
    return str(old) == str(new)


class SourceRun:
    """One load of one source (see the module docstring)."""

    def __init__(self, db: str | pathlib.Path | sqlite_utils.Database, source: str, target=None, *,
                 fetched_at: str | None = None, batch_size: int = 5000, label: str | None = None,
                 length: int | None = None, max_bad_share: float = MAX_BAD_SHARE):
        self._own_db = not isinstance(db, sqlite_utils.Database)
        self.db = open_db(db) if self._own_db else db
        self.source = source
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
        self._upserts: dict[str, dict] = {}
        self._links: dict[str, list[dict]] = {}
        self._buffered = 0
        self._pk: dict[str, str] = {}
        self._columns: dict[str, set[str]] = {}
        self._stack = contextlib.ExitStack()
        self._update = lambda n=1: None

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "SourceRun":
        conn = self.db.conn
        dataset = get_meta(self.db, "dataset")
        if dataset == "demo":
            path = self.db.conn.execute("PRAGMA database_list").fetchone()[2]
            self._close()
            raise DemoDatabaseError(f"{path} is a DEMO database; scrapers only write real data "
                                    "(use another --db, e.g. a new file)")
        if dataset is None:
            set_meta(self.db, dataset="real")
        cursor = conn.execute(
            "INSERT INTO source_runs (source, target, started_at, status) VALUES (?, ?, ?, 'running')",
            (self.source, self.target, self.seen_at))
        self.id = cursor.lastrowid
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("PRAGMA defer_foreign_keys = ON")
        self._update = self._stack.enter_context(progress(self._label, self._length))
        return self

    def __exit__(self, exc_type, exc, tb):
        conn = self.db.conn
        try:
            if exc is None:
                try:
                    self.flush()
                    self._check_bad_share()
                    conn.execute("COMMIT")
                except BaseException as failure:
                    exc = failure
                    conn.execute("ROLLBACK")
                    self._finish("failed", failure)
                    raise
                self._finish("ok", None)
            else:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._finish("failed", exc)
        finally:
            self._stack.close()
            self._close()
        return False

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

    def upsert(self, table: str, row: dict, *, source_url: str | None = None) -> None:
        key = row[self._primary_key(table)]
        pending = self._upserts.setdefault(table, {})
        if key not in pending:
            pending[key] = (row, source_url)
            self._grow()

    def link(self, table: str, row: dict) -> None:
        self._links.setdefault(table, []).append(row)
        self._grow()

    def _grow(self) -> None:
        self._buffered += 1
        if self._buffered >= self.batch_size:
            self.flush()

    # --- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        for table, pending in self._upserts.items():
            if pending:
                self._flush_upserts(table, pending)
                pending.clear()
        for table, rows in self._links.items():
            if rows:
                self._flush_links(table, rows)
                rows.clear()
        self._buffered = 0

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
        conn = self.db.conn
        pk = self._pk[table]
        groups: dict[tuple, list] = {}
        for key, (row, url) in pending.items():
            groups.setdefault(tuple(c for c in row if c != pk), []).append((key, row, url))
        for cols, items in groups.items():
            unknown = set(cols) - self._columns[table]
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            select = f"SELECT [{pk}], last_seen, " + ", ".join(f"[{c}]" for c in cols) if cols else \
                f"SELECT [{pk}], last_seen"
            existing: dict = {}
            keys = [key for key, _, _ in items]
            for i in range(0, len(keys), _IN_CHUNK):
                chunk = keys[i:i + _IN_CHUNK]
                sql = f"{select} FROM [{table}] WHERE [{pk}] IN ({','.join('?' * len(chunk))})"
                for found in conn.execute(sql, chunk):
                    existing[found[0]] = found[1:]
            inserts, touches, updates, changes = [], [], [], []
            for key, row, url in items:
                values = tuple(row[c] for c in cols)
                old = existing.get(key)
                if old is None:
                    inserts.append((key, *values, self.source, url, self.fetched_at, row_sha256(row),
                                    self.seen_at, self.seen_at))
                elif old[0] == self.seen_at:
                    continue  # written earlier in this run: the first record wins
                elif all(_same(a, b) for a, b in zip(old[1:], values)):
                    touches.append((self.seen_at, key))
                else:
                    updates.append((*values, self.source, url, self.fetched_at, row_sha256(row),
                                    self.seen_at, key))
                    project = key if table == "projects" else row.get("project_id")
                    for col, a, b in zip(cols, old[1:], values):
                        if not _same(a, b):
                            changes.append((table, str(key), project, col, _text(a), _text(b),
                                            self.seen_at, self.id))
            if inserts:
                names = ", ".join(f"[{c}]" for c in (pk, *cols, *PROVENANCE))
                conn.executemany(f"INSERT INTO [{table}] ({names}) VALUES "
                                 f"({','.join('?' * (len(cols) + 7))})", inserts)
            if touches:
                conn.executemany(f"UPDATE [{table}] SET last_seen = ? WHERE [{pk}] = ?", touches)
            if updates:
                sets = ", ".join(f"[{c}] = ?" for c in (*cols, "source", "source_url", "fetched_at",
                                                         "content_sha256", "last_seen"))
                conn.executemany(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", updates)
            if changes:
                conn.executemany(
                    "INSERT INTO changes (table_name, row_id, project_id, field, old_value, new_value, "
                    "seen_at, source_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", changes)
            self.rows_changed += len(inserts) + len(updates)

    def _flush_links(self, table: str, rows: list[dict]) -> None:
        by_cols: dict[tuple, list] = {}
        for row in rows:
            by_cols.setdefault(tuple(row), []).append(tuple(row.values()))
        for cols, values in by_cols.items():
            names = ", ".join(f"[{c}]" for c in cols)
            before = self.db.conn.total_changes
            self.db.conn.executemany(f"INSERT OR IGNORE INTO [{table}] ({names}) VALUES "
                                     f"({','.join('?' * len(cols))})", values)
            self.rows_changed += self.db.conn.total_changes - before


def _text(value) -> str | None:
    return None if value is None else str(value)
