"""Complaint life cycle: intake, the server-enforced state machine, two-person approvals, audit.

Every function takes the complaints connection and writes inside ``BEGIN IMMEDIATE``; callers
never see a half-written case. The audit table records who, when, from → to and why — never the
complaint text, contact details or anything about the sender's connection.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import secrets
import sqlite3
from collections.abc import Mapping

from flask import has_request_context
from flask_babel import lazy_gettext as _l

from portal.complaints import crypto, intake, notices
from portal.complaints.db import transaction
from portal.complaints.evidence import store
from portal.db import get_db
from portal.i18n import current_lang
from prongsai.core.clock import ago, now

TRANSITIONS = {
    "received": {"triage", "rejected", "duplicate"},
    "triage": {"needs_info", "verified", "rejected", "duplicate"},
    "needs_info": {"triage", "rejected", "duplicate"},
    "verified": {"forwarded", "closed"},
    "rejected": {"closed"},
    "duplicate": {"closed"},
    "forwarded": {"closed"},
    "closed": set(),
}
TWO_PERSON = {"verified", "forwarded"}

STATE_LABELS = {
    "received": _l("Received"), "triage": _l("Being checked"), "needs_info": _l("Needs more information"),
    "verified": _l("Verified"), "rejected": _l("Not taken further"), "forwarded": _l("Forwarded to an agency"),
    "closed": _l("Closed"), "duplicate": _l("Joined with another report"),
}

#: The national bodies a verified case can go to; ``concern`` on the form suggests one.
_BODIES = {
    "nacc": {"name": _l("National Anti-Corruption Commission (NACC, ป.ป.ช.)"),
             "for": _l("senior officials and politicians"), "channel": "https://www.nacc.go.th / 1205"},
    "pacc": {"name": _l("Public Sector Anti-Corruption Commission (PACC, ป.ป.ท.)"),
             "for": _l("other state officials"), "channel": "https://www.pacc.go.th / 1206"},
    "sao": {"name": _l("State Audit Office (สตง.)"),
            "for": _l("misuse of state money"), "channel": "https://www.audit.go.th / 1281"},
    "damrongdhama": {"name": _l("Damrongdhama Center (ศูนย์ดำรงธรรม)"),
                     "for": _l("local grievances"), "channel": "1567"},
}


class _Recipients(Mapping):
    """The national bodies by key, and ``unit:<agency id>``, a buying agency's own complaint unit
    from the intake list. Iterating gives the national bodies; a unit is offered on the case of a
    project that agency bought (``unit_of``). A unit since dropped from the list keeps a name."""

    def __getitem__(self, key):
        if key in _BODIES:
            return _BODIES[key]
        if isinstance(key, str) and key.startswith(intake.UNIT):
            agency_id = key[len(intake.UNIT):]
            entry = intake.unit(agency_id) or {}
            return {"name": entry.get("name") or _l("The complaint unit of agency %(id)s", id=agency_id),
                    "for": _l("the buying agency's own complaint unit"),
                    "channel": entry.get("channel") or entry.get("email") or ""}
        raise KeyError(key)

    def __iter__(self):
        return iter(_BODIES)

    def __len__(self):
        return len(_BODIES)


RECIPIENTS = _Recipients()


def unit_of(project_id: str | None) -> str | None:
    """``unit:<buyer id>`` when the buyer of ``project_id`` has a complaint unit in the intake list."""
    if not project_id:
        return None
    row = get_db().execute("SELECT buyer_id FROM projects WHERE project_id = ?", [project_id]).fetchone()
    return f"{intake.UNIT}{row[0]}" if row and row[0] and intake.unit(row[0]) else None


CONCERNS = {
    "senior": (_l("A senior official or a politician"), "nacc"),
    "official": (_l("Other state officials"), "pacc"),
    "money": (_l("Misuse of state money (overpricing, poor or missing work)"), "sao"),
    "local": (_l("A local problem (the work in my area)"), "damrongdhama"),
    "unsure": (_l("I am not sure"), "sao"),
}
OUTCOMES = {
    "action_taken": _l("The agency took action"),
    "investigating": _l("The agency is investigating"),
    "no_action": _l("The agency took no action"),
    "no_answer": _l("No answer from the agency"),
    "withdrawn": _l("Withdrawn"),
    "other": _l("Other"),
}


class Refused(ValueError):
    """An action the rules do not allow; the message says which rule."""


class Replayed(Refused):
    pass


def _case_no() -> str:
    return "C" + "".join(secrets.choice(crypto.ALPHABET) for _ in range(8))


#: What each line of a case's history says, in words (the audit table keeps the short names).
ACTION_LABELS = {
    "received": _l("report received"), "transition": _l("status changed"), "proposed": _l("change proposed"),
    "withdrawn": _l("proposal withdrawn"), "contact_viewed": _l("reporter's contact shown"),
    "evidence_downloaded": _l("evidence file opened"), "redacted_text": _l("text redacted"),
    "redacted_file": _l("redacted copy of a file added"), "message_from_complainant": _l("message from the reporter"),
    "message_from_moderator": _l("message to the reporter"), "agency_answer_received": _l("the agency answered"),
    "agency_document_downloaded": _l("the agency's document opened"), "reminder_sent": _l("reminder sent to the agency"),
    "overdue": _l("the agency is overdue"), "reply_link_revoked": _l("the agency's reply link withdrawn"),
    "summary_published": _l("public summary published"), "outbox_retry": _l("message queued again"),
    "package_viewed": _l("forwarding package opened"),
}


def audit(conn, action, *, user_id=None, complaint_id=None, from_state=None, to_state=None,
          reason=None, detail=None):
    conn.execute(
        "INSERT INTO audit (at, user_id, complaint_id, action, from_state, to_state, reason, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [now(), user_id, complaint_id, action, from_state, to_state, reason, detail])


@contextlib.contextmanager
def stored_files(folder, files):
    """Write and fsync the files first (a committed row always has its file); if the rows that
    follow are not committed, the files are removed again. Yields (cleaned, stored_name, sha256)."""
    stored = []
    try:
        for cleaned in files:
            stored.append((cleaned, *store(folder, cleaned)))
        yield stored
    except BaseException:
        for _cleaned, stored_name, _sha in stored:
            (folder / stored_name).unlink(missing_ok=True)
        raise


def spend_nonce(conn, nonce: str) -> None:
    """Inside the caller's transaction: a form nonce works once; a replayed form is refused."""
    try:
        conn.execute("INSERT INTO used_nonces (nonce, used_at) VALUES (?, ?)", [nonce, now()])
    except sqlite3.IntegrityError:
        raise Replayed(_l("This form was already sent and received.")) from None


