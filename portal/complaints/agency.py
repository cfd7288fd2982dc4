"""The receiving agency's side: answers through the reply link, their moderation, reminders
(ติดตามเร่งรัด) and the public responsiveness board.

An answer is stored at once and stops the reminders, but nothing of it is public (not even on
the board) until a moderator publishes a text for it; the reporter then sees that text on
/track. The agency's document stays with the moderators (it may name people).
Reminders go ``REMINDER_DAYS`` (30, 60, 90) after forwarding while no answer came; at
``OVERDUE_DAYS`` (120) the case is overdue and the moderators' digests say so.
"""
from __future__ import annotations

import datetime as dt
import statistics

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.complaints import cases, intake, links, notices
from portal.complaints.db import transaction
from prongsai.core import clock
from prongsai.core.clock import now

KINDS = {
    "acknowledge": _l("We received the report"),
    "need_info": _l("We need more information"),
    "outcome": _l("The outcome"),
}
AGENCY_OUTCOMES = ("action_taken", "investigating", "no_action", "other")
DEFAULT_REMINDER_DAYS = (30, 60, 90)
DEFAULT_OVERDUE_DAYS = 120


class LinkRefused(cases.Refused):
    """A reply link that cannot be used (unknown, expired, revoked or closed); status for the page."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def open_link(conn, token: str):
    """(link, forwarding, complaint) for a usable link; LinkRefused saying why not."""
    link = links.find(conn, token)
    if link is None:
        raise LinkRefused(_l("This reply link is not valid. Please use the link in the e-mail from Prongsai."), 404)
    if link["revoked_at"]:
        raise LinkRefused(_l("This reply link was withdrawn by the moderators. Please ask them for a new one."), 410)
    if link["closed_at"]:
        raise LinkRefused(_l("The outcome of this case was already given through this link, so it no longer "
                             "takes answers. Please write to the moderators if something changed."), 410)
    if link["expires_at"] < now():
        raise LinkRefused(_l("This reply link expired on %(date)s. Please ask the moderators for a new one.",
                             date=link["expires_at"][:10]), 410)
    forwarding = conn.execute("SELECT * FROM forwardings WHERE id = ?", [link["forwarding_id"]]).fetchone()
    complaint = conn.execute("SELECT * FROM complaints WHERE id = ?", [forwarding["complaint_id"]]).fetchone()
    if complaint["purged_at"]:
        raise LinkRefused(_l("This case is no longer kept by Prongsai."), 410)
    return link, forwarding, complaint


def receive(conn, folder, token: str, *, nonce, kind, outcome, body, reference, document) -> None:
    """Store an answer (and its cleaned document) all or nothing; an outcome closes the link."""
    if kind not in KINDS:
        raise cases.Refused(_l("Choose what your answer is."))
    if kind == "outcome" and outcome not in AGENCY_OUTCOMES:
        raise cases.Refused(_l("Choose the outcome."))
    with cases.stored_files(folder, [document] if document else []) as stored, transaction(conn):
        link, forwarding, complaint = open_link(conn, token)
        cases.spend_nonce(conn, nonce)
        doc = stored[0] if stored else None
        stamp = now()
        conn.execute(
            "INSERT INTO agency_answers (forwarding_id, form_nonce, kind, outcome, body, reference, doc_stored_name, "
            "doc_original_name, doc_mime, doc_size, doc_sha256, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [forwarding["id"], nonce, kind, outcome if kind == "outcome" else None, body, reference or None,
             doc and doc[1], doc and doc[0].original_name, doc and doc[0].mime, doc and len(doc[0].data),
             doc and doc[2], stamp])
        conn.execute("UPDATE forwardings SET answered_at = coalesce(answered_at, ?) WHERE id = ?",
                     [stamp, forwarding["id"]])
        if kind == "outcome":
            conn.execute("UPDATE agency_links SET closed_at = ? WHERE id = ?", [stamp, link["id"]])
        cases.audit(conn, "agency_answer_received", complaint_id=complaint["id"], detail=f"kind={kind}")


def moderate_answer(conn, user_id, answer_id, decision, public_text) -> None:
    if decision not in ("published", "rejected"):
        raise cases.Refused(_l("Choose publish or reject."))
    if decision == "published" and not (public_text or "").strip():
        raise cases.Refused(_l("Write the text the reporter and the public may read."))
    with transaction(conn):
        answer = conn.execute("SELECT a.*, f.complaint_id FROM agency_answers a JOIN forwardings f ON "
                              "f.id = a.forwarding_id WHERE a.id = ? AND a.status = 'pending'", [answer_id]).fetchone()
        if answer is None:
            raise cases.Refused(_l("This answer was already decided."))
        conn.execute("UPDATE agency_answers SET status = ?, public_text = ?, decided_by = ?, decided_at = ? "
                     "WHERE id = ?", [decision, public_text if decision == "published" else None, user_id, now(),
                                      answer_id])
        cases.audit(conn, f"agency_answer_{decision}", user_id=user_id, complaint_id=answer["complaint_id"])
        if decision == "published":
            notices.reporter_news(conn, answer["complaint_id"])


def published_answers(conn, complaint_id):
    return conn.execute("SELECT a.kind, a.outcome, a.public_text, a.created_at, f.agency FROM agency_answers a "
                        "JOIN forwardings f ON f.id = a.forwarding_id WHERE f.complaint_id = ? AND "
                        "a.status = 'published' ORDER BY a.id", [complaint_id]).fetchall()


def reminder_days() -> list[int]:
    """``PRONGSAI_REMINDER_DAYS``: ``[30, 60, 90]`` or ``30,60,90``."""
    value = current_app.config.get("REMINDER_DAYS", DEFAULT_REMINDER_DAYS)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return sorted(int(v) for v in value)


def reminders_due(conn) -> int:
    """Queue each due reminder (one per forwarding per round) and mark cases overdue; returns how many."""
    days = reminder_days()
    overdue_days = int(current_app.config.get("OVERDUE_DAYS", DEFAULT_OVERDUE_DAYS))
    done = 0
    rows = conn.execute(
        "SELECT f.*, (SELECT count(*) FROM reminders r WHERE r.forwarding_id = f.id) AS reminded FROM forwardings f "
        "JOIN complaints c ON c.id = f.complaint_id WHERE c.state = 'forwarded' AND c.purged_at IS NULL AND "
        "f.answered_at IS NULL AND f.overdue_at IS NULL").fetchall()
    for f in rows:
        age = (clock.utcnow() - dt.datetime.fromisoformat(f["forwarded_at"])).days
        with transaction(conn):
            if conn.execute("SELECT answered_at FROM forwardings WHERE id = ?", [f["id"]]).fetchone()[0]:
                continue  # answered since the list was read
            complaint = conn.execute("SELECT * FROM complaints WHERE id = ?", [f["complaint_id"]]).fetchone()
            if f["reminded"] < len(days) and age >= days[f["reminded"]]:
                number = f["reminded"] + 1
                conn.execute("INSERT INTO reminders (forwarding_id, number, sent_at) VALUES (?, ?, ?)",
                             [f["id"], number, now()])
                conn.execute("UPDATE forwardings SET last_reminder_at = ? WHERE id = ?", [now(), f["id"]])
                notices.agency_reminder(conn, complaint, f, number, len(days), cases.RECIPIENTS[f["agency"]])
                cases.audit(conn, "reminder_sent", complaint_id=complaint["id"], detail=f"number={number}")
                notices.reporter_news(conn, complaint["id"])
                done += 1
            elif f["reminded"] >= len(days) and age >= overdue_days:
                conn.execute("UPDATE forwardings SET overdue_at = ? WHERE id = ?", [now(), f["id"]])
                cases.audit(conn, "overdue", complaint_id=complaint["id"])
                notices.reporter_news(conn, complaint["id"])
                done += 1
    return done


def reminders_of(conn, complaint_id):
    return conn.execute("SELECT r.number, r.sent_at FROM reminders r JOIN forwardings f ON f.id = r.forwarding_id "
                        "WHERE f.complaint_id = ? ORDER BY r.sent_at", [complaint_id]).fetchall()


def board(conn, *, minimum: int) -> dict:
    """Per agency: cases forwarded, answered (a published answer), median days to the first
    answer, overdue. An agency with fewer than ``minimum`` forwarded cases shows only that."""
    out = {}
    units = [r[0] for r in conn.execute("SELECT DISTINCT agency FROM forwardings WHERE agency LIKE ? ORDER BY agency",
                                         [intake.UNIT + "%"])]
    for key in [*cases.RECIPIENTS, *units]:
        rows = conn.execute(
            "SELECT f.forwarded_at, f.overdue_at, (SELECT min(a.created_at) FROM agency_answers a WHERE "
            "a.forwarding_id = f.id AND a.status = 'published') AS first_answer FROM forwardings f "
            "WHERE f.agency = ?", [key]).fetchall()
        if len(rows) < minimum:
            out[key] = {"forwarded": len(rows), "shown": False}
            continue
        waits = [(dt.datetime.fromisoformat(r["first_answer"]) - dt.datetime.fromisoformat(r["forwarded_at"])).days
                 for r in rows if r["first_answer"]]
        out[key] = {"forwarded": len(rows), "shown": True, "answered": len(waits),
                    "median_days": statistics.median(waits) if waits else None,
                    "overdue": sum(1 for r in rows if r["overdue_at"] and not r["first_answer"])}
    return out
