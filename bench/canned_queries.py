"""Every canned query in metadata.yml through ``datasette.client`` on a 1,000,000-project demo database.

Parameters are the largest agency, supplier and province and the latest fiscal year. Prints each
query's median of 5 runs, and its ratio to a baseline in the same process: one plain GROUP BY
over ``projects`` (what a query costs without the pre-aggregated tables and covering indexes).
Target: every canned query under 1 s. Exit status 1 when one is not.

    .venv/bin/python bench/canned_queries.py              # generates bench/output/canned-1000000.db
    .venv/bin/python bench/canned_queries.py --db /work/team/demo-1m.db   # copied, then built
    .venv/bin/python bench/canned_queries.py --db built.db --skip-build   # read in place
"""
from __future__ import annotations

import argparse
import asyncio
import pathlib
import shutil
import statistics
import sys
import time

from harness import output, timed

from prongsai.asgi import create_datasette, load_metadata
from prongsai.demo import generate
from prongsai.derive.build import run_build

RUNS = 5
TARGET_S = 1.0
BASELINE_SQL = "SELECT buyer_id, count(*), total(budget) FROM projects GROUP BY buyer_id"


def prepare(args) -> pathlib.Path:
    if args.db and args.skip_build:
        return pathlib.Path(args.db)  # served immutable: never written
    target = output("canned-copy.db" if args.db else f"canned-{args.projects}.db")
    if args.db:
        if pathlib.Path(args.db).resolve() != target.resolve():
            print(f"copying {args.db} -> {target}", flush=True)
            shutil.copyfile(args.db, target)  # the source is read-only for us: build a copy
    elif not target.exists():
        generate(target, projects=args.projects, seed=1)
    if not args.skip_build:
        seconds, _ = timed(lambda: run_build(target))
        print(f"prongsai build: {seconds:.1f} s", flush=True)
    return target


async def unlimited(db, sql):
    """Run without Datasette's time limit (which a custom limit can only lower)."""
    return await db.execute_fn(lambda conn: conn.execute(sql).fetchall())


async def largest(db) -> dict:
    async def one(sql):
        rows = await unlimited(db, sql)
        return str(rows[0][0]) if rows and rows[0][0] is not None else ""

    return {
        "agency_id": await one("SELECT agency_id FROM agency_spending GROUP BY agency_id "
                               "ORDER BY sum(projects) DESC LIMIT 1"),
        "supplier_id": await one("SELECT supplier_id FROM supplier_totals ORDER BY projects DESC LIMIT 1"),
        "province": await one("SELECT province FROM project_awards GROUP BY province "
                              "ORDER BY count(*) DESC LIMIT 1"),
        "fiscal_year": await one("SELECT max(fiscal_year) FROM agency_spending"),
    }


async def run(db_path: pathlib.Path) -> int:
    ds = create_datasette(db_path)
    await ds.invoke_startup()
    db = ds.get_database("procurement")
    params = await largest(db)
    print("parameters:", params)
    baseline = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await unlimited(db, BASELINE_SQL)
        baseline.append(time.perf_counter() - started)
    base = statistics.median(baseline)
    print(f"baseline (plain GROUP BY over projects): median {base * 1000:.0f} ms")
    queries = load_metadata()["databases"]["procurement"]["queries"]
    slow = 0
    print(f"{'canned query':34} {'median ms':>10} {'rows':>6} {'ratio':>7}")
    for name, query in queries.items():
        wanted = {p: params[p] for p in query.get("params", [])}
        times, rows = [], 0
        for _ in range(RUNS):
            started = time.perf_counter()
            response = await ds.client.get(f"/procurement/{name}.json", params={**wanted, "_shape": "objects"})
            times.append(time.perf_counter() - started)
            body = response.json()
            if response.status_code != 200 or not body.get("ok", True):
                print(f"{name}: HTTP {response.status_code} {body.get('error')}")
                return 1
            rows = len(body["rows"])
        median = statistics.median(times)
        slow += median >= TARGET_S
        print(f"{name:34} {median * 1000:10.1f} {rows:6} {median / base:7.3f}"
              + ("  SLOW" if median >= TARGET_S else ""))
    print(f"{len(queries)} canned queries, {slow} at or over {TARGET_S:.0f} s")
    return 1 if slow else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an existing demo database (copied to bench/output/ before building)")
    parser.add_argument("--projects", type=int, default=1_000_000, help="projects to generate without --db")
    parser.add_argument("--skip-build", action="store_true",
                        help="the database is already built by the current `prongsai build` (read in place)")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(prepare(args))))


if __name__ == "__main__":
    main()
