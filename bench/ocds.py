"""OCDS benchmark: ``scrape ocds --file`` of N compiled releases, now and ``--before``, the same
rows; and ``export ocds`` over a big database.

In one run:

1. import: the first N releases of an OCDS JSON Lines file (default: the team's
   ``bench/output/ocds-1m.jsonl``, else an export of a generated demo) into a new database, by
   the loader of ``--before`` (a git ref, extracted into ``bench/output/``) and by the current
   one, each in a child process: releases/s per wall and per CPU second (workers included), peak
   RSS, and the ratio now/before. Then the same rows: per-table digests (``tests/rowsums.py``)
   of both databases after three scenarios, which must be equal: a first load, a second load of
   the same file (which must change nothing), and a load of the N releases into a database
   holding the first N/2. Memory: the current import of N/4 and of N releases, flat when the
   peak RSS differs by under 50 MB. Then where a first load's CPU goes: the mapping (the
   workers' share) and the writer alone, whose rate is this design's ceiling on one core.
2. ``--export``: the export's ordered scans dumped with ``json.dumps`` (what any exporter must
   at least pay) against ``export_file`` in a child process (projects/s, peak RSS).

Targets: import >= 20,000 releases/s, the same rows as before, RSS at N within +50 MB of N/4;
export >= 0.2 x its baseline and < 300 MB on 1,000,000 projects.

    .venv/bin/python bench/ocds.py [--file F.jsonl] [--import-releases 100000] [--before REF]
        [--export [--db DB]]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import sqlite3

from harness import before_tree, child, output, ratio, remove_db, timed

TEAM_FILE = output("ocds-1m.jsonl")
TEAM_DB = output("demo-1m.db")
#: The last commit before the import was made fast (orjson, worker processes, cached organisations).
BEFORE = "fa12999"
TARGET_RATE = 20_000
#: Not the loader's rows: the schema's migrations, and run_touched (new since ``BEFORE``).
NOT_COMPARED = {"schema_version", "run_touched"}

_IMPORT = """
import json, resource, sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
from scrapers.ocds import import_file
t, cpu = time.perf_counter(), time.process_time()
run = import_file(sys.argv[2], sys.argv[3])
wall = time.perf_counter() - t
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": wall, "cpu": time.process_time() - cpu + workers.ru_utime + workers.ru_stime,
                  "rows_in": run.rows_in, "rows_changed": run.rows_changed}))
"""


def head(source: pathlib.Path, n: int) -> pathlib.Path:
    part = output(f"ocds-head-{n}.jsonl")
    if not part.exists() or sum(1 for _ in open(part, "rb")) != n:
        with open(source, "rb") as src, open(part, "wb") as dst:
            dst.writelines(itertools.islice(src, n))
    return part


def load(tree: str, db: pathlib.Path, path: pathlib.Path) -> dict:
    """One ``import_file`` in a child process: seconds, CPU seconds (its workers too), peak RSS."""
    _, rss, printed = child(_IMPORT, tree, str(db), str(path))
    result = json.loads(printed.strip().splitlines()[-1])
    result["rss"] = rss
    return result


def line(label: str, n: int, result: dict) -> str:
    return (f"{label}: {n:,} releases in {result['seconds']:.1f}s ({n / result['seconds']:,.0f}/s wall, "
            f"{n / result['cpu']:,.0f}/s per CPU second), peak RSS {result['rss']:.0f} MB, "
            f"{result['rows_changed']:,} rows changed")


def table_digests(db: pathlib.Path) -> dict:
    """``tests/rowsums.table_digests`` in a child process: sorting a million rows in this one
    would grow it, and a child started later would report this process's peak as its own."""
    _, _, printed = child("import json, sys; sys.path.insert(0, 'tests'); from rowsums import table_digests; "
                          "print(json.dumps(table_digests(sys.argv[1])))", str(db))
    return json.loads(printed.strip().splitlines()[-1])