def create_complaint(conn, folder, *, nonce, project, body, concern, contact, files) -> str:
    """Store a complaint durably and return its tracking code (only after COMMIT). The same form
    sent again (same nonce, project and text: its response was lost) stores nothing more and
    gets the same code; anything else on a used nonce is refused."""
    code = crypto.tracking_code(nonce)
    try:
        _store_complaint(conn, folder, code=code, nonce=nonce, project=project, body=body, concern=concern,
                         contact=contact, files=files)
    except Replayed:
        if not _is_stored(conn, code=code, nonce=nonce, project=project, body=body):
            raise
    return code


def _store_complaint(conn, folder, *, code, nonce, project, body, concern, contact, files) -> None:
    with stored_files(folder, files) as stored:
        stamp = now()
        with transaction(conn):
            try:
                cur = conn.execute(
                    "INSERT INTO complaints (case_no, tracking_hash, form_nonce, project_id, project_title, "
                    "buyer_id, procuring_entity_id, supplier_ids, province, flags_snapshot, concern, anonymous, "
                    "contact_encrypted, lang, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_case_no(), crypto.code_hash(crypto.normalise_code(code)), crypto.nonce_hash(nonce),
                     project["project_id"], project.get("title"), project.get("buyer_id"),
                     project.get("procuring_entity_id"), json.dumps(project.get("supplier_ids", [])),
                     project.get("province"), json.dumps(project.get("flag_codes", [])), concern,
                     int(not contact), crypto.encrypt(contact), _language(), stamp, stamp])
            except sqlite3.IntegrityError as exc:
                if "form_nonce" in str(exc):
                    raise Replayed(_l("This form was already sent and the report was received. Its "
                                      "tracking code was shown then; it cannot be shown again.")) from None
                raise
            complaint_id = cur.lastrowid
            conn.execute("INSERT INTO complaint_versions (complaint_id, version, body, created_at) "
                         "VALUES (?, 1, ?, ?)", [complaint_id, body, stamp])
            for cleaned, stored_name, sha in stored:
                _insert_evidence(conn, complaint_id, cleaned, stored_name, sha, stamp)
            audit(conn, "received", complaint_id=complaint_id, to_state="received",
                  detail=f"files={len(stored)}")


