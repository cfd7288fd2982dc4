"""What every bench script shares: where outputs go, timing, medians, child processes' peak RSS,
and the ratio line against a baseline measured in the same run.

Benches run as ``.venv/bin/python bench/NAME.py``: the package is installed in the venv
(``make`` does ``pip install -e .``), so ``prongsai``, ``scrapers`` and ``portal`` import as
they do everywhere else; this module is found beside the script.
"""
from __future__ import annotations

import importlib.util
import io
import pathlib
import statistics
import subprocess
import sys
import tarfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Generated inputs and scratch databases (git-ignored).
OUT = ROOT / "bench" / "output"


def output(name: str) -> pathlib.Path:
    """``bench/output/<name>``, the folder made if missing."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT / name


def before_tree(ref: str, folders=("scrapers", "prongsai")) -> pathlib.Path:
    """``folders`` as they were at the commit ``ref``, extracted once into ``bench/output/before-<ref>``:
    a bench runs the code of then beside the code of now (``child`` with that folder first on the path)."""
    folder = output(f"before-{ref}")
    missing = [name for name in folders if not (folder / name).exists()]
    if missing:
        archive = subprocess.run(["git", "archive", ref, *missing], cwd=ROOT, capture_output=True, check=True)
        tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(folder)
    return folder


def remove_db(path: pathlib.Path) -> None:
    """A scratch SQLite database and its journal files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def timed(fn):
    """(wall seconds, result) of ``fn()``."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def median_seconds(fn, runs: int = 5) -> float:
    """The median wall time of ``runs`` calls of ``fn()``: one slow run (another process's load
    on a shared machine) does not move it."""
    return statistics.median(timed(fn)[0] for _ in range(runs))


_RSS = "\nimport resource as _r; print('peak_rss_kb', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)"


def child(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter (``sys.argv[1:]`` = ``args``): (wall seconds, its peak
    RSS in MB, what it printed before). A failure ends the bench with the child's error."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code + _RSS, *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"child process failed:\n{proc.stdout}\n{proc.stderr}")
    printed, _, rss = proc.stdout.rpartition("peak_rss_kb ")
    return seconds, int(rss) / 1024, printed


def ratio(label: str, value: float, baseline: float, target: float | None = None) -> float:
    """Print ``value / baseline`` (and whether it meets ``target``, a floor); return it."""
    got = value / baseline
    verdict = "" if target is None else f"  (target >= {target:.2f}: {'OK' if got >= target else 'MISSED'})"
    print(f"ratio {label}: {got:.2f}{verdict}")
    return got


def test_module(name: str):
    """A module of ``tests/`` loaded by path (a bench reusing a test's real server), without
    putting the repository on ``sys.path``."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
