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
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prongsai.derive.build import run_build  # noqa: E402
from prongsai.demo import generate  # noqa: E402
from prongsai.core.files import integrity_errors, online_copy, sha256_file  # noqa: E402

OUTPUT = ROOT / "bench" / "output"


def timed(label, size, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {seconds:8.1f} s  {size / seconds / 1e6:8.0f} MB/s", flush=True)
    return seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database to measure (default: generate one)")
    parser.add_argument("--projects", type=int, default=50_000)
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    if args.db:
        source = pathlib.Path(args.db)
    else:
        source = OUTPUT / f"ops-{args.projects}.db"
        if not source.exists():
            generate(source, projects=args.projects, seed=1)
            run_build(source)
    plain, published = OUTPUT / "ops-plain-copy.db", OUTPUT / "ops-published.db"
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
            for suffix in ("", "-wal", "-shm", "-journal"):
                p.with_name(p.name + suffix).unlink(missing_ok=True)
    print(f"ratio online-backup copy / plain copy: {copy / base:.2f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
