"""Complaints under kill -9: no acknowledged report is ever lost, and none is stored twice.

Serves a small demo database with ``prongsai serve`` (two workers, as on Fly, and no secret key
configured, so the server's own key file must survive too), has concurrent submitters send reports
with a photo, kills the whole server with SIGKILL at a random moment, restarts it, and repeats. A
submitter whose request died without an answer sends the very same form again to the restarted
server, as a browser would (that answer is acknowledged too). At the end every acknowledged
tracking code must open its report: the text as sent, its one evidence file intact, one case
per report. Prints cycles, acknowledged, lost (must be 0), stored twice (must be 0) and the time.

    .venv/bin/python bench/complaints_kill.py                 # 50 cycles
    .venv/bin/python bench/complaints_kill.py --cycles 10     # a quick run
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
import uuid

import httpx
from harness import test_module

from portal.complaints.crypto import code_hash, normalise_code
from prongsai.core.config import evidence_dir
from prongsai.demo import generate
from prongsai.derive.build import run_build

_kill_test = test_module("test_complaints_durability")  # the kill test's real server
Server, small_jpeg = _kill_test.Server, _kill_test.small_jpeg

CODE = re.compile(r'<output id="tracking-code"[^>]*>([^<]+)</output>')


class Submitter:
    """One citizen's browser: fetches the form, fills it, posts it; re-posts a form left unanswered."""

    def __init__(self, project_id, seed, acked, lock):
        self.project_id, self.rng, self.acked, self.lock = project_id, random.Random(seed), acked, lock
        self.client = httpx.Client(timeout=10)  # one cookie jar for the whole run, across restarts
        self.pending = None  # (data, files, marker) of a post that got no answer
        self.resent = 0
        self.base = self.stop = self.thread = None

    def start(self, base, stop):
        self.base, self.stop = base, stop
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _form(self):
        html = self.client.get(f"{self.base}/projects/{self.project_id}/report").text
        marker = f"kill-bench {uuid.uuid4()} ถนนไม่เสร็จ"
        data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
                "nonce": re.search(r'name="nonce" value="([^"]+)"', html).group(1),
                "body": marker, "concern": "money", "mode": "anonymous"}
        return data, [("evidence", ("p.jpg", small_jpeg(self.rng.randrange(256)), "image/jpeg"))], marker

    def _loop(self):
        while not self.stop.is_set():
            resending = self.pending is not None
            try:
                data, files, marker = self.pending or self._form()
            except (httpx.HTTPError, AttributeError):
                continue  # the server died while sending the form: nothing was sent yet
            self.pending = (data, files, marker)
            try:
                r = self.client.post(f"{self.base}/projects/{self.project_id}/report", data=data, files=files)
            except httpx.HTTPError:
                continue  # killed mid-request: no answer, so the form is sent again
            self.pending = None
            match = CODE.search(r.text)
            if r.status_code == 200 and match:
                self.resent += resending
                with self.lock:
                    self.acked.append((match.group(1), marker))


def lost_and_twice(complaints_db, acked) -> tuple[list, list]:
    """Acknowledged reports missing or damaged, and reports stored more than once."""
    conn = sqlite3.connect(complaints_db)
    if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        return acked, []
    folder = evidence_dir(complaints_db)
    lost = []
    for code, marker in acked:
        row = conn.execute("SELECT c.id, v.body FROM complaints c JOIN complaint_versions v ON v.complaint_id = c.id "
                           "AND v.version = 1 WHERE c.tracking_hash = ?", [code_hash(normalise_code(code))]).fetchone()
        files = conn.execute("SELECT stored_name, sha256, size FROM evidence WHERE complaint_id = ?",
                             [row[0]]).fetchall() if row else []
        intact = len(files) == 1 and (folder / files[0][0]).is_file() and (
            hashlib.sha256((folder / files[0][0]).read_bytes()).hexdigest() == files[0][1])
        if not row or row[1] != marker or not intact:
            lost.append(code)
    twice = [body for (body,) in conn.execute("SELECT body FROM complaint_versions WHERE version = 1 "
                                              "GROUP BY body HAVING count(*) > 1")]
    conn.close()
    return lost, twice


def opens_by_code(server, code) -> bool:
    with httpx.Client(timeout=10) as client:
        html = client.get(server.base + "/track").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        r = client.post(server.base + "/track?lang=en", data={"csrf_token": token, "code": code},
                        follow_redirects=True)
        return r.status_code == 200 and "Received" in r.text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50, help="kill -9 and restart this many times")
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server processes (Fly runs two)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="complaints-kill-") as work:
        work = pathlib.Path(work)
        demo_db, complaints_db = work / "procurement.db", work / "private" / "complaints.db"
        generate(demo_db, projects=2000, seed=args.seed)
        run_build(demo_db)
        project_id = sqlite3.connect(demo_db).execute("SELECT min(project_id) FROM projects").fetchone()[0]
        server = Server(demo_db, complaints_db, work / "server.log", WEB_CONCURRENCY=str(args.workers),
                        PRONGSAI_SECRET_KEY="", PRONGSAI_DATA_DIR=str(work / "private"))
        acked, lock = [], threading.Lock()
        submitters = [Submitter(project_id, args.seed * 100 + k, acked, lock) for k in range(args.submitters)]
        for cycle in range(args.cycles):
            server.start()
            stop = threading.Event()
            for s in submitters:
                s.start(server.base, stop)
            time.sleep(rng.uniform(0.3, 2.0))
            server.kill()
            stop.set()
            for s in submitters:
                s.thread.join(timeout=15)
            print(f"cycle {cycle + 1:>3}: {len(acked):>5} acknowledged", flush=True)
        lost, twice = lost_and_twice(complaints_db, acked)
        server.start()
        try:
            opened = bool(acked) and opens_by_code(server, acked[-1][0])
        finally:
            server.kill()
        key_files = sorted(p.name for p in complaints_db.parent.glob("secret_key*"))
    seconds = time.perf_counter() - started
    print(f"cycles {args.cycles}, acknowledged {len(acked)} ({sum(s.resent for s in submitters)} after "
          f"re-sending a form left unanswered), lost {len(lost)}, stored twice {len(twice)}, last code opens "
          f"its report after a restart: {'yes' if opened else 'NO'}, key files {key_files}, {seconds:.0f} s")
    return 0 if acked and not lost and not twice and opened and key_files == ["secret_key"] else 1


if __name__ == "__main__":
    sys.exit(main())