def _language() -> str:
    """The language the reporter used, for the messages they may get."""
    return "en" if has_request_context() and current_lang() == "en" else "th"


def _is_stored(conn, *, code, nonce, project, body) -> bool:
    """Whether this very report is already committed under this nonce (so already durable)."""
    row = conn.execute(
        "SELECT c.tracking_hash, c.project_id, v.body FROM complaints c JOIN complaint_versions v "
        "ON v.complaint_id = c.id AND v.version = 1 WHERE c.form_nonce = ? AND c.purged_at IS NULL",
        [crypto.nonce_hash(nonce)]).fetchone()
    return row is not None and row["project_id"] == project["project_id"] and hmac.compare_digest(
        row["tracking_hash"], crypto.code_hash(crypto.normalise_code(code))) and hmac.compare_digest(
        row["body"].encode(), body.encode())


def _insert_evidence(conn, complaint_id, cleaned, stored_name, sha, stamp, *, user_id=None, redacted_from=None):
    conn.execute(
        "INSERT INTO evidence (complaint_id, stored_name, original_name, kind, mime, size, sha256, status, "
        "redacted_from, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [complaint_id, stored_name, cleaned.original_name, cleaned.kind, cleaned.mime, len(cleaned.data),
         sha, cleaned.status, redacted_from, user_id, stamp])


def add_redacted_file(conn, folder, complaint_id, cleaned, *, user_id, redacted_from):
    """A moderator's redacted copy of an evidence file: a new row; the original stays."""
    with stored_files(folder, [cleaned]) as stored, transaction(conn):
        for cleaned, stored_name, sha in stored:
            _insert_evidence(conn, complaint_id, cleaned, stored_name, sha, now(),
                             user_id=user_id, redacted_from=redacted_from)
        audit(conn, "redacted_file", user_id=user_id, complaint_id=complaint_id, detail=f"from={redacted_from}")


def complainant_message(conn, folder, complaint_id, *, body, files, nonce):
    """The sender's message and/or new evidence, all or nothing; a ``needs_info`` case goes back
    to the moderators' queue."""
    with stored_files(folder, files) as stored, transaction(conn):
        spend_nonce(conn, nonce)
        stamp = now()
        for cleaned, stored_name, sha in stored:
            _insert_evidence(conn, complaint_id, cleaned, stored_name, sha, stamp)
        if body:
            conn.execute("INSERT INTO messages (complaint_id, sender, body, created_at) VALUES (?, 'complainant', ?, ?)",
                         [complaint_id, body, stamp])
        conn.execute("UPDATE complaints SET updated_at = ? WHERE id = ?", [stamp, complaint_id])
        audit(conn, "message_from_complainant", complaint_id=complaint_id, detail=f"files={len(stored)}")
        complaint = _fresh(conn, complaint_id)
        if complaint["state"] == "needs_info":
            _apply(conn, complaint, "triage", None, "the sender answered", tell=False)


