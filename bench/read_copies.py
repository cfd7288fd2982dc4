"""Read copies behind a stand-in for Fly's proxy: req/s of the portal's page mix on the primary
alone (the baseline, step 0), then with one and two read copies beside it.

Every machine is a real ``prongsai serve`` (one process each) on 127.0.0.1; the copies run with
``PRONGSAI_ROLE=copy``. ``FlyProxy`` does what Fly's proxy does for us: spreads requests over the
machines, replays a request to the machine a ``fly-replay`` answer names (bodies up to 1 MB, with
``fly-replay-src``), and tries another machine when one cannot be reached. A few reports are posted
through it in every round and must land in the primary's complaints.db. tests/test_read_copies.py
uses the same pieces.

    .venv/bin/python bench/read_copies.py                    # bench/output/portal-20000.db, made if missing
    .venv/bin/python bench/read_copies.py --db some.db --duration 20

On two shared cores the copies compete with the primary for the same CPUs, so the figure will
not double; it is for docs/scaling.md, the proof of correctness is the test.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie

import httpx
from harness import ROOT, output
from portal_load import MIX, free_port, prepare, sample_urls, summarise

PRONGSAI = str(ROOT / ".venv" / "bin" / "prongsai")
REPLAY_LIMIT = 1024 * 1024  # what Fly's proxy will hold to replay
SAFE = ("GET", "HEAD", "OPTIONS")
REPORT_BODY = "เห็นรถขนดินเข้าออกตอนกลางคืน แต่ถนนยังไม่เสร็จ ผู้รับเหมาไม่อยู่หน้างานเลย (read copies)"


class Machine:
    """One ``prongsai serve`` process, its own data folder; keeps its port across restarts."""

    def __init__(self, name: str, db: pathlib.Path, data_dir: pathlib.Path, env: dict):
        self.name, self.db, self.data_dir, self.env = name, db, data_dir, env
        self.port = free_port()  # kept across restarts, as a machine keeps its address
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Machine":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PRONGSAI_DATA_DIR": str(self.data_dir), **self.env}
        self.proc = subprocess.Popen(
            [PRONGSAI, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
             "--db", str(self.db), "--complaints-db", str(self.data_dir / "complaints.db")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        def read_log(stream):
            for line in stream:
                self.log.append(line)

        threading.Thread(target=read_log, args=(self.proc.stderr,), daemon=True).start()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {''.join(self.log)[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout} s: {''.join(self.log)[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # as Fly stops a machine: uvicorn finishes what it has
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def machines(tmp: pathlib.Path, db: pathlib.Path, copies: int) -> list[Machine]:
    """A primary (its own complaints.db) and ``copies`` read copies, each on its own copy of ``db``."""
    from cryptography.fernet import Fernet

    shared = {"PRONGSAI_SECRET_KEY": "read-copies-" + os.urandom(8).hex(),
              "PRONGSAI_COMPLAINTS_KEY": Fernet.generate_key().decode(), "PRONGSAI_ROLE": "primary"}
    primary = Machine("primary", db, tmp / "primary", shared)
    result = [primary]
    for n in range(1, copies + 1):
        folder = tmp / f"copy{n}"
        folder.mkdir(parents=True, exist_ok=True)
        local = folder / "public" / "procurement.db"  # what `prongsai fetch-public` leaves there
        local.parent.mkdir(exist_ok=True)
        shutil.copy(db, local)
        result.append(Machine(f"copy{n}", local, folder, {**shared, "PRONGSAI_ROLE": "copy",
                                                             "PRONGSAI_PRIMARY_INSTANCE": "primary0001",
                                                             "PRONGSAI_REFRESH_SECONDS": "3600"}))
    return result


def start_all(group: list[Machine]) -> None:
    primary = group[0]
    primary.start().wait_ready()
    for copy in group[1:]:  # they ask the primary for its build id, so it goes first
        copy.env["PRONGSAI_PRIMARY_URL"] = primary.url
        copy.start()
    for copy in group[1:]:
        copy.wait_ready()


class FlyProxy:
    """The part of Fly's proxy the copies rely on. Instance ids: the primary is ``primary0001``."""

    def __init__(self, group: list[Machine]):
        self.group = group
        self.instances = {"primary0001": group[0]}
        # a proxy keeps no cookies: each Browser sends its own
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64), cookies=no_cookies)
        self._turn = itertools.count()
        self.retried = 0
        self.replayed = 0
        self.sessionless_forms = 0

    async def close(self):
        await self.client.aclose()

    async def request(self, method: str, path: str, *, headers=None, cookies=None, first=None, **body):
        """(response, name of the machine that answered). Tries each machine in turn (from
        ``first``, if given) until one is reached; a read also retries when a closing connection
        dropped it (it changes nothing)."""
        prepared = httpx.Request(method, "http://proxy" + path, headers=headers, cookies=cookies, **body)
        payload = prepared.read()
        sent = [(k, v) for k, v in prepared.headers.raw if k.lower() != b"host"]
        start = self.group.index(first) if first else next(self._turn)
        for i in range(len(self.group) * 3):
            machine = self.group[(start + i) % len(self.group)]
            try:
                response = await self._send(machine, method, path, sent, payload)
            except httpx.ConnectError:
                self.retried += 1
                await asyncio.sleep(0.02 * (i // len(self.group)))
                continue
            except (httpx.RemoteProtocolError, httpx.ReadError):
                if method not in SAFE:
                    raise
                self.retried += 1
                continue
            replay = response.headers.get("fly-replay")
            if not replay:
                return response, machine.name
            if len(payload) > REPLAY_LIMIT:
                raise RuntimeError(f"Fly cannot replay {len(payload):,} bytes ({method} {path})")
            target = self.instances[dict(f.split("=", 1) for f in replay.split(";"))["instance"]]
            self.replayed += 1
            src = [(b"fly-replay-src", f"instance={machine.name};region=sin;t={time.time_ns() // 1000}".encode())]
            return await self._send(target, method, path, sent + src, payload), target.name
        raise RuntimeError(f"no machine reachable for {method} {path}")

    async def _send(self, machine, method, path, headers, payload):
        return await self.client.request(method, machine.url + path, headers=headers, content=payload or None)


class Browser:
    """One person's cookies, through the proxy; follows a 307 the way a browser does."""

    def __init__(self, proxy: FlyProxy):
        self.proxy = proxy
        self.cookies: dict[str, str] = {}

    async def request(self, method, path, first=None, **kw):
        response, served = await self.proxy.request(method, path, headers=self._cookie(), first=first, **kw)
        self._remember(response)
        if response.status_code == 307:  # too large to replay: straight to the primary's own URL
            again = httpx.Request(method, response.headers["location"], headers=self._cookie(), **kw)
            response, served = await self.proxy.client.send(again), "primary (307)"
            self._remember(response)
        return response, served

    def _cookie(self) -> dict:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _remember(self, response) -> None:
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            self.cookies.update({name: morsel.value for name, morsel in parsed.items()})

    async def report(self, project_path: str, files=None, first=None) -> tuple[int, str]:
        """Open the report form, send it (through ``first`` if given); (status, who stored it)."""
        for _attempt in range(3):
            form, _served = await self.request("GET", project_path + "/report?lang=en")
            if "session" in self.cookies:
                break
            # Seen now and then while a copy restarts: the primary renders the form without
            # touching the session (no Set-Cookie, no Vary), so its CSRF token cannot be checked.
            # A person would reload; counted, so the figure is visible (docs/scaling.md).
            self.proxy.sessionless_forms += 1
        tokens = {name: re.search(rf'name="{name}" value="([^"]+)"', form.text).group(1)
                  for name in ("csrf_token", "nonce")}
        data = {**tokens, "body": REPORT_BODY, "mode": "anonymous", "concern": "money"}
        response, served = await self.request("POST", project_path + "/report?lang=en", data=data, first=first,
                                              **({"files": files} if files else {}))
        if response.status_code != 200:
            text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
            print(f"report answered {response.status_code} by {served}: {text[-400:]}")
        return response.status_code, served


async def load(proxy: FlyProxy, urls: dict, seconds: float, clients: int, seed: int = 1):
    """``clients`` readers on the page mix for ``seconds``: (kind, latency, status, machine) each."""
    kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
    stop_at = time.monotonic() + seconds
    results = []

    async def reader(n):
        rng = random.Random(seed * 1000 + n)
        while time.monotonic() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            t0 = time.monotonic()
            response, served = await proxy.request("GET", rng.choice(urls[kind]))
            results.append((kind, time.monotonic() - t0, response.status_code, served))

    await asyncio.gather(*(reader(n) for n in range(clients)))
    return results


def stored_reports(primary: Machine) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{primary.data_dir / 'complaints.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM complaints").fetchone()[0]
    finally:
        conn.close()


async def measure(group, urls, duration, clients, project_path):
    proxy = FlyProxy(group)
    try:
        await load(proxy, urls, 2.0, clients)  # warm-up
        before = stored_reports(group[0])
        writes = [await Browser(proxy).report(project_path) for _ in range(3)]
        results = await load(proxy, urls, duration, clients)
        landed = stored_reports(group[0]) - before
    finally:
        await proxy.close()
    summary = summarise([(k, lat, status) for k, lat, status, _m in results], duration)
    served = {}
    for *_rest, machine in results:
        served[machine] = served.get(machine, 0) + 1
    return summary, served, writes, landed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=pathlib.Path, help="an already built database")
    parser.add_argument("--projects", type=int, default=20_000, help="size of the generated database")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args()
    db = prepare(args.db, args.projects)
    urls = sample_urls(db, 2000, random.Random(1))
    project_path = urls["project"][0]
    rows = []
    for copies in (0, 1, 2):
        tmp = output(f"read-copies-{copies}")
        shutil.rmtree(tmp, ignore_errors=True)
        group = machines(tmp, db, copies)
        try:
            start_all(group)
            summary, served, writes, landed = asyncio.run(measure(group, urls, args.duration, args.clients,
                                                                   project_path))
        finally:
            for machine in group:
                machine.stop()
        ok_writes = sum(1 for status, _ in writes if status == 200)
        rows.append((copies, summary["rps"]))
        print(f"primary + {copies} copies: {summary['rps']:7.1f} req/s  p50 {summary['p50'] * 1000:6.1f} ms  "
              f"p95 {summary['p95'] * 1000:6.1f} ms  errors {summary['errors']}  served {served}  "
              f"reports {ok_writes}/3 answered, {landed} stored on the primary", flush=True)
        if summary["errors"] or landed != ok_writes or ok_writes != len(writes):
            sys.exit("FAILED: errors, or a report did not land on the primary")
    base = rows[0][1]
    print("ratio against the primary alone (same run): "
          + ", ".join(f"{copies} copies {rps / base:.2f}" for copies, rps in rows[1:]))
    print(f"cpus: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
