"""Portal load test: ``prongsai serve`` on 1,000,000-project databases, 8 keep-alive clients.

Page mix: home 20 %, project 40 %, agency 15 %, supplier 15 %, search 10 % (random ids; Thai terms
of every length, digits, with a filter one time in three); 5 s warm-up, then 30 s measured. The
same clients then fetch a static file from the same server, so the page numbers come with a
baseline measured in the same run on the same machine. Target: p95 under 50 ms and at least
300 requests/s, on each database.

    .venv/bin/python bench/portal_load.py                      # the shared 1M demo and OCDS-imported databases
    .venv/bin/python bench/portal_load.py --db some.db         # an already built database (repeatable)
    .venv/bin/python bench/portal_load.py --projects 20000     # a quick run on a generated database

The shared databases (``bench/output/demo-1m-built.db``, ``bench/output/ocds-1m.db``) are only
read: the server opens them read-only.
"""
from __future__ import annotations

import argparse
import http.client
import os
import pathlib
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlencode

from harness import OUT, ROOT, output

SHARED = [OUT / "demo-1m-built.db", OUT / "ocds-1m.db"]
PRONGSAI = [str(ROOT / ".venv" / "bin" / "prongsai")]
TARGET_P95, TARGET_RPS = 0.050, 300

MIX = (("home", 20), ("project", 40), ("agency", 15), ("supplier", 15), ("search", 10))
#: Words a citizen would type: goods, works, places, methods; short words and numbers too.
TERMS = ["ถนน", "ก่อสร้าง", "คอมพิวเตอร์", "วัสดุสำนักงาน", "รางระบายน้ำ", "อาคารเรียน", "ทำความสะอาด",
         "เช่ารถยนต์", "ที่ปรึกษา", "ขุดลอกคลอง", "วัสดุการแพทย์", "ฝายชะลอน้ำ", "เทศบาลตำบล", "จังหวัดน่าน",
         "นม", "เชื้อเพลิง", "รักษาความปลอดภัย", "ครุภัณฑ์", "ซ่อมสร้างผิวทาง", "กรมทางหลวง", "ก", "ถน", "2568",
         "๑๒", "ก่อสร้าง ขอนแก่น", "ซื้อครุภัณฑ์คอมพิวเตอร์ กรมศุลกากร", "ถนนคอมพิวเตอร์", "e-bidding"]


def prepare(db: pathlib.Path | None, projects: int) -> pathlib.Path:
    """A built database: the one given, else ``bench/output/portal-<n>.db`` (generated if missing)."""
    if db is not None:
        if not db.exists():
            sys.exit(f"database not found: {db}")
        return db
    path = output(f"portal-{projects}.db")
    if not path.exists():
        subprocess.run(PRONGSAI + ["demo", "--db", str(path), "--projects", str(projects)], check=True)
        subprocess.run(PRONGSAI + ["build", "--db", str(path)], check=True)
    return path


