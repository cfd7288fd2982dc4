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
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "output"
TEAM_DB = pathlib.Path("/work/team/demo-1m.db")
sys.path.insert(0, str(ROOT))

from prongsai.derive.ocds_export import _CHILD_SQL  # noqa: E402


def baseline(db: pathlib.Path) -> tuple[int, float]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        projects = 0
        for row in conn.execute("SELECT * FROM projects ORDER BY project_id"):
            sink.write(json.dumps(dict(row), ensure_ascii=False))
            projects += 1
        for sql in _CHILD_SQL.values():
            for row in conn.execute(sql):
                sink.write(json.dumps(dict(row), ensure_ascii=False))
    return projects, time.perf_counter() - started


def child(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; (seconds, its peak RSS in MB)."""
    started = time.perf_counter()
    script = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); {code}; "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    seconds = time.perf_counter() - started
    return seconds, int(proc.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=pathlib.Path, default=None)
    parser.add_argument("--projects", type=int, default=200_000)
    parser.add_argument("--import-releases", type=int, default=100_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = args.db or (TEAM_DB if TEAM_DB.exists() else OUT / "ocds-demo.db")
    if not db.exists():
        from prongsai.demo import generate

        generate(db, projects=args.projects, seed=1)

    projects, base = baseline(db)
    print(f"baseline scan+dump: {projects:,} projects in {base:.1f}s ({projects / base:,.0f}/s)")

    export = OUT / "ocds.jsonl"
    seconds, rss = child(f"from prongsai.derive.ocds_export import export_file; export_file({str(db)!r}, {str(export)!r})")
    print(f"export: {projects:,} projects in {seconds:.1f}s ({projects / seconds:,.0f}/s), "
          f"ratio {base / seconds:.2f} x baseline, peak RSS {rss:.0f} MB, {export.stat().st_size / 1e6:,.0f} MB out")

    results = []
    for n in (args.import_releases // 4, args.import_releases):
        part = OUT / f"ocds-{n}.jsonl"
        with open(export) as src, open(part, "w") as dst:
            for i, line in enumerate(src):
                if i >= n:
                    break
                dst.write(line)
        target = OUT / f"ocds-import-{n}.db"
        target.unlink(missing_ok=True)
        seconds, rss = child("from scrapers.ocds import import_file; "
                             f"import_file({str(target)!r}, {str(part)!r})")
        results.append(rss)
        print(f"import: {n:,} releases in {seconds:.1f}s ({n / seconds:,.0f}/s), peak RSS {rss:.0f} MB")
        target.unlink()
        part.unlink()
    print(f"import RSS growth from {args.import_releases // 4:,} to {args.import_releases:,}: "
          f"{results[1] - results[0]:+.0f} MB")
    export.unlink()


if __name__ == "__main__":
    main()
