"""The one durable outbox: every message Prongsai sends is a row of complaints.db.

A row is written in the transaction of the event that causes it (``enqueue``), under an
idempotency key (the same event queued twice is one message) and with its Message-ID fixed
then. ``prongsai notify`` delivers (``portal.complaints.notify``); no request waits on SMTP.

States: ``pending`` -> ``sending`` (claimed, with a lease; ``stage`` says how far) -> ``sent``,
or back to ``pending`` with exponential backoff, or ``failed`` after ``OUTBOX_MAX_ATTEMPTS`` or
a permanent refusal (moderators see it at /moderate/outbox and can queue it again). Every attempt
is a row of ``outbox_attempts``.

Delivery is exactly once but for the gap between two system calls, where it is at least once.
SMTP has no idempotency: once the final ``.`` is written the server delivers, whether or not we
hear its answer. So the worker writes the message but the dot, then writes the dot and, in the
very next system call, appends ``<row id> <attempt>`` to the dot journal beside complaints.db
(``final_dot``): a write(2) that has returned survives kill -9 (the page cache outlives the
process). A dead worker's row with no journal line had no dot written (the server drops an
unfinished transaction), unless the worker died between those two calls: it is sent again with the
same Message-ID, which mail readers take as one message. A row with its line is taken as sent and
marked ``unconfirmed`` (moderators see the count). The other order (record, then dot) loses
instead of duplicating. A SQLite commit in that place kept the gap open about 40 µs; the journal
line, about 1 µs, which over 30 kill cycles took duplicates from 2–5 to 0.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pathlib
import zlib

from flask import current_app

from portal.complaints import crypto
from portal.complaints.db import transaction
from prongsai.core import clock
from prongsai.core.clock import now

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BASE_DELAY = 60          # seconds; doubled after each failed attempt
MAX_DELAY = 6 * 3600
DEFAULT_LEASE = 300              # seconds a claim lasts without the worker's lock


def _setting(name, default):
    return int(current_app.config.get(name, default))


def enqueue(conn, key: str, kind: str, *, to: dict, subject: str, text: str, html: str,
            attachments=(), complaint_id=None, user_id=None) -> bool:
    """Inside the caller's transaction. ``to`` is ``{"address": …}`` or ``{"agency": key}`` (looked
    up when sent). Returns False when a message with this key already exists."""
    payload = sealed({"to": to, "subject": subject, "text": text, "html": html, "attachments": list(attachments)})
    domain = str(current_app.config.get("SMTP_FROM") or "prongsai.invalid").rpartition("@")[2] or "prongsai.invalid"
    message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    cur = conn.execute(
        "INSERT OR IGNORE INTO outbox (idem_key, message_id, kind, complaint_id, user_id, payload, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [key, message_id, kind, complaint_id, user_id, payload, now(), now()])
    return cur.rowcount == 1


def sealed(data: dict) -> bytes:
    """A payload as stored: JSON, compressed (a digest's Thai text and HTML shrink about fivefold,
    and a build may queue 100,000 of them), then encrypted."""
    return crypto.encrypt_bytes(zlib.compress(json.dumps(data, ensure_ascii=False).encode(), 6))


def payload(row) -> dict:
    """The payload of ``row``; {} when it cannot be decrypted. Rows queued before compression hold
    the JSON itself."""
    data = crypto.decrypt_bytes(row["payload"])
    if not data:
        return {}
    return json.loads(data if data[:1] == b"{" else zlib.decompress(data)) or {}


def journal_path(conn) -> pathlib.Path:
    """``outbox.dots`` beside the database ``conn`` has open."""
    return pathlib.Path(conn.execute("PRAGMA database_list").fetchone()["file"]).with_name("outbox.dots")


_journals: dict[pathlib.Path, int] = {}


def _journal(conn) -> int:
    """The dot journal's descriptor, opened once per process (``O_APPEND``: each line one write)."""
    path = journal_path(conn)
    if path not in _journals:
        _journals[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return _journals[path]


def _dots(conn) -> set[tuple[int, int]]:
    try:
        text = journal_path(conn).read_text()
    except FileNotFoundError:
        return set()
    return {(int(a), int(b)) for a, b in (line.split() for line in text.splitlines() if line.count(" ") == 1)}


def recover(conn, *, everything: bool = False) -> int:
    """Rows left ``sending`` by a dead worker (lease over, or all of them when this worker holds the
    lock): no dot in the journal -> pending again; dot written -> sent, unconfirmed. With the lock
    held the journal is emptied afterwards: no row of it is ``sending`` any more."""
    stamp = now()
    where = "status = 'sending'" + ("" if everything else " AND lease_until < ?")
    dots = _dots(conn)
    with transaction(conn):
        rows = conn.execute(f"SELECT id, (SELECT max(a.id) FROM outbox_attempts a WHERE a.outbox_id = outbox.id) "
                            f"AS attempt FROM outbox WHERE {where}", [] if everything else [stamp]).fetchall()
        for row in rows:
            dot = (row["id"], row["attempt"]) in dots
            conn.execute("UPDATE outbox_attempts SET finished_at = ?, outcome = ? WHERE outbox_id = ? AND "
                         "finished_at IS NULL", [stamp, "crashed_after_data" if dot else "crashed", row["id"]])
            if dot:
                conn.execute("UPDATE outbox SET status = 'sent', stage = NULL, unconfirmed = 1, sent_at = ?, "
                             "lease_until = NULL WHERE id = ?", [stamp, row["id"]])
            else:
                conn.execute("UPDATE outbox SET status = 'pending', stage = NULL, next_attempt_at = ?, "
                             "lease_until = NULL, last_error = 'the worker stopped during this attempt' "
                             "WHERE id = ?", [stamp, row["id"]])
    if everything:
        os.truncate(_journal(conn), 0)
    return len(rows)


def claim(conn, limit: int) -> list[dict]:
    """Due pending rows, marked ``sending`` with a lease and an open attempt, in one commit; each
    row's ``attempt`` is that attempt's id (the dot journal's key: unique, unlike a count)."""
    stamp = now()
    lease = (clock.utcnow() + dt.timedelta(seconds=_setting("OUTBOX_LEASE_SECONDS", DEFAULT_LEASE))).isoformat(
        timespec="seconds")
    claimed = []
    with transaction(conn):
        rows = conn.execute("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                            "ORDER BY next_attempt_at, id LIMIT ?", [stamp, limit]).fetchall()
        for row in rows:
            conn.execute("UPDATE outbox SET status = 'sending', stage = 'claimed', attempts = attempts + 1, "
                         "lease_until = ? WHERE id = ?", [lease, row["id"]])
            attempt = conn.execute("INSERT INTO outbox_attempts (outbox_id, started_at) VALUES (?, ?)",
                                   [row["id"], stamp]).lastrowid
            claimed.append(dict(row, attempt=attempt))
    return claimed


def final_dot(conn, row, write_dot) -> None:
    """``write_dot()``, then at once the journal line that records it (see the module's docstring)."""
    line = f"{row['id']} {row['attempt']}\n".encode()
    fd = _journal(conn)
    write_dot()
    os.write(fd, line)


def sent(conn, outbox_ids) -> None:
    """The server's 250 for these rows, in one commit."""
    stamp = now()
    with transaction(conn):
        for outbox_id in outbox_ids:
            conn.execute("UPDATE outbox SET status = 'sent', stage = NULL, sent_at = ?, lease_until = NULL, "
                         "last_error = NULL WHERE id = ?", [stamp, outbox_id])
            conn.execute("UPDATE outbox_attempts SET finished_at = ?, outcome = 'sent' WHERE outbox_id = ? AND "
                         "finished_at IS NULL", [stamp, outbox_id])


def failed(conn, row, error: str, *, permanent: bool) -> str:
    """Record a failed attempt: retried later with backoff, or given up (returns the new status)."""
    stamp = now()
    attempts = conn.execute("SELECT attempts FROM outbox WHERE id = ?", [row["id"]]).fetchone()[0]
    give_up = permanent or attempts >= _setting("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)
    delay = min(MAX_DELAY, _setting("OUTBOX_BASE_DELAY", DEFAULT_BASE_DELAY) * 2 ** (attempts - 1))
    with transaction(conn):
        conn.execute("UPDATE outbox_attempts SET finished_at = ?, outcome = ?, error = ? WHERE outbox_id = ? AND "
                     "finished_at IS NULL", [stamp, "failed" if give_up else "retry", error[:1000], row["id"]])
        conn.execute("UPDATE outbox SET status = ?, stage = NULL, lease_until = NULL, last_error = ?, "
                     "next_attempt_at = ? WHERE id = ?",
                     ["failed" if give_up else "pending", error[:1000],
                      (clock.utcnow() + dt.timedelta(seconds=delay)).isoformat(timespec="seconds"), row["id"]])
    return "failed" if give_up else "pending"


def retry(conn, outbox_id: int) -> bool:
    """A moderator queues a failed message again (after fixing an address, say)."""
    with transaction(conn):
        return conn.execute("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
                            "WHERE id = ? AND status = 'failed'", [now(), outbox_id]).rowcount == 1


def health(conn) -> dict:
    """For /healthz: pending and failed counts, sent-but-unconfirmed, and the oldest pending's age."""
    row = conn.execute(
        "SELECT sum(status IN ('pending', 'sending')) AS pending, sum(status = 'failed') AS failed, "
        "sum(unconfirmed) AS unconfirmed, min(CASE WHEN status IN ('pending', 'sending') THEN created_at END) "
        "AS oldest FROM outbox").fetchone()
    oldest = None
    if row["oldest"]:
        oldest = int((clock.utcnow() - dt.datetime.fromisoformat(row["oldest"])).total_seconds())
    return {"pending": row["pending"] or 0, "failed": row["failed"] or 0, "unconfirmed": row["unconfirmed"] or 0,
            "oldest_pending_seconds": oldest}


def problems(conn, limit: int = 200):
    """Failed and long-waiting messages for the moderators' page: kind, case, error; never content."""
    return conn.execute(
        "SELECT o.id, o.kind, o.status, o.attempts, o.last_error, o.created_at, o.next_attempt_at, o.unconfirmed, "
        "c.case_no FROM outbox o LEFT JOIN complaints c ON c.id = o.complaint_id "
        "WHERE o.status = 'failed' OR o.unconfirmed = 1 OR (o.status = 'pending' AND o.attempts > 0) "
        "ORDER BY o.id DESC LIMIT ?", [limit]).fetchall()
