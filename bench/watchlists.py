"""Watchlists: working out and queueing the digests of one build for 100,000 subscribers over a
1,000,000-project database (target: at most 30 s).

A copy of the built 1M demo's tables that the digests read (``bench/output/demo-1m-built.db``, or
``--db``) gets seeded changes
(new projects with contracts, flags newly raised on projects seen before), then ``prongsai
build``'s changes step records them (timed: what it adds to a build). A fresh complaints.db gets
``--subscribers`` confirmed e-mail subscribers, each following one to three agencies, suppliers,
provinces, red flags or saved searches, chosen where the build brought something, so nearly all
of them get a digest (the worst case). Timed: matching alone (``work_out``), then the whole of
``queue`` (match, write each message, encrypt it, insert it into the outbox). The
baseline is one indexed scan of the build's ``build_changes`` rows.

    .venv/bin/python bench/watchlists.py [--db PATH] [--subscribers N] [--changes N]
"""
from __future__ import annotations

import argparse
import random
import secrets
import sqlite3
import statistics
import time

from harness import output, remove_db, timed

from portal import create_app
from portal.complaints import crypto
from portal.complaints.db import open_complaints_db, transaction
from portal.watch import digests, store
from prongsai.core.clock import now
from prongsai.core.schema import open_db
from prongsai.derive import changes

TARGET_SECONDS = 30.0
SOURCE = output("demo-1m-built.db")
#: what the changes step and the digests read: the copy holds these alone (the built 1M file is 8.7 GB)
TABLES = ("agencies", "suppliers", "projects", "contracts", "flag_definitions", "red_flags", "builds",
          "build_changes", "agg_seen_projects", "agg_seen_flags", "agg_seen_contracts")


def slim_copy(source, work) -> None:
    db = open_db(work)
    for statement in changes.DDL:
        db.execute(statement)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("ATTACH DATABASE ? AS src", [str(source)])
    db.execute("BEGIN")
    for table in TABLES:
        if db.execute("SELECT 1 FROM src.sqlite_master WHERE name = ?", [table]).fetchone():
            db.execute(f"INSERT INTO main.[{table}] SELECT * FROM src.[{table}]")
    db.execute("COMMIT")
    db.execute("DETACH DATABASE src")
    db.close()


