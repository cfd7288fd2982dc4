"""The budget-to-contracts pages on a demo database of N projects.

Times ``GET /agencies/<id>`` (Flask test client, median of 20) for the agency with the most budget
rows, against a 200 ms target, and ``GET /budget`` with its page cache emptied before each run.
Prints the agency section's own queries (its budget rows and their methods, read from the tables
``prongsai build`` writes) beside a baseline in the same run: the same numbers computed at request
time from ``projects`` and ``contracts`` (the agency's projects, contracts, value and flagged
projects per fiscal year and method). Exit status 1 when the agency page misses the target.

    .venv/bin/python bench/budget_pages.py --projects 1000000    # generates bench/output/budget-N.db
    .venv/bin/python bench/budget_pages.py --db built.db          # an already built database, read only
"""
from __future__ import annotations

import argparse
import pathlib
import sqlite3
import sys
import tempfile

from harness import median_seconds, output, timed

from portal import cache, create_app
from prongsai.demo import generate
from prongsai.derive.build import run_build

RUNS = 20
TARGET_S = 0.200
#: what the agency page's budget section reads
SECTION = ("SELECT * FROM agg_budget WHERE agency_id = ? ORDER BY fiscal_year DESC, budgetary_unit",
           "SELECT * FROM agg_budget_method WHERE agency_id = ? ORDER BY amount DESC")
#: the baseline: those numbers from the source tables, per request
LIVE = """SELECT p.fiscal_year, p.method, count(DISTINCT p.project_id), count(c.id), total(c.contract_amount),
                 count(DISTINCT f.project_id)
          FROM projects p
          LEFT JOIN contracts c ON c.project_id = p.project_id AND c.currency = 'THB'
          LEFT JOIN red_flags f ON f.project_id = p.project_id
          WHERE p.buyer_id = ? GROUP BY 1, 2"""


def prepare(args) -> pathlib.Path:
    if args.db:
        return pathlib.Path(args.db)
    target = output(f"budget-{args.projects}.db")
    if not target.exists():
        seconds, _ = timed(lambda: generate(target, projects=args.projects, seed=1))
        print(f"demo {args.projects:,} projects: {seconds:.1f} s", flush=True)
        seconds, _ = timed(lambda: run_build(target))
        print(f"prongsai build: {seconds:.1f} s", flush=True)
    return target


def section(conn, agency: str) -> None:
    for query in SECTION:
        conn.execute(query, [agency]).fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--db")
    args = parser.parse_args()
    path = prepare(args)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'agg_budget_method'").fetchone():
        sys.exit(f"{path}: no agg_budget_method table; run `prongsai build --db {path}` first")
    agency, rows = conn.execute("SELECT agency_id, count(*) FROM agg_budget WHERE agency_id IS NOT NULL "
                                "AND procurement_projects IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
    read = median_seconds(lambda: section(conn, agency), RUNS)
    live = median_seconds(lambda: conn.execute(LIVE, [agency]).fetchall(), 5)
    with tempfile.TemporaryDirectory() as tmp:
        client = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "bench",
                             "COMPLAINTS_DATABASE": str(pathlib.Path(tmp) / "complaints.db")}).test_client()
        assert client.get(f"/agencies/{agency}").status_code == 200
        page = median_seconds(lambda: client.get(f"/agencies/{agency}"), RUNS)

        def budget_page():
            cache._pages.clear()
            assert client.get("/budget").status_code == 200
        overview = median_seconds(budget_page, RUNS)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("projects", "agg_budget", "agg_budget_method", "agg_budget_ministry")}
    print(", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print(f"agency {agency}: {rows} budget rows")
    print(f"budget section queries: {read * 1000:.2f} ms from the built tables; the same numbers from projects "
          f"and contracts (baseline) {live * 1000:.1f} ms: ratio {live / read:,.0f}x")
    print(f"GET /agencies/<id>: median {page * 1000:.1f} ms of {RUNS} (target {TARGET_S * 1000:.0f} ms: "
          f"{'OK' if page < TARGET_S else 'MISSED'})")
    print(f"GET /budget, page cache emptied: median {overview * 1000:.1f} ms of {RUNS}")
    return 0 if page < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