def find_by_code(conn, text: str):
    """The complaint for a tracking code, or None; malformed and unknown codes cost the same."""
    normalised = crypto.normalise_code(text or "")
    digest = crypto.code_hash(normalised or "x" * crypto.CODE_CHARS)
    row = conn.execute("SELECT * FROM complaints WHERE tracking_hash = ?", [digest]).fetchone()
    return row if normalised else None


def latest_body(conn, complaint_id) -> str:
    row = conn.execute("SELECT body FROM complaint_versions WHERE complaint_id = ? "
                       "ORDER BY version DESC LIMIT 1", [complaint_id]).fetchone()
    return row["body"] if row else ""


def conflicts_of(conn, user_id) -> dict[str, set]:
    out = {"agency": set(), "supplier": set(), "province": set()}
    for row in conn.execute("SELECT kind, value FROM conflicts WHERE user_id = ?", [user_id]):
        out[row["kind"]].add(row["value"])
    return out


def touches_conflict(complaint, conflicts) -> bool:
    agencies = {complaint["buyer_id"], complaint["procuring_entity_id"]} - {None}
    suppliers = set(json.loads(complaint["supplier_ids"] or "[]"))
    return bool(agencies & conflicts["agency"] or suppliers & conflicts["supplier"]
                or (complaint["province"] and complaint["province"] in conflicts["province"]))


def visible_cases(conn, user_id, where="1", params=()):
    conflicts = conflicts_of(conn, user_id)
    rows = conn.execute(f"SELECT * FROM complaints WHERE purged_at IS NULL AND {where} ORDER BY id", params)
    return [row for row in rows if not touches_conflict(row, conflicts)]


def case_for(conn, user_id, case_no):
    """The case if this moderator may see it (None also when it touches their conflicts)."""
    row = conn.execute("SELECT * FROM complaints WHERE case_no = ? AND purged_at IS NULL", [case_no]).fetchone()
    if row is None or touches_conflict(row, conflicts_of(conn, user_id)):
        return None
    return row


def _check(complaint, to_state):
    if to_state not in TRANSITIONS.get(complaint["state"], ()):
        raise Refused(_l("A case in state “%(a)s” cannot move to “%(b)s”.",
                         a=STATE_LABELS[complaint["state"]], b=STATE_LABELS.get(to_state, to_state)))


def _apply(conn, complaint, to_state, user_id, reason, *, duplicate_of=None, outcome=None, approved_by=None,
           tell=True):
    stamp = now()
    conn.execute(
        "UPDATE complaints SET state = ?, updated_at = ?, duplicate_of = coalesce(?, duplicate_of), "
        "outcome = coalesce(?, outcome), verified_at = CASE WHEN ? = 'verified' THEN ? ELSE verified_at END, "
        "closed_at = CASE WHEN ? IN ('closed', 'rejected', 'duplicate') THEN ? ELSE closed_at END "
        "WHERE id = ? AND state = ?",
        [to_state, stamp, duplicate_of, outcome, to_state, stamp, to_state, stamp, complaint["id"],
         complaint["state"]])
    audit(conn, "transition", user_id=user_id, complaint_id=complaint["id"], from_state=complaint["state"],
          to_state=to_state, reason=reason,
          detail=f"approved_by={approved_by}" if approved_by else None)
    if tell:
        notices.reporter_news(conn, complaint["id"])


def _fresh(conn, complaint_id):
    return conn.execute("SELECT * FROM complaints WHERE id = ?", [complaint_id]).fetchone()


