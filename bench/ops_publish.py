"""What `prongsai publish` and `prongsai check` cost on a large public database.

Times each step of a publish (SQLite online-backup copy, sha256, integrity_check, quick_check)
against a baseline in the same process: a plain file copy of the same database. Prints seconds,
MB/s and the ratio copy/plain-copy. These numbers size the nightly job and the release command.

    .venv/bin/python bench/ops_publish.py                          # generates a 50,000-project DB
    .venv/bin/python bench/ops_publish.py --db /work/team/demo-1m.db  # read as a plain file only
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

import harness

from prongsai.core.files import integrity_errors, online_copy, sha256_file
from prongsai.demo import generate
from prongsai.derive.build import run_build


def timed(label, size, fn):
    seconds, result = harness.timed(fn)
    print(f"{label:<28} {seconds:8.1f} s  {size / seconds / 1e6:8.0f} MB/s", flush=True)
    return seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database to measure (default: generate one)")
    parser.add_argument("--projects", type=int, default=50_000)
    args = parser.parse_args()
    if args.db:
        source = pathlib.Path(args.db)
    else:
        source = harness.output(f"ops-{args.projects}.db")
        if not source.exists():
            generate(source, projects=args.projects, seed=1)
            run_build(source)
    plain, published = harness.output("ops-plain-copy.db"), harness.output("ops-published.db")
    size = source.stat().st_size
    print(f"database: {source} ({size / 1e9:.2f} GB)")
    try:
        base, _ = timed("baseline: plain file copy", size, lambda: shutil.copyfile(source, plain))
        copy, _ = timed("publish: online-backup copy", size, lambda: online_copy(plain, published))
        timed("publish: sha256", size, lambda: sha256_file(published))
        _, errors = timed("check: integrity_check", size, lambda: integrity_errors(published))
        timed("check: quick_check", size, lambda: integrity_errors(published, quick=True))
    finally:
        for p in (plain, published):
            harness.remove_db(p)
    harness.ratio("online-backup copy / plain copy (seconds)", copy, base)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
