"""Portal search at 1,000,000 projects: latency per kind of term, against the old code path.

For each database (default: both shared 1M databases, the demo and the OCDS-imported one): one
whose build wrote the current index is searched in place, read-only; another is copied to
``bench/output/search-<name>.db`` and indexed there (``search_index.build`` and an incremental
``search_index.update`` of 1 % of the projects, timed). The previous design's index is built for
the baseline in a file of its own, ``bench/output/search-baseline-<name>.db``. Then every kind of
term, alone and with a filter, is searched through the portal (the whole page, in process) and
through the old code path (a LIKE scan newest first with a 0.25 s budget, then the trigram index
keyed by projects.rowid; words under three code points had only the scan), and the bench prints
p50 / p95 / max per kind, the ratio old/new, and whether every page stayed under 50 ms.

    .venv/bin/python bench/search.py                          # both shared 1M databases
    .venv/bin/python bench/search.py --db bench/output/x.db   # one database (a copy is searched)
    .venv/bin/python bench/search.py --reuse                  # reuse the copies and indexes of an earlier run
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import sqlite3
import statistics
import time
from urllib.parse import urlencode

from harness import OUT, output, remove_db

from portal import create_app
from portal.db import TooSlow, get_db, query_within
from portal.views import search as search_view
from prongsai.core.schema import open_db
from prongsai.derive import search_index

DATABASES = [OUT / "demo-1m-built.db", OUT / "ocds-1m.db"]
TARGET_MS = 50.0
OLD_SCAN_SECONDS, OLD_FTS_SECONDS = 0.25, 2.0
OLD_FTS, OLD_TEXT = "projects_fts_old", "projects_fts_old_text"


def prepare(db: pathlib.Path, reuse: bool) -> tuple[pathlib.Path, pathlib.Path]:
    """(the database to search, the baseline's index beside it). A database whose build wrote this
    index layout is searched in place (read-only); another is copied and indexed, timed."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    version = conn.execute("SELECT value FROM meta WHERE key = 'search_index'").fetchone()
    conn.close()
    path = db
    if not version or version[0] != search_index.VERSION:
        path = output(f"search-{db.stem}.db")
        if not (reuse and path.exists()):
            print(f"{db} has no current search index: copying the tables the search page reads to {path}",
                  flush=True)
            slim_copy(db, path)
            build_index(path)
    baseline = output(f"search-baseline-{db.stem}.db")
    if not (reuse and baseline.exists()):
        wall = time.perf_counter()
        old_build(baseline, path)
        print(f"old index (baseline, in {baseline.name}): {time.perf_counter() - wall:.1f} s wall", flush=True)
    return path, baseline


#: what the search page reads (a whole 1M database is 9 GB: copying it can fill a shared disk)
SEARCH_TABLES = ("schema_version", "meta", "projects", "agencies", "suppliers", "red_flags", "risk_scores", "flag_definitions",
                 "agg_spend_fy", "agg_spend_method", "agg_spend_province", "agg_agency", "agg_supplier")


def slim_copy(db: pathlib.Path, path: pathlib.Path) -> None:
    """The search page's tables of ``db``, with their indexes, in a database of their own."""
    remove_db(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"ATTACH DATABASE '{db.as_uri()}?mode=ro' AS source")
    conn.execute("BEGIN")
    for table in SEARCH_TABLES:
        statements = conn.execute("SELECT type, sql FROM source.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                                  "ORDER BY type = 'index'", [table]).fetchall()
        for kind, sql in statements[:1]:
            conn.execute(sql)
        conn.execute(f"INSERT INTO main.[{table}] SELECT * FROM source.[{table}]")
        for kind, sql in statements[1:]:
            conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def build_index(path: pathlib.Path) -> None:
    db = open_db(path, create=False)
    conn = db.conn
    wall, cpu = time.perf_counter(), time.process_time()
    search_index.build(db)
    print(f"search_index.build: {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU "
          f"({conn.execute('SELECT count(*) FROM projects').fetchone()[0]:,} projects)", flush=True)
    rowids = [r[0] for r in conn.execute("SELECT rowid FROM projects WHERE rowid % 100 = 7")]
    wall, cpu = time.perf_counter(), time.process_time()
    search_index.update(db, rowids)
    print(f"search_index.update of {len(rowids):,} projects (1 %): {time.perf_counter() - wall:.1f} s wall, "
          f"{time.process_time() - cpu:.1f} s CPU", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    db.close()


def old_build(baseline: pathlib.Path, source: pathlib.Path) -> None:
    """The previous design's project index, in its own file: trigrams of the folded title, rowid =
    projects.rowid of ``source``."""
    remove_db(baseline)
    conn = sqlite3.connect(baseline, isolation_level=None)
    conn.create_function("prongsai_fold", 1, search_index.fold, deterministic=True)
    conn.execute(f"ATTACH DATABASE '{source.as_uri()}?mode=ro' AS source")
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {OLD_TEXT} (source_rowid INTEGER PRIMARY KEY, title TEXT)")
    conn.execute(f"INSERT INTO {OLD_TEXT} SELECT rowid, prongsai_fold(title) FROM source.projects")
    conn.execute(f"CREATE VIRTUAL TABLE {OLD_FTS} USING fts5(title, content={OLD_TEXT}, content_rowid='source_rowid', "
                 "tokenize='trigram')")
    conn.execute(f"INSERT INTO {OLD_FTS} ({OLD_FTS}) VALUES ('rebuild')")
    conn.execute(f"INSERT INTO {OLD_FTS} ({OLD_FTS}) VALUES ('optimize')")
    conn.execute("COMMIT")
    conn.close()


# --- the old code path (portal/views/search.py before the index held filters and order) -------

def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def old_projects(q: str, filters: dict) -> list:
    where, params = [], []
    for column, key in (("p.fiscal_year", "fiscal_year"), ("p.method", "method"), ("p.province", "province"),
                        ("p.buyer_id", "agency")):
        if filters.get(key):
            where.append(f"{column} = ?")
            params.append(filters[key])
    if filters.get("flag"):
        where.append("p.project_id IN (SELECT project_id FROM red_flags WHERE code = ?)")
        params.append(filters["flag"])
    sql = lambda w: f"""SELECT p.project_id, p.title, p.announce_date, p.budget, b.name_th, r.score, r.codes
                        FROM projects p LEFT JOIN agencies b ON b.id = p.buyer_id
                        LEFT JOIN risk_scores r ON r.project_id = p.project_id
                        {"WHERE " + " AND ".join(w) if w else ""}
                        ORDER BY p.announce_date DESC, p.project_id DESC LIMIT 21"""
    if not q:
        return query_within(sql(where), params, OLD_FTS_SECONDS)
    try:
        return query_within(sql(where + ["(p.title LIKE ? ESCAPE '\\' OR p.project_id = ?)"]),
                            params + [_like(q), q], OLD_SCAN_SECONDS)
    except TooSlow:
        pass
    terms = " ".join('"' + t.replace('"', '""') + '"' for t in search_index.fold(q).split() if len(t) >= 3)
    if not terms:
        raise TooSlow()
    return query_within(sql(where + [f"p.rowid IN (SELECT rowid FROM baseline.{OLD_FTS} WHERE {OLD_FTS} MATCH ?)"]),
                        params + [terms], OLD_FTS_SECONDS)


def old_organisations(q: str) -> None:
    terms = " ".join('"' + t.replace('"', '""') + '"' for t in search_index.fold(q).split() if len(t) >= 3)
    for table, amount in (("agencies", "LEFT JOIN agg_agency x ON x.agency_id = t.id"),
                          ("suppliers", "LEFT JOIN agg_supplier x ON x.supplier_id = t.id")):
        if terms:
            query_within(f"""SELECT t.id FROM {table} t {amount} WHERE t.rowid IN (SELECT rowid FROM {table}_fts
                             WHERE {table}_fts MATCH ?1 LIMIT 500) OR t.id = ?2 ORDER BY x.amount DESC LIMIT 10""",
                         [terms, q], OLD_FTS_SECONDS)
        else:
            query_within(f"SELECT t.id FROM {table} t WHERE t.name_th LIKE ?1 ESCAPE '\\' OR t.id = ?2 LIMIT 10",
                         [_like(q), q], OLD_SCAN_SECONDS * 2)


def old_search(q: str, filters: dict) -> None:
    try:
        old_projects(q, filters)
        if q:
            old_organisations(q)
    except TooSlow:
        pass  # the old page then asked for a filter: counted at the time it gave up


# --- terms ------------------------------------------------------------------------------------

def term_classes(path: pathlib.Path, rng: random.Random) -> dict[str, list[str]]:
    """Kinds of term drawn from the database itself."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    max_rowid = conn.execute("SELECT max(rowid) FROM projects").fetchone()[0]

    def projects(n):
        out = []
        while len(out) < n:
            row = conn.execute("SELECT project_id, title FROM projects WHERE rowid >= ? LIMIT 1",
                               [rng.randint(1, max_rowid)]).fetchone()
            if row and row[1]:
                out.append(row)
        return out

    few = [r[0] for r in conn.execute("""SELECT a.name_th FROM agg_agency x JOIN agencies a ON a.id = x.agency_id
                                         WHERE x.projects >= 1 AND length(a.name_th) >= 6
                                         ORDER BY x.projects LIMIT 8""")]
    tax_ids = [r[0] for r in conn.execute("SELECT tax_id FROM suppliers WHERE tax_id IS NOT NULL LIMIT 4")]
    sampled = projects(8)
    conn.close()
    return {
        "common 3+": ["ถนน", "ก่อสร้าง", "คอมพิวเตอร์", "วัสดุสำนักงาน", "จ้างเหมา", "กรุงเทพมหานคร"],
        "few 3+": few,
        "none 3+": ["ถนนคอมพิวเตอร์", "xyzzy", "ฟหกด่าสว", "ซ่อมคอมพิวเตอร์ถนน"],
        "1 char": ["ก", "า", "ฃ", "7", "q", "ฅ"],
        "2 chars": ["นม", "ถน", "ศุ", "ฅฅ", "zz", "ข้"],
        "digits": ["2568", "12", "๑๒", "100", "3.5"],
        "13-digit tax id": tax_ids,
        "project id": [p for p, _ in sampled[:4]],
        "long phrase": [t for _, t in sampled[4:]],
        "two words": ["ก่อสร้าง ขอนแก่น", "คอมพิวเตอร์ กรมศุลกากร", "นม โรงเรียน", "ถนน น่าน"],
    }


def filter_choices(path: pathlib.Path) -> dict[str, list]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = {
        "fiscal_year": [r[0] for r in conn.execute("SELECT DISTINCT fiscal_year FROM agg_spend_method "
                                                   "WHERE fiscal_year IS NOT NULL")],
        "method": [r[0] for r in conn.execute("SELECT DISTINCT method FROM agg_spend_method")],
        "province": [r[0] for r in conn.execute("SELECT DISTINCT province FROM agg_spend_province "
                                                "WHERE province IS NOT NULL")],
        "flag": [r[0] for r in conn.execute("SELECT code FROM flag_definitions")],
        "agency": [r[0] for r in conn.execute("SELECT agency_id FROM agg_agency ORDER BY random() LIMIT 20")],
    }
    conn.close()
    return {k: v for k, v in out.items() if v}


def percentile(ordered: list[float], pct: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def measure(path: pathlib.Path, baseline: pathlib.Path, rounds: int, seed: int) -> bool:
    rng = random.Random(seed)
    classes = term_classes(path, rng)
    choices = filter_choices(path)
    app = create_app({"DATABASE": str(path), "COMPLAINTS_DATABASE": str(output("search-complaints.db")),
                      "SECRET_KEY": "bench"})
    client = app.test_client()
    cases = []
    for kind, terms in classes.items():
        for term in terms:
            cases.append((kind, term, {}))
            name = rng.choice(sorted(choices))
            cases.append((kind + " + filter", term, {name: rng.choice(choices[name])}))
    cases += [("filter only", "", {name: rng.choice(values)}) for name, values in sorted(choices.items())
              for _ in range(3)]
    cases += [("page 50", "ก่อสร้าง", {"page": 50}), ("page 500", "ก่อสร้าง", {"page": 500}),
              ("page 500", "ก", {"page": 500})]
    names = {"method": choices.get("method", []), "province": choices.get("province", [])}
    page_ms: dict[str, list[float]] = {}
    new_ms: dict[str, list[tuple[float, float]]] = {}  # (wall, CPU) of the queries alone
    old_ms: dict[str, list[tuple[float, float]]] = {}
    with app.test_request_context("/"):
        get_db().execute(f"ATTACH DATABASE '{baseline.as_uri()}?mode=ro' AS baseline")
        for _ in range(rounds):
            for kind, term, filters in cases:
                args = {"q": term, **filters}
                t0 = time.perf_counter()
                r = client.get("/search?" + urlencode(args))
                page_ms.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (args, r.status_code)
                if "page" not in filters:
                    new_ms.setdefault(kind, []).append(timed(lambda: new_search(term, filters, names)))
                    old_ms.setdefault(kind, []).append(timed(lambda: old_search(term, filters)))
    print("milliseconds; page = the whole /search page in process; new, old = the search's queries alone")
    print(f"{'kind of term':<24} {'n':>3} {'page p50':>8} {'p95':>6} {'max':>6} | {'new p95':>7} {'max':>6} {'CPU p95':>7} | "
          f"{'old p50':>7} {'p95':>6} {'max':>6} {'CPU p95':>7} | {'old/new p95':>11}")
    worst = 0.0
    for kind, pages in page_ms.items():
        pages = sorted(pages)
        worst = max(worst, pages[-1])
        line = f"{kind:<24} {len(pages):>3} {statistics.median(pages):8.1f} {percentile(pages, 95):6.1f} {pages[-1]:6.1f}"
        if kind in new_ms:
            new, new_cpu = (sorted(x) for x in zip(*new_ms[kind]))
            old, old_cpu = (sorted(x) for x in zip(*old_ms[kind]))
            line += (f" | {percentile(new, 95):7.1f} {new[-1]:6.1f} {percentile(new_cpu, 95):7.1f} | "
                     f"{statistics.median(old):7.1f} {percentile(old, 95):6.1f} {old[-1]:6.1f} {percentile(old_cpu, 95):7.1f}"
                     f" | {percentile(old, 95) / max(percentile(new, 95), 0.01):11.1f}")
        print(line)
    every = sorted(x for v in page_ms.values() for x in v)
    new_every = sorted(w for v in new_ms.values() for w, _ in v)
    old_every = sorted(w for v in old_ms.values() for w, _ in v)
    print(f"all pages: p50 {statistics.median(every):.1f} ms, p95 {percentile(every, 95):.1f} ms, max {every[-1]:.1f} ms")
    print(f"all searches' queries: new p95 {percentile(new_every, 95):.1f} ms, max {new_every[-1]:.1f} ms; "
          f"old p95 {percentile(old_every, 95):.1f} ms, max {old_every[-1]:.1f} ms")
    print(f"ratio old/new (queries, p95): {percentile(old_every, 95) / percentile(new_every, 95):.1f}; "
          f"(max): {old_every[-1] / new_every[-1]:.1f}")
    ok = worst < TARGET_MS
    print(f"target (every page < {TARGET_MS:.0f} ms, the slowest {worst:.1f} ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs): {'met' if ok else 'NOT met'}")
    return ok


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def new_search(q: str, filters: dict, names: dict) -> None:
    """The current view's queries for one search (what old_search does the old way)."""
    try:
        search_view._projects(q, {"fiscal_year": filters.get("fiscal_year") and str(filters["fiscal_year"]),
                                  "method": filters.get("method"), "province": filters.get("province"),
                                  "flag": filters.get("flag"), "agency": filters.get("agency")}, 1, names)
        if q:
            search_view._agencies(q)
            search_view._suppliers(q)
    except TooSlow:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=pathlib.Path, action="append", help="a built database (default: both 1M ones)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="reuse the copies and indexes of an earlier run")
    args = parser.parse_args()
    for db in args.db or DATABASES:
        if not db.exists():
            print(f"{db}: missing, skipped")
            continue
        print(f"== {db.name}", flush=True)
        path, baseline = prepare(db.resolve(), args.reuse)
        measure(path, baseline, args.rounds, args.seed)


if __name__ == "__main__":
    main()