def transition(conn, user_id, complaint_id, to_state, reason, *, duplicate_of_case=None, outcome=None):
    """A one-moderator transition. Verify and forward must go through :func:`propose`."""
    if not (reason or "").strip():
        raise Refused(_l("Give a reason: it is kept in the audit log."))
    with transaction(conn):
        complaint = _fresh(conn, complaint_id)
        _check(complaint, to_state)
        if to_state in TWO_PERSON:
            raise Refused(_l("Verifying and forwarding need a second moderator: propose it instead."))
        duplicate_of = None
        if to_state == "duplicate":
            target = conn.execute("SELECT id FROM complaints WHERE case_no = ?",
                                  [(duplicate_of_case or "").strip()]).fetchone()
            if target is None or target["id"] == complaint_id:
                raise Refused(_l("Name the case this one duplicates (its case number)."))
            duplicate_of = target["id"]
        if to_state == "closed" and outcome not in OUTCOMES:
            raise Refused(_l("Choose how the case ended."))
        _apply(conn, complaint, to_state, user_id, reason, duplicate_of=duplicate_of, outcome=outcome)


def propose(conn, user_id, complaint_id, to_state, reason, *, agency=None, channel=None):
    if not (reason or "").strip():
        raise Refused(_l("Give a reason: it is kept in the audit log."))
    payload = {}
    if to_state == "forwarded":
        if agency not in _BODIES and not (agency and agency.startswith(intake.UNIT)) or not (channel or "").strip():
            raise Refused(_l("Choose the agency and the channel used to forward."))
        payload = {"agency": agency, "channel": channel.strip()[:200]}
    with transaction(conn):
        complaint = _fresh(conn, complaint_id)
        if agency not in _BODIES and to_state == "forwarded" and agency != unit_of(complaint["project_id"]):
            raise Refused(_l("Only the complaint unit of the agency that bought this project can receive it."))
        _check(complaint, to_state)
        if to_state not in TWO_PERSON:
            raise Refused(_l("Only verifying and forwarding are proposed."))
        pending = conn.execute("SELECT 1 FROM proposals WHERE complaint_id = ? AND status = 'pending'",
                               [complaint_id]).fetchone()
        if pending:
            raise Refused(_l("This case already has a proposal waiting for approval."))
        conn.execute("INSERT INTO proposals (complaint_id, to_state, reason, payload, proposed_by, proposed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [complaint_id, to_state, reason, json.dumps(payload), user_id, now()])
        audit(conn, "proposed", user_id=user_id, complaint_id=complaint_id, from_state=complaint["state"],
              to_state=to_state, reason=reason)


def _pending_proposal(conn, proposal_id):
    proposal = conn.execute("SELECT * FROM proposals WHERE id = ? AND status = 'pending'", [proposal_id]).fetchone()
    if proposal is None:
        raise Refused(_l("This proposal is no longer waiting."))
    return proposal


def approve(conn, user_id, proposal_id):
    """The second moderator's approval: only now does the verify/forward take effect."""
    with transaction(conn):
        proposal = _pending_proposal(conn, proposal_id)
        if proposal["proposed_by"] == user_id:
            raise Refused(_l("A different moderator must approve what you proposed."))
        complaint = _fresh(conn, proposal["complaint_id"])
        _check(complaint, proposal["to_state"])
        stamp = now()
        conn.execute("UPDATE proposals SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ?",
                     [user_id, stamp, proposal_id])
        _apply(conn, complaint, proposal["to_state"], proposal["proposed_by"], proposal["reason"],
               approved_by=user_id)
        if proposal["to_state"] == "forwarded":
            payload = json.loads(proposal["payload"])
            cur = conn.execute("INSERT INTO forwardings (complaint_id, agency, channel, forwarded_at, proposed_by, "
                               "approved_by) VALUES (?, ?, ?, ?, ?, ?)",
                               [complaint["id"], payload["agency"], payload["channel"], stamp,
                                proposal["proposed_by"], user_id])
            forwarding = conn.execute("SELECT * FROM forwardings WHERE id = ?", [cur.lastrowid]).fetchone()
            notices.agency_package(conn, complaint, forwarding, body=latest_body(conn, complaint["id"]),
                                   files=package_files(conn, complaint["id"]),
                                   recipient=RECIPIENTS[payload["agency"]])


def package_files(conn, complaint_id):
    """The cleaned evidence an agency gets: redacted copies in place of their originals, no quarantine."""
    superseded = {r[0] for r in conn.execute("SELECT redacted_from FROM evidence WHERE complaint_id = ? AND "
                                             "redacted_from IS NOT NULL", [complaint_id])}
    return [r for r in conn.execute("SELECT * FROM evidence WHERE complaint_id = ? AND status = 'clean' "
                                    "ORDER BY id", [complaint_id]) if r["id"] not in superseded]


def withdraw(conn, user_id, proposal_id):
    with transaction(conn):
        proposal = _pending_proposal(conn, proposal_id)
        conn.execute("UPDATE proposals SET status = 'withdrawn', decided_by = ?, decided_at = ? WHERE id = ?",
                     [user_id, now(), proposal_id])
        audit(conn, "withdrawn", user_id=user_id, complaint_id=proposal["complaint_id"],
              to_state=proposal["to_state"])


def record_forwarding(conn, user_id, forwarding_id, *, reference=None, answer=None, reminder=False):
    with transaction(conn):
        row = conn.execute("SELECT * FROM forwardings WHERE id = ?", [forwarding_id]).fetchone()
        if row is None:
            raise Refused(_l("No such forwarding."))
        stamp = now()
        if reference:
            conn.execute("UPDATE forwardings SET agency_reference = ? WHERE id = ?", [reference[:200], row["id"]])
        if answer:
            conn.execute("UPDATE forwardings SET answer = ?, answered_at = ? WHERE id = ?",
                         [answer[:2000], stamp, row["id"]])
        if reminder:
            conn.execute("UPDATE forwardings SET last_reminder_at = ? WHERE id = ?", [stamp, row["id"]])
        action = "agency_answer" if answer else "reminder_sent" if reminder else "agency_reference"
        audit(conn, action, user_id=user_id, complaint_id=row["complaint_id"])


def follow_ups_due(conn, days: int, user_id):
    """Forwarded cases with no answer from the agency for ``days`` since forwarding or the last reminder."""
    cutoff = ago(dt.timedelta(days=days))
    rows = conn.execute(
        "SELECT c.*, f.id AS forwarding_id, f.agency, f.forwarded_at, f.last_reminder_at FROM forwardings f "
        "JOIN complaints c ON c.id = f.complaint_id WHERE c.state = 'forwarded' AND f.answered_at IS NULL "
        "AND coalesce(f.last_reminder_at, f.forwarded_at) <= ? AND c.purged_at IS NULL", [cutoff]).fetchall()
    conflicts = conflicts_of(conn, user_id)
    return [row for row in rows if not touches_conflict(row, conflicts)]


def moderator_message(conn, complaint_id, body, *, user_id):
    with transaction(conn):
        conn.execute("INSERT INTO messages (complaint_id, sender, user_id, body, created_at) "
                     "VALUES (?, 'moderator', ?, ?, ?)", [complaint_id, user_id, body, now()])
        conn.execute("UPDATE complaints SET updated_at = ? WHERE id = ?", [now(), complaint_id])
        audit(conn, "message_from_moderator", user_id=user_id, complaint_id=complaint_id)
        notices.reporter_news(conn, complaint_id)


def redact(conn, user_id, complaint_id, body, reason):
    """A redaction is a new version; the original (version 1) stays as it was."""
    if not (reason or "").strip():
        raise Refused(_l("Give a reason: it is kept in the audit log."))
    with transaction(conn):
        version = conn.execute("SELECT max(version) FROM complaint_versions WHERE complaint_id = ?",
                               [complaint_id]).fetchone()[0]
        conn.execute("INSERT INTO complaint_versions (complaint_id, version, body, reason, created_by, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [complaint_id, version + 1, body, reason, user_id, now()])
        audit(conn, "redacted_text", user_id=user_id, complaint_id=complaint_id, reason=reason,
              detail=f"version={version + 1}")


def publish_summary(conn, user_id, complaint_id, text) -> None:
    """The moderated public summary of a closed case, shown on /outcomes beside its project."""
    with transaction(conn):
        if _fresh(conn, complaint_id)["state"] != "closed":
            raise Refused(_l("Only a closed case has a public summary."))
        conn.execute("INSERT INTO case_summaries (complaint_id, summary, written_by, published_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (complaint_id) DO UPDATE SET summary = excluded.summary, "
                     "written_by = excluded.written_by, published_at = excluded.published_at",
                     [complaint_id, text, user_id, now()])
        audit(conn, "summary_published", user_id=user_id, complaint_id=complaint_id)


def public_summaries(conn, limit: int = 100):
    return conn.execute("SELECT c.case_no, c.project_id, c.project_title, c.outcome, c.closed_at, s.summary FROM "
                        "case_summaries s JOIN complaints c ON c.id = s.complaint_id WHERE c.state = 'closed' AND "
                        "c.purged_at IS NULL ORDER BY s.published_at DESC LIMIT ?", [limit]).fetchall()


def timeline(conn, complaint_id):
    """What the complainant sees: state changes and forwarding events, no moderator names or reasons."""
    events = [{"at": r["at"], "state": r["to_state"]} for r in conn.execute(
        "SELECT at, to_state FROM audit WHERE complaint_id = ? AND action IN ('received', 'transition') "
        "ORDER BY id", [complaint_id])]
    forwardings = conn.execute("SELECT * FROM forwardings WHERE complaint_id = ? ORDER BY id",
                               [complaint_id]).fetchall()
    return events, forwardings


def approved_flag_count(conn, project_id) -> int:
    return conn.execute("SELECT count(*) FROM flags WHERE project_id = ? AND status = 'approved'",
                        [project_id]).fetchone()[0]


def public_report_count(conn, project_id, *, minimum: int, min_age_days: int) -> int | None:
    """Verified or forwarded reports, only when at least ``minimum`` are ``min_age_days`` old."""
    cutoff = ago(dt.timedelta(days=min_age_days))
    n = conn.execute("SELECT count(*) FROM complaints WHERE project_id = ? AND verified_at IS NOT NULL "
                     "AND state IN ('verified', 'forwarded', 'closed') AND created_at <= ?",
                     [project_id, cutoff]).fetchone()[0]
    return n if n >= minimum else None


def outcomes_by_month(conn, *, minimum: int):
    """Network-wide numbers per month received: received, verified, forwarded per agency, closed per
    outcome, each report counted once per cell. A count from 1 to ``minimum`` - 1 comes back as None
    ("fewer than"): so small a group could point to a person. No published cell is a sum of others
    (there are no totals), so a hidden one cannot be worked out by subtraction."""
    months: dict[str, dict] = {}
    for row in conn.execute("SELECT substr(created_at, 1, 7) AS month, count(*) AS received, "
                            "count(verified_at) AS verified FROM complaints GROUP BY month"):
        months[row["month"]] = {"received": row["received"], "verified": row["verified"], "forwarded": {},
                                "closed": {}}
    for row in conn.execute("SELECT substr(c.created_at, 1, 7) AS month, f.agency AS key, "
                            "count(DISTINCT c.id) AS n FROM complaints c JOIN forwardings f ON f.complaint_id = c.id "
                            "GROUP BY month, key"):
        months[row["month"]]["forwarded"][row["key"]] = row["n"]
    for row in conn.execute("SELECT substr(created_at, 1, 7) AS month, coalesce(outcome, 'other') AS key, "
                            "count(*) AS n FROM complaints WHERE state = 'closed' GROUP BY month, key"):
        months[row["month"]]["closed"][row["key"]] = row["n"]

    def shown(n):
        return n if n == 0 or n >= minimum else None

    for m in months.values():
        m["received"], m["verified"] = shown(m["received"]), shown(m["verified"])
        for part in ("forwarded", "closed"):
            m[part] = {key: shown(n) for key, n in m[part].items()}
    return dict(sorted(months.items(), reverse=True))