def sample_urls(db: pathlib.Path, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Random pages of each kind, drawn from the database the server reads."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    max_rowid = conn.execute("SELECT max(rowid) FROM projects").fetchone()[0]
    projects = []
    while len(projects) < n:
        row = conn.execute("SELECT project_id FROM projects WHERE rowid >= ? LIMIT 1",
                           [rng.randint(1, max_rowid)]).fetchone()
        if row:
            projects.append(row[0])
    agencies = [r[0] for r in conn.execute("SELECT agency_id FROM agg_agency")]
    suppliers = [r[0] for r in conn.execute("SELECT supplier_id FROM agg_supplier WHERE wins > 0")]
    filters = {"fiscal_year": [r[0] for r in conn.execute("SELECT DISTINCT fiscal_year FROM agg_spend_method "
                                                          "WHERE fiscal_year IS NOT NULL")],
               "province": [r[0] for r in conn.execute("SELECT DISTINCT province FROM agg_spend_province "
                                                       "WHERE province IS NOT NULL")],
               "method": [r[0] for r in conn.execute("SELECT DISTINCT method FROM agg_spend_method")]}
    filters = {k: v for k, v in filters.items() if v}
    conn.close()

    def search():
        args = {"q": rng.choice(TERMS)}
        if filters and rng.random() < 1 / 3:
            name = rng.choice(sorted(filters))
            args[name] = rng.choice(filters[name])
        return "/search?" + urlencode(args)

    return {
        "home": ["/"],
        "project": ["/projects/" + quote(p) for p in projects],
        "agency": ["/agencies/" + quote(rng.choice(agencies)) for _ in range(n)],
        "supplier": ["/suppliers/" + quote(rng.choice(suppliers)) for _ in range(n)],
        "search": [search() for _ in range(n)],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: pathlib.Path, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, PRONGSAI_DATA_DIR=str(output("portal-load-data")))
    proc = subprocess.Popen(PRONGSAI + ["serve", "--db", str(db), "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("server exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("server did not answer /healthz within 120 s")


def run(port: int, pick, clients: int, warmup: float, duration: float) -> dict:
    """``clients`` threads, one keep-alive connection each; latencies kept after the warm-up."""
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def client(seed: int):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while True:
            kind, url = pick(rng)
            t0 = time.monotonic()
            if t0 >= stop_at:
                break
            try:
                conn.request("GET", url, headers={"Accept-Language": "th"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            t1 = time.monotonic()
            if t0 >= measure_from:
                mine.append((kind, t1 - t0, status))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarise(results, duration)


def summarise(results, duration: float) -> dict:
    latencies = sorted(r[1] for r in results)
    if not latencies:
        return {"requests": 0}
    by_kind: dict[str, list[float]] = {}
    for kind, latency, _ in results:
        by_kind.setdefault(kind, []).append(latency)
    return {
        "requests": len(latencies),
        "errors": sum(1 for r in results if r[2] != 200),
        "rps": len(latencies) / duration,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "kinds": {k: (len(v), statistics.median(v), percentile(sorted(v), 95)) for k, v in sorted(by_kind.items())},
    }


def percentile(ordered: list[float], pct: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def report(label: str, r: dict) -> None:
    print(f"{label:<12} {r['requests']:>7,} requests  {r['rps']:>7.1f} req/s  p50 {r['p50'] * 1000:6.1f} ms  "
          f"p95 {r['p95'] * 1000:6.1f} ms  p99 {r['p99'] * 1000:6.1f} ms  errors {r['errors']}")
    if len(r["kinds"]) > 1:
        for kind, (n, p50, p95) in r["kinds"].items():
            print(f"  {kind:<10} {n:>7,}  p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=pathlib.Path, action="append",
                        help="an already built database (repeatable; default: the shared 1M ones)")
    parser.add_argument("--projects", type=int, help="generate and build a demo database of this size instead")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="prongsai serve --workers (default: one per CPU)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--static-duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.projects:
        dbs = [prepare(None, args.projects)]
    else:
        dbs = [prepare(db, 0) for db in args.db or [db for db in SHARED if db.exists()]]
    if not dbs:
        sys.exit(f"none of the shared databases exists yet ({', '.join(map(str, SHARED))}): pass --db or --projects")
    results = [load(db, args) for db in dbs]
    sys.exit(0 if all(results) else 1)


def load(db: pathlib.Path, args) -> bool:
    rng = random.Random(args.seed)
    urls = sample_urls(db, 5000, rng)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]

    def pick_mix(r: random.Random):
        kind = r.choices(kinds, weights)[0]
        return kind, r.choice(urls[kind])

    def pick_static(r: random.Random):
        return "static", "/static/prongsai.css"

    port = free_port()
    server = start_server(db, port, args.workers)
    try:
        print(f"database {db} ({db.stat().st_size / 1e9:.2f} GB); server pid {server.pid} on 127.0.0.1:{port}; "
              f"{args.workers} server processes; {args.clients} keep-alive clients; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        pages = run(port, pick_mix, args.clients, args.warmup, args.duration)
        report("pages", pages)
        static = run(port, pick_static, args.clients, args.warmup / 2, args.static_duration)
        report("static file", static)
        print(f"ratio pages/static: throughput {pages['rps'] / static['rps']:.2f}, "
              f"p95 {pages['p95'] / static['p95']:.1f}x")
        ok = pages["p95"] < TARGET_P95 and pages["rps"] >= TARGET_RPS and not pages["errors"]
        print(f"target (p95 < {TARGET_P95 * 1000:.0f} ms, >= {TARGET_RPS} req/s, no errors): "
              f"{'met' if ok else 'NOT met'}", flush=True)
        return ok
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
