"""All red flags (Cardinal's 11 + TH01-TH15, applicability, unit prices, co-bidding edges) on a
1,000,000-project demo database, against the flags build of an earlier commit on the same file.

Times, in the same run and on the same file, a baseline pass that reads every bid once (per-project
count, min and max of the bid amounts), the flags build of ``--before`` (a git ref, extracted with
``git archive`` into ``bench/output/``) and the current one, each build in a fresh interpreter so
their peak RSS is their own. Prints the medians of ``--runs`` builds and their ratios. Targets: the
current build under 19 s, 1 GB and within 1.2x of ``--before`` (OCP's Cardinal takes about 38 s for
its 11 indicators over 1,000,000 processes on a 2-core machine). Exit status 1 when one is missed.

    .venv/bin/python bench/flags.py                      # generates bench/output/flags-1000000.db
    .venv/bin/python bench/flags.py --db /work/team/demo-1m.db   # read-only source: copied first
    .venv/bin/python bench/flags.py --projects 200000 --runs 1    # a smaller run
"""
from __future__ import annotations

import argparse
import io
import os
import pathlib
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile

from harness import ROOT, child, output, ratio, timed
from prongsai.demo import generate

TARGET_S = 19.0
TARGET_RSS_MB = 1024
TARGET_RATIO = 1.2
#: The last commit before unit prices, networks and applicability joined the flags build.
BEFORE = "ef2ad1f"
BASELINE_SQL = "SELECT count(*) FROM (SELECT project_id, count(*), min(amount), max(amount) FROM bids GROUP BY project_id)"
#: One flags build in a fresh interpreter: argv = (package folder or "", database); prints its seconds.
BUILD = """
import sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
from prongsai.core.schema import open_db
from prongsai.derive.flags.build import build
db = open_db(sys.argv[2])
started = time.perf_counter()
build(db)
print('seconds', time.perf_counter() - started)
"""


def prepare(args) -> pathlib.Path:
    if args.db:
        target = output("flags-copy.db")
        if pathlib.Path(args.db).resolve() != target.resolve():
            print(f"copying {args.db} -> {target}", flush=True)
            shutil.copyfile(args.db, target)  # the source is read-only for us: flags are written to a copy
        return target
    target = output(f"flags-{args.projects}.db")
    if not target.exists():
        seconds, _ = timed(lambda: generate(target, projects=args.projects, seed=1))
        print(f"demo: {args.projects:,} projects in {seconds:.1f} s", flush=True)
        os.sync()  # the kernel writing the new file back would otherwise run during the first timing
    return target


def before_tree(ref: str) -> pathlib.Path:
    """``prongsai/`` as it was at ``ref``, extracted once into ``bench/output/before-<ref>``."""
    folder = output(f"before-{ref}")
    if not (folder / "prongsai").exists():
        archive = subprocess.run(["git", "archive", ref, "prongsai"], cwd=ROOT, capture_output=True, check=True)
        tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(folder)
    return folder


def warm(path: pathlib.Path) -> None:
    """Read the whole file before a timing: this machine pages out file pages left idle for a
    minute (DAMON), and the benchmark times the flags, not the disk."""
    buffer = bytearray(16 << 20)

    def read():
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass

    seconds, _ = timed(read)
    print(f"page cache warmed: {path.stat().st_size / 2**30:.2f} GiB in {seconds:.1f} s", flush=True)


def builds(label: str, package: str, path: pathlib.Path, runs: int) -> tuple[float, float]:
    """(median seconds, peak RSS MB) of ``runs`` flags builds of ``package`` ("" = the current one)."""
    seconds, peaks = [], []
    for run in range(runs):
        warm(path)
        _, rss, printed = child(BUILD, package, str(path))
        seconds.append(float(printed.rsplit("seconds ", 1)[1].split()[0]))
        peaks.append(rss)
        print(f"{label}, run {run + 1}: {seconds[-1]:.2f} s, peak RSS {rss:.0f} MB", flush=True)
    return statistics.median(seconds), max(peaks)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="existing demo database (copied; the original is never written)")
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="builds of each version to time (medians judged)")
    parser.add_argument("--before", default=BEFORE, help="git ref of the flags build to compare with")
    args = parser.parse_args(argv)
    path = prepare(args)
    conn = sqlite3.connect(path)
    projects, bids = conn.execute("SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM bids)").fetchone()
    print(f"database: {path} ({projects:,} projects, {bids:,} bids, {path.stat().st_size / 2**30:.2f} GiB)")
    warm(path)
    base, _ = timed(lambda: conn.execute(BASELINE_SQL).fetchall())
    conn.close()
    print(f"baseline: every bid once (count, min, max per project): {base:.2f} s")

    before, before_rss = builds(f"flags before ({args.before})", str(before_tree(args.before)), path, args.runs)
    now, now_rss = builds("flags now", "", path, args.runs)
    conn = sqlite3.connect(path)
    per_code = conn.execute("SELECT code, count(*) FROM red_flags GROUP BY code UNION ALL "
                            "SELECT code, count(*) FROM org_flags GROUP BY code").fetchall()
    extra = conn.execute("SELECT (SELECT count(*) FROM cobid_edges), (SELECT count(*) FROM unit_price_benchmarks)"
                         ).fetchone()
    conn.close()
    print("per flag: " + ", ".join(f"{code} {n:,}" for code, n in sorted(per_code)))
    print(f"cobid_edges {extra[0]:,} rows, unit_price_benchmarks {extra[1]:,} rows")
    print(f"\nflags before ({args.before}): {before:.2f} s, {before_rss:.0f} MB   "
          f"flags now: {now:.2f} s, {now_rss:.0f} MB   baseline: {base:.2f} s (medians of {args.runs})")
    ratio("now / baseline", now, base)
    got = ratio("now / before", now, before)
    print(f"targets: now < {TARGET_S:.0f} s, < {TARGET_RSS_MB} MB, now / before <= {TARGET_RATIO}")
    ok = now < TARGET_S and now_rss < TARGET_RSS_MB and got <= TARGET_RATIO
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
