"""Moderators' digests: what waits for them, as one message, never a flood.

Each moderator chooses at /moderate/notifications: off, a daily digest, or "immediate" (a digest
as soon as something new happens, at most one per worker round). A digest holds counts and case
numbers only, never complaint text or contacts, and only cases outside the moderator's declared
conflicts. Volunteers have no case queue, so they get none.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.complaints import cases, crypto, outbox
from portal.complaints.db import transaction
from portal.complaints.letters import compose
from prongsai.core.clock import ago, now

MODES = {"off": _l("Off"), "daily": _l("A daily digest"), "immediate": _l("As soon as something is new")}
#: Audit actions that make an "immediate" digest due.
NEWS = ("received", "proposed", "transition", "agency_answer_received", "overdue", "message_from_complainant")
DEFAULT_STALE_DAYS = 7


def sections(conn, user_id) -> list:
    """(label, [case numbers]) of what waits for this moderator."""
    visible = {c["id"]: c["case_no"] for c in cases.visible_cases(conn, user_id, "state != 'closed'")}
    stale_cut = ago(dt.timedelta(days=int(current_app.config.get("STALE_DAYS", DEFAULT_STALE_DAYS))))

    def numbers(sql, params=()):
        return [visible[r[0]] for r in conn.execute(sql, params) if r[0] in visible]

    return [
        (_l("New cases in the queue"), numbers("SELECT id FROM complaints WHERE state = 'received'")),
        (_l("Proposals waiting for a second person"), numbers(
            "SELECT complaint_id FROM proposals WHERE status = 'pending' AND proposed_by != ?", [user_id])),
        (_l("Cases with no change for a while"), numbers(
            "SELECT id FROM complaints WHERE state IN ('received', 'triage', 'needs_info', 'verified') "
            "AND updated_at <= ?", [stale_cut])),
        (_l("Agency answers waiting for moderation"), numbers(
            "SELECT f.complaint_id FROM agency_answers a JOIN forwardings f ON f.id = a.forwarding_id "
            "WHERE a.status = 'pending'")),
        (_l("Overdue: no answer from the agency after the last reminder"), numbers(
            "SELECT complaint_id FROM forwardings WHERE overdue_at IS NOT NULL AND answered_at IS NULL")),
        (_l("Messages that could not be sent"), [
            f"#{r['id']} {r['case_no'] or ''}".strip() for r in outbox.problems(conn) if r["status"] == "failed"]),
    ]


def queue(conn) -> int:
    """Queue the digests now due; returns how many."""
    queued = 0
    prefs = conn.execute("SELECT p.* FROM notify_prefs p JOIN users u ON u.id = p.user_id WHERE p.mode != 'off' "
                         "AND p.email_encrypted IS NOT NULL AND u.disabled_at IS NULL AND u.role IN "
                         "('moderator', 'admin')").fetchall()
    for pref in prefs:
        with transaction(conn):
            latest = conn.execute(f"SELECT coalesce(max(id), 0) FROM audit WHERE action IN "
                                  f"({', '.join('?' * len(NEWS))})", NEWS).fetchone()[0]
            if pref["mode"] == "immediate":
                due, key = latest > pref["last_audit_id"], f"digest:{pref['user_id']}:a{latest}"
            else:
                due = not pref["last_digest_at"] or pref["last_digest_at"] <= ago(dt.timedelta(hours=23))
                key = f"digest:{pref['user_id']}:{now()[:10]}"
            if not due:
                continue
            found = [(label, items) for label, items in sections(conn, pref["user_id"]) if items]
            if found:
                letter = compose("digest", pref["lang"], _l("Prongsai: what waits for you"), sections=found)
                queued += outbox.enqueue(conn, key, "digest", to={"address": crypto.decrypt(pref["email_encrypted"])},
                                         user_id=pref["user_id"], **letter)
            conn.execute("UPDATE notify_prefs SET last_digest_at = ?, last_audit_id = ? WHERE user_id = ?",
                         [now(), latest, pref["user_id"]])
    return queued


def save_choice(conn, user_id, *, email, mode, lang) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO notify_prefs (user_id, email_encrypted, mode, lang) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (user_id) DO UPDATE SET email_encrypted = excluded.email_encrypted, "
                     "mode = excluded.mode, lang = excluded.lang", [user_id, crypto.encrypt(email), mode, lang])
        cases.audit(conn, "notifications_chosen", user_id=user_id, detail=mode)
