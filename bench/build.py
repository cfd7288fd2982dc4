"""The whole ``prongsai build`` of a 1,000,000-project database, full and incremental, against the
build of an earlier commit on the same file.

Copies the unbuilt database twice (the source is never written), builds one copy with ``--before``
(a git ref: its ``prongsai/`` extracted with ``git archive`` into ``bench/output/``) and the other
with the current code, each in a fresh interpreter, printing every step's time. Then a refresh
changes ``--share`` of the projects on the current copy (a run in ``source_runs``; their contract
amounts and titles amended, stamped with the run's ``last_seen`` and listed in ``run_touched``, as
``scrapers.store`` does) and
the next, incremental, build is timed. Targets: the full build within 60 s, the incremental one
within 10 s. Exit status 1 when one is missed.

    .venv/bin/python bench/build.py                                  # bench/output/demo-1m.db
    .venv/bin/python bench/build.py --db bench/output/ocds-1m-raw.db --before a58ace9
    .venv/bin/python bench/build.py --db bench/output/b4-100k.db --skip-before   # a smaller run
    .venv/bin/python bench/build.py --incremental-on bench/output/build-demo-1m-now.db   # again, on a built copy
"""
from __future__ import annotations

import argparse
import pathlib
import resource
import shutil
import sqlite3
import sys

from flags import before_tree, warm
from harness import child, output, ratio, remove_db

from prongsai.core.clock import now

TARGET_FULL_S = 60.0
TARGET_INCREMENTAL_S = 10.0
#: The last commit before the build became incremental.
BEFORE = "a58ace9"
#: One build in a fresh interpreter: argv = (package folder or "", database, "full" | "auto").
BUILD = """
import sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
sys.stderr = sys.stdout  # the steps' times
from prongsai.derive.build import run_build
started = time.perf_counter()
run_build(sys.argv[2], **({"full": True} if sys.argv[3] == "full" and sys.argv[1] == "" else {}))
print('seconds', time.perf_counter() - started)
"""


def build(label: str, package: str, path, mode: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one build, its steps printed. On a machine shared with
    other jobs the CPU time (user + system, both cores) moves less than the wall time."""
    warm(path)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, rss, printed = child(BUILD, package, str(path), mode)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    steps, _, seconds = printed.rpartition("seconds ")
    for line in steps.splitlines():
        if line.startswith("build:"):
            print(f"  {label}: {line[len('build: '):]}")
    print(f"{label}: {float(seconds):.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss:.0f} MB "
          f"(file pages the build maps count too)", flush=True)
    return float(seconds), cpu


def refresh(path, share: float) -> int:
    """Amend ``share`` of the projects as a scraper run would; how many."""
    conn = sqlite3.connect(path, isolation_level=None)
    at = now("microseconds")
    step = max(1, round(1 / share))
    conn.execute("BEGIN")
    run = conn.execute("INSERT INTO source_runs (source, started_at, status) VALUES ('bench', ?, 'ok')",
                       [at]).lastrowid
    conn.execute(f"CREATE TEMP TABLE picked AS SELECT project_id FROM projects WHERE rowid % {step} = 0")
    conn.execute("UPDATE projects SET title = title || ' (แก้ไข)', last_seen = ? "
                 "WHERE project_id IN (SELECT project_id FROM picked)", [at])
    conn.execute("UPDATE contracts SET contract_amount = contract_amount * 1.1, last_seen = ? "
                 "WHERE project_id IN (SELECT project_id FROM picked)", [at])
    conn.execute("INSERT INTO run_touched SELECT ?, 'project', project_id FROM picked", [run])
    changed = conn.execute("SELECT count(*) FROM picked").fetchone()[0]
    conn.execute("COMMIT")
    conn.close()
    return changed


def copy(source, name: str):
    target = output(name)
    remove_db(target)
    print(f"copying {source} -> {target}", flush=True)
    shutil.copyfile(source, target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(output("demo-1m.db")), help="unbuilt database (copied, never written)")
    parser.add_argument("--before", default=BEFORE, help="git ref of the build to compare with")
    parser.add_argument("--skip-before", action="store_true", help="time the current build only")
    parser.add_argument("--share", type=float, default=0.01, help="share of projects the refresh changes")
    parser.add_argument("--incremental-on", metavar="DB", help="a database this code built (written): "
                        "only the refresh and the incremental build")
    args = parser.parse_args(argv)
    if args.incremental_on:
        path = pathlib.Path(args.incremental_on)
        changed = refresh(path, args.share)
        print(f"refresh: {changed:,} projects changed")
        incremental, cpu = build("now, incremental", "", path, "auto")
        return 0 if incremental <= TARGET_INCREMENTAL_S else 1
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    projects = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    conn.close()
    print(f"database: {args.db} ({projects:,} projects)")
    before = None
    if not args.skip_before:
        path = copy(args.db, f"build-{pathlib.Path(args.db).stem}-before.db")
        before, before_cpu = build(f"before ({args.before})", str(before_tree(args.before)), path, "full")
        remove_db(path)
    path = copy(args.db, f"build-{pathlib.Path(args.db).stem}-now.db")
    full, full_cpu = build("now, full", "", path, "full")
    changed = refresh(path, args.share)
    print(f"refresh: {changed:,} projects changed ({changed / projects:.1%})")
    incremental, incremental_cpu = build("now, incremental", "", path, "auto")
    print(f"\nfull build: {full:.1f} s ({full_cpu:.1f} s CPU)   incremental build: {incremental:.1f} s "
          f"({incremental_cpu:.1f} s CPU)" + (f"   before ({args.before}): {before:.1f} s ({before_cpu:.1f} s CPU)"
                                             if before else ""))
    if before:
        ratio("full now / before", full, before)
        ratio("full now / before, CPU", full_cpu, before_cpu)
        ratio("incremental now / before", incremental, before)
    ratio("incremental / full", incremental, full)
    print(f"targets: full <= {TARGET_FULL_S:.0f} s, incremental <= {TARGET_INCREMENTAL_S:.0f} s")
    ok = full <= TARGET_FULL_S and incremental <= TARGET_INCREMENTAL_S
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
