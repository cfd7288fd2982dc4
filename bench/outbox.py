"""The outbox under load and under kill -9, counted by the receiving SMTP server.

1. Throughput: N messages queued, then delivered by the worker's ``deliver`` to a local aiosmtpd
   server; msgs/s against a baseline in the same run: the same messages sent by bare smtplib over
   one connection, with no database at all (the ceiling). Target: >= 200 msgs/s.
2. Durability: ``prongsai notify`` in its own process, killed with SIGKILL at a random moment
   while it delivers, restarted, 30 times (a new batch queued before each start); then a last
   ``prongsai notify --once``. The server counts every Message-ID it accepted: lost (queued, never
   accepted) and duplicated (accepted twice) must both be 0.

    .venv/bin/python bench/outbox.py                   # 2,000 messages, 30 kill cycles
    .venv/bin/python bench/outbox.py --messages 500 --cycles 5
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from harness import ROOT, output, ratio, remove_db

from portal import create_app
from portal.complaints import mail, notify, outbox
from portal.complaints.db import open_complaints_db, transaction

MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.M | re.I)
SENDER = "noreply@prongsai.test"


class Counter:
    """aiosmtpd handler: counts each accepted message by its Message-ID."""

    def __init__(self):
        self.seen = collections.Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        match = MESSAGE_ID.search(envelope.original_content or envelope.content)
        with self.lock:
            self.seen[match.group(1).decode() if match else "?"] += 1
        return "250 OK"

    def total(self):
        with self.lock:
            return sum(self.seen.values())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queue(app, conn, prefix: str, n: int) -> None:
    with app.app_context(), transaction(conn):
        for i in range(n):
            outbox.enqueue(conn, f"{prefix}-{i}", "bench", to={"address": f"r{i % 50}@example.org"},
                           subject=f"โปร่งใส ทดสอบ {prefix} {i}", text="มีความคืบหน้าในรายงานของคุณ\n" * 5,
                           html="<p>มีความคืบหน้าในรายงานของคุณ</p>" * 5)


def baseline(settings, n: int) -> float:
    """msgs/s of bare smtplib over one connection: no outbox, no database, no recovery."""
    smtp = smtplib.SMTP(settings.host, settings.port)
    started = time.perf_counter()
    for i in range(n):
        msg = mail.build(settings, to=f"r{i % 50}@example.org", subject=f"baseline {i}", text="x\n" * 5,
                         html="<p>x</p>" * 5, message_id=f"<baseline-{i}@prongsai.test>")
        smtp.send_message(msg)
    seconds = time.perf_counter() - started
    smtp.quit()
    return n / seconds


def worker_env(port, key, db):
    return {**os.environ, "PRONGSAI_COMPLAINTS_KEY": key, "PRONGSAI_SECRET_KEY": "bench-secret",
            "PRONGSAI_SMTP_HOST": "127.0.0.1", "PRONGSAI_SMTP_PORT": str(port), "PRONGSAI_SMTP_SECURITY": "plain",
            "PRONGSAI_SMTP_FROM": SENDER, "PRONGSAI_PUBLIC_URL": "https://prongsai.example",
            "PRONGSAI_DATA_DIR": str(db.parent)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--per-cycle", type=int, default=300)
    args = parser.parse_args()

    counter, port = Counter(), free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    db = output("outbox-bench") / "complaints.db"
    remove_db(db)
    key = Fernet.generate_key().decode()
    config = {"COMPLAINTS_DATABASE": str(db), "COMPLAINTS_KEY": key, "SECRET_KEY": "bench-secret",
              "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "plain", "SMTP_FROM": SENDER,
              "PUBLIC_URL": "https://prongsai.example"}
    app = create_app(config)
    conn = open_complaints_db(db)
    settings = mail.settings(app.config)

    raw = baseline(settings, args.messages)
    queue(app, conn, "load", args.messages)
    started = time.perf_counter()
    with app.app_context():
        while sum(notify.deliver(conn, settings).values()):
            pass
    rate = args.messages / (time.perf_counter() - started)
    print(f"throughput: outbox {rate:,.0f} msgs/s, bare smtplib {raw:,.0f} msgs/s ({args.messages:,} messages, "
          f"synchronous=FULL)  target >= 200 msgs/s: {'OK' if rate >= 200 else 'MISSED'}")
    ratio("outbox / bare smtplib", rate, raw)

    env, rng = worker_env(port, key, db), random.Random(15)
    command = [str(ROOT / ".venv" / "bin" / "prongsai"), "notify", "--complaints-db", str(db), "--interval", "0.2"]
    killed_mid_batch = 0
    for cycle in range(args.cycles):
        queue(app, conn, f"kill{cycle}", args.per_cycle)
        before = counter.total()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while counter.total() == before and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        if proc.poll() is not None:
            raise SystemExit(f"the worker stopped by itself: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(rng.uniform(0.0, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_mid_batch += conn.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0] > 0
    final = subprocess.run(command[:2] + ["--once"] + command[2:4], env=env, cwd=ROOT, capture_output=True, text=True)
    if final.returncode:
        raise SystemExit(final.stderr[-2000:])
    controller.stop()

    ids = {r[0]: r[1] for r in conn.execute("SELECT message_id, status FROM outbox WHERE kind = 'bench'")}
    kill_ids = {m for m in ids if m}  # every queued message, throughput batch included
    lost = [m for m in kill_ids if counter.seen[m] == 0]
    duplicated = [m for m, n in counter.seen.items() if n > 1 and m in kill_ids]
    unconfirmed, failed = conn.execute("SELECT sum(unconfirmed), sum(status = 'failed') FROM outbox").fetchone()
    crashed = conn.execute("SELECT count(*) FROM outbox_attempts WHERE outcome LIKE 'crashed%'").fetchone()[0]
    print(f"kill -9: {args.cycles} cycles ({killed_mid_batch} left rows mid-send), {len(kill_ids):,} messages "
          f"queued, {sum(counter.seen[m] for m in kill_ids):,} accepted by the server; lost {len(lost)} (must be 0), "
          f"duplicated {len(duplicated)} (must be 0); {crashed} attempts cut by a kill, {unconfirmed or 0} sent "
          f"unconfirmed, {failed or 0} failed; last run: {final.stdout.strip()}")
    if lost or duplicated:
        raise SystemExit(f"lost {lost[:5]}, duplicated {duplicated[:5]}")


if __name__ == "__main__":
    main()
