"""OCDS benchmark: ``export ocds`` over a big database, and ``scrape ocds`` of its output.

In one run:

1. baseline: the same ordered scans the export makes (projects and seven child tables), each
   row dumped with ``json.dumps`` -- what any exporter must at least pay;
2. ``export_file`` in a child process (its peak RSS is reported): projects/s and the ratio to
   the baseline;
3. ``import_file`` of the first N and N/4 exported releases, each in a child process: releases/s
   and peak RSS, so flat memory shows as equal RSS at both sizes.

Targets: export >= 0.2 x baseline; export peak RSS < 300 MB on 1,000,000 projects; import RSS at
N within +50 MB of N/4.

    .venv/bin/python bench/ocds.py [--db /work/team/demo-1m.db] [--import-releases 100000]

Without ``--db`` it uses the team's 1M demo database when present, else generates one
(``--projects``, default 200,000) under ``bench/output/``. Both databases are only read.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3

from harness import child, output, ratio, timed
from prongsai.derive.ocds_export import _CHILD_SQL

TEAM_DB = pathlib.Path("/work/team/demo-1m.db")


def baseline(db: pathlib.Path) -> int:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=pathlib.Path, default=None)
    parser.add_argument("--projects", type=int, default=200_000)
    parser.add_argument("--import-releases", type=int, default=100_000)
    args = parser.parse_args()
    db = args.db or (TEAM_DB if TEAM_DB.exists() else output("ocds-demo.db"))
    if not db.exists():
        from prongsai.demo import generate

        generate(db, projects=args.projects, seed=1)

    base, projects = timed(lambda: baseline(db))
    print(f"baseline scan+dump: {projects:,} projects in {base:.1f}s ({projects / base:,.0f}/s)")

    export = output("ocds.jsonl")
    seconds, rss, _ = child("import sys; from prongsai.derive.ocds_export import export_file; "
                            "export_file(sys.argv[1], sys.argv[2])", str(db), str(export))
    print(f"export: {projects:,} projects in {seconds:.1f}s ({projects / seconds:,.0f}/s), "
          f"peak RSS {rss:.0f} MB, {export.stat().st_size / 1e6:,.0f} MB out")
    ratio("export/baseline (projects per second)", 1 / seconds, 1 / base, target=0.2)

    results = []
    for n in (args.import_releases // 4, args.import_releases):
        part = output(f"ocds-{n}.jsonl")
        with open(export) as src, open(part, "w") as dst:
            for i, line in enumerate(src):
                if i >= n:
                    break
                dst.write(line)
        target = output(f"ocds-import-{n}.db")
        target.unlink(missing_ok=True)
        seconds, rss, _ = child("import sys; from scrapers.ocds import import_file; "
                                "import_file(sys.argv[1], sys.argv[2])", str(target), str(part))
        results.append(rss)
        print(f"import: {n:,} releases in {seconds:.1f}s ({n / seconds:,.0f}/s), peak RSS {rss:.0f} MB")
        target.unlink()
        part.unlink()
    print(f"import RSS growth from {args.import_releases // 4:,} to {args.import_releases:,}: "
          f"{results[1] - results[0]:+.0f} MB")
    export.unlink()


if __name__ == "__main__":
    main()