def seed(path, n: int, rng: random.Random) -> set[str]:
    """``n`` new projects (copies of existing ones under new ids, each with a contract of an existing
    supplier) and flags newly raised on about ``n // 2`` projects seen before; returns the projects
    an incremental build would hand the changes step."""
    db = open_db(path)
    top = db.execute("SELECT max(rowid) FROM projects").fetchone()[0]
    picks = sorted(rng.sample(range(1, top + 1), n * 2))
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE _pick (k INTEGER PRIMARY KEY, src INTEGER)")
    db.conn.executemany("INSERT INTO temp._pick VALUES (?, ?)", enumerate(picks[:n]))
    db.execute("""INSERT INTO projects (project_id, title, buyer_id, procuring_entity_id, method, fiscal_year,
                  announce_date, budget, currency, province)
                  SELECT 'W' || printf('%010d', k.k), p.title, p.buyer_id, p.procuring_entity_id, p.method,
                         p.fiscal_year, '2026-12-01', p.budget, p.currency, p.province
                  FROM temp._pick k JOIN projects p ON p.rowid = k.src""")
    db.execute("""INSERT INTO contracts (id, project_id, contract_no, supplier_id, contract_amount, currency, signed_date)
                  SELECT 'W' || printf('%010d', k.k) || '/1', 'W' || printf('%010d', k.k), '1',
                         (SELECT supplier_id FROM contracts c WHERE c.project_id = p.project_id LIMIT 1), p.budget, 'THB', '2026-12-02'
                  FROM temp._pick k JOIN projects p ON p.rowid = k.src""")
    # flags the previous build did not have: forget them from its keys, so this build raises them again
    flagged = [r[0] for r in db.execute("SELECT project_id FROM red_flags WHERE project_id IN (SELECT p.project_id "
                                        "FROM projects p WHERE p.rowid IN (%s))" % ",".join(map(str, picks[n:])))]
    db.conn.executemany("DELETE FROM agg_seen_flags WHERE project_id = ?", [(p,) for p in flagged[: n // 2]])
    db.execute("COMMIT")
    db.close()
    return {f"W{k:010d}" for k in range(n)} | set(flagged[: n // 2])


def subjects(public, builds, rng: random.Random) -> list[tuple[str, str]]:
    """What subscribers follow: subjects this build brought something on, of every kind."""
    marks = ",".join(str(b["id"]) for b in builds)
    rows = public.execute(f"SELECT * FROM build_changes WHERE build_id IN ({marks})").fetchall()
    agencies = sorted({r["buyer_id"] for r in rows if r["buyer_id"]})
    suppliers = sorted({r["supplier_id"] for r in rows if r["supplier_id"]})
    provinces = sorted({r["province"] for r in rows if r["province"]})
    flags = sorted({c for r in rows for c in ((r["codes"] or "").split() + [r["code"] or ""]) if c})
    words = ["ถนน", "ก่อสร้าง", "คอมพิวเตอร์", "ซ่อม", "วัสดุ"]
    pool = ([("agency", a) for a in agencies] + [("supplier", s) for s in suppliers]
            + [("province", p) for p in provinces] * 20 + [("flag", f) for f in flags] * 100)
    pool += [("search", store.search_key({"q": rng.choice(words), "province": rng.choice(provinces)}))
             for _ in range(len(pool) // 5)]
    return pool


def subscribe(app, conn, pool, n: int, rng: random.Random) -> None:
    with app.app_context():
        salt_stamp = now()
        with transaction(conn):
            for i in range(n):
                contact = f"reader{i}@example.org"
                sid = conn.execute(
                    "INSERT INTO watch_subscribers (channel, contact_hash, contact_encrypted, lang, salt, created_at) "
                    "VALUES ('email', ?, ?, ?, ?, ?)", [store.contact_hash("email", contact), crypto.encrypt(contact),
                                                        "en" if i % 10 == 0 else "th", secrets.token_hex(16),
                                                        salt_stamp]).lastrowid
                for kind, key in {rng.choice(pool) for _ in range(rng.randint(1, 3))}:
                    conn.execute("INSERT INTO watch_follows (subscriber_id, kind, key, label, confirmed_at, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", [sid, kind, key, f"{kind} {key}"[:60], salt_stamp,
                                                               salt_stamp])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(SOURCE), help="a built database to copy (default: the 1M demo)")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=20_000, help="new projects seeded (and half as many flags)")
    args = parser.parse_args()
    rng = random.Random(16)
    work = output("h1-watchlists.db")
    private = output("h1-watchlists-complaints.db")
    for path in (work, private):
        remove_db(path)
    seconds, _ = timed(lambda: slim_copy(args.db, work))
    print(f"copy of {args.db}'s {', '.join(TABLES)}: {seconds:.1f}s")
    db = open_db(work)
    if db.execute("SELECT count(*) FROM builds").fetchone()[0] == 0:
        seconds, _ = timed(lambda: changes.build(db))  # a database built before the changes step
        print(f"changes step, baseline: {seconds:.1f}s")
    projects = db.execute("SELECT count(*) FROM projects").fetchone()[0]
    db.close()
    changed = seed(work, args.changes, rng)
    db = open_db(work)
    seconds, _ = timed(lambda: changes.build(db, changed=changed))
    full, _ = timed(lambda: changes.build(db))  # the next build, in full: every key diffed, nothing new
    db.close()
    public = sqlite3.connect(f"file:{work}?mode=ro", uri=True)
    public.row_factory = sqlite3.Row
    build = public.execute("SELECT * FROM builds ORDER BY id DESC LIMIT 1 OFFSET 1").fetchone()
    print(f"changes step on {projects:,} projects, incremental ({len(changed):,} changed): {seconds:.1f}s "
          f"({build['new_projects']:,} new projects, {build['new_flags']:,} flags newly raised, "
          f"{build['new_contracts']:,} new contracts); a full one's diff: {full:.1f}s, finding "
          f"{sum(changes.latest(public)[c] for c in ('new_projects', 'new_flags', 'new_contracts'))} more")

    app = create_app({"TESTING": True, "DATABASE": str(work), "COMPLAINTS_DATABASE": str(private),
                      "SECRET_KEY": "bench", "PUBLIC_URL": "https://prongsai.example", "SMTP_FROM": "n@prongsai.example"})
    conn = open_complaints_db(private)
    seconds, _ = timed(lambda: subscribe(app, conn, subjects(public, [build], rng), args.subscribers, rng))
    follows = conn.execute("SELECT count(*) FROM watch_follows").fetchone()[0]
    print(f"{args.subscribers:,} subscribers following {follows:,} subjects written in {seconds:.1f}s")

    baseline = statistics.median(timed(lambda: public.execute(
        "SELECT * FROM build_changes WHERE build_id = ?", [build["id"]]).fetchall())[0] for _ in range(5))
    with app.app_context():
        match_s, due = timed(lambda: digests.work_out(public, conn, [build]))
        cpu = time.process_time()
        compose_s, size = timed(lambda: sum(len(m["text"].encode()) + len(m["html"].encode())
                                            for _k, _kind, m in digests.compose(public, conn, [build])))
        compose_cpu = time.process_time() - cpu
        cpu = time.process_time()
        total_s, queued = timed(lambda: digests.queue(public, conn, [build]))
        total_cpu = time.process_time() - cpu
    stored = conn.execute("SELECT avg(length(payload)) FROM outbox").fetchone()[0] or 0
    changed = build["new_projects"] + build["new_flags"] + build["new_contracts"]
    print(f"baseline, one indexed scan of the build's {changed:,} build_changes rows: {baseline * 1000:.0f} ms")
    print(f"matched: {len(due):,} of {args.subscribers:,} subscribers have news, in {match_s:.1f}s")
    print(f"worked out (matched and written, {size / max(1, len(due)) / 1024:.1f} KiB of text and HTML a digest): "
          f"{compose_s:.1f}s, {compose_cpu:.1f} CPU s (target <= {TARGET_SECONDS:.0f}s: {'OK' if compose_s <= TARGET_SECONDS else 'MISSED'})")
    print(f"queued (the same, each encrypted into the outbox, {stored / 1024:.1f} KiB stored, {digests.BATCH} a commit): "
          f"{queued:,} in {total_s:.1f}s, {total_cpu:.1f} CPU s, {queued / total_s:,.0f}/s "
          f"(target <= {TARGET_SECONDS:.0f}s: {'OK' if total_s <= TARGET_SECONDS else 'MISSED'})")
    print(f"ratio worked out / baseline scan: {compose_s / baseline:.0f}; queued / baseline scan: {total_s / baseline:.0f}")
    public.close()
    conn.close()
    for path in (work, private):
        remove_db(path)


if __name__ == "__main__":
    main()