def imports(source: pathlib.Path, n: int, before: str) -> None:
    full, half, quarter = head(source, n), head(source, n // 2), head(source, n // 4)
    trees = {"before": str(before_tree(before)), "now": ""}
    rates, digests = {}, {}
    for label, tree in trees.items():
        db = output(f"ocds-import-{label}.db")
        remove_db(db)
        first = load(tree, db, full)
        print(line(f"{label} ({before if tree else 'this tree'}), first load", n, first), flush=True)
        again = load(tree, db, full)
        print(line(f"{label}, the same file again", n, again), flush=True)
        digests[label, "first load and again"] = table_digests(db)
        remove_db(db)
        load(tree, db, half)
        grown = load(tree, db, full)
        print(line(f"{label}, into a database holding the first {n // 2:,}", n, grown), flush=True)
        digests[label, "half, then all"] = table_digests(db)
        remove_db(db)
        rates[label] = first
    for scenario in ("first load and again", "half, then all"):
        now, then = digests["now", scenario], digests["before", scenario]
        differ = sorted(t for t in (set(now) | set(then)) - NOT_COMPARED if now.get(t) != then.get(t))
        print(f"same rows as before ({scenario}): {'yes' if not differ else 'NO, tables ' + ', '.join(differ)} "
              f"({sum(c for c, _ in now.values()):,} rows in {len(now)} tables)")
    ratio("import now/before (releases per wall second)", 1 / rates["now"]["seconds"], 1 / rates["before"]["seconds"])
    ratio("import now/before (releases per CPU second)", 1 / rates["now"]["cpu"], 1 / rates["before"]["cpu"])
    rate = n / rates["now"]["seconds"]
    print(f"import rate now: {rate:,.0f} releases/s (target >= {TARGET_RATE:,}: "
          f"{'OK' if rate >= TARGET_RATE else 'MISSED'}; {n / rates['now']['cpu']:,.0f} per CPU second)")
    db = output("ocds-import-quarter.db")
    remove_db(db)
    small = load("", db, quarter)
    remove_db(db)
    grow = rates["now"]["rss"] - small["rss"]
    print(f"import peak RSS: {n // 4:,} releases {small['rss']:.0f} MB, {n:,} releases {rates['now']['rss']:.0f} MB "
          f"({grow:+.0f} MB; flat when under +50 MB: {'OK' if grow < 50 else 'MISSED'})")


_WRITER = """
import itertools, marshal, pathlib, sys, time
from scrapers import ocds
from scrapers.store import SourceRun
path, db, n = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with open(path, "rb") as f:
    lines = list(itertools.islice(f, n))
with SourceRun(db, ocds.SOURCE, "writer alone", label="writer alone") as run:
    staging = run.staging(ocds._UPSERT_TABLES, ocds.LINK_TABLES, source_url="writer alone")
    cpu = time.process_time()
    chunks = [ocds._map_lines(path.name, i + 1, lines[i:i + ocds.CHUNK_LINES], (), staging)
              for i in range(0, n, ocds.CHUNK_LINES)]
    mapping, cpu = time.process_time() - cpu, time.process_time()
    for data in chunks:
        run.load_staged(*marshal.loads(data)[1])
    run._rebuild_indexes()
    run._check_foreign_keys()
    print(mapping, time.process_time() - cpu)
"""


def ceiling(path: pathlib.Path, n: int) -> None:
    """Where the CPU of a first load goes: the N releases parsed, mapped and staged first, then
    the writer alone (binding them into SQLite, the deferred indexes, the foreign-key check).
    The writer's rate is the ceiling of this design on one core, however fast the mapping."""
    db = output("ocds-writer-alone.db")
    remove_db(db)
    _, _, printed = child(_WRITER, str(path), str(db), str(n))
    remove_db(db)
    mapping, writer = map(float, printed.split())
    print(f"per release: parsing, mapping and staging {mapping / n * 1e6:.0f} us of CPU (the workers' share), "
          f"the writer alone {writer / n * 1e6:.0f} us ({n / writer:,.0f} releases per CPU second: the ceiling "
          f"of this design on one core; {TARGET_RATE:,}/s on 2 cores needs {2e6 / TARGET_RATE:.0f} us in all)")


def export_baseline(db: pathlib.Path) -> int:
    from prongsai.derive.ocds_export import _CHILD_SQL

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    with open(os.devnull, "w") as sink:
        projects = 0
        for row in conn.execute("SELECT * FROM projects ORDER BY project_id"):
            sink.write(json.dumps(dict(row), ensure_ascii=False))
            projects += 1
        for sql in _CHILD_SQL.values():
            for row in conn.execute(sql):
                sink.write(json.dumps(dict(row), ensure_ascii=False))
    return projects


def export(db: pathlib.Path, target: pathlib.Path) -> None:
    base, projects = timed(lambda: export_baseline(db))
    print(f"export baseline scan+dump: {projects:,} projects in {base:.1f}s ({projects / base:,.0f}/s)")
    seconds, rss, _ = child("import sys; from prongsai.derive.ocds_export import export_file; "
                            "export_file(sys.argv[1], sys.argv[2])", str(db), str(target))
    print(f"export: {projects:,} projects in {seconds:.1f}s ({projects / seconds:,.0f}/s), "
          f"peak RSS {rss:.0f} MB, {target.stat().st_size / 1e6:,.0f} MB out")
    ratio("export/baseline (projects per second)", 1 / seconds, 1 / base, target=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=pathlib.Path, default=None, help="OCDS JSON Lines to import from")
    parser.add_argument("--import-releases", type=int, default=100_000)
    parser.add_argument("--before", default=BEFORE, help="git ref of the loader to compare with")
    parser.add_argument("--export", action="store_true", help="also time export ocds over --db")
    parser.add_argument("--db", type=pathlib.Path, default=None)
    parser.add_argument("--projects", type=int, default=200_000)
    args = parser.parse_args()
    db = args.db or (TEAM_DB if TEAM_DB.exists() else output("ocds-demo.db"))
    source = args.file or (TEAM_FILE if TEAM_FILE.exists() else None)
    if source is None or args.export:
        if not db.exists():
            from prongsai.demo import generate

            generate(db, projects=args.projects, seed=1)
        exported = output("ocds-export.jsonl")
        export(db, exported)
        source = source or exported
    imports(source, args.import_releases, args.before)
    ceiling(head(source, args.import_releases), args.import_releases)


if __name__ == "__main__":
    main()
