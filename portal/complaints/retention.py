"""Retention schedule for complaints.db, enforced only by ``prongsai retention`` (audited).

Thailand's PDPA asks us to keep personal data no longer than needed. The schedule, in days:

=====================================  ======  ===========================================================
record                                 days    what happens
=====================================  ======  ===========================================================
contact details of a case              90      erased 90 days after the case ends (closed/rejected/dup.)
rejected or duplicate case content     365     text versions, messages, evidence files purged; a content-free
                                               row stays so monthly outcome counts do not change
closed case content (verified or not)  1825    purged 5 years after closing (agencies may reopen cases)
right-of-reply contact details         90      erased 90 days after the decision
rejected right-of-reply requests       365     deleted; accepted ones stay in the public log
rejected volunteer flags               365     deleted
ended sessions, login failures         30 / 1  deleted
audit log                              1825    deleted after 5 years
stray evidence files (no row)          1       deleted (left by a crash between file and commit)
sent outbox messages                   30      deleted with their attempts (they hold packages and addresses);
                                               given-up ones stay in sight until retried or the case is purged
agency answers of a purged case        —       purged with the case content (text, document)
spent form nonces                      1       deleted (forms expire after 6 hours anyway)
=====================================  ======  ===========================================================
"""
from __future__ import annotations

import datetime as dt
import time

from prongsai.core.clock import now
from prongsai.core.config import evidence_dir

SCHEDULE = {
    "contact_after_end": 90,
    "rejected_content": 365,
    "closed_content": 1825,
    "correction_contact": 90,
    "rejected_corrections": 365,
    "rejected_flags": 365,
    "sessions": 30,
    "audit": 1825,
    "stray_files": 1,
    "nonces": 1,
    "outbox": 30,
}


def _before(days: int, today: dt.datetime | None) -> str:
    base = today or dt.datetime.now(dt.timezone.utc)
    return (base - dt.timedelta(days=days)).replace(microsecond=0).isoformat()


def run(conn, db_path, *, today: dt.datetime | None = None, dry_run: bool = False) -> dict:
    """Apply the schedule; returns counts per rule. One transaction; files unlinked after COMMIT."""
    s = {k: _before(v, today) for k, v in SCHEDULE.items()}
    folder = evidence_dir(db_path)
    counts, doomed_files = {}, []
    conn.execute("BEGIN IMMEDIATE")
    try:
        counts["contact_erased"] = conn.execute(
            "UPDATE complaints SET contact_encrypted = NULL WHERE contact_encrypted IS NOT NULL "
            "AND closed_at IS NOT NULL AND closed_at <= ?", [s["contact_after_end"]]).rowcount
        purge_ids = [r[0] for r in conn.execute(
            "SELECT id FROM complaints WHERE purged_at IS NULL AND closed_at IS NOT NULL AND ("
            "(state IN ('rejected', 'duplicate') AND closed_at <= ?) OR closed_at <= ?)",
            [s["rejected_content"], s["closed_content"]])]
        for cid in purge_ids:
            doomed_files += [r[0] for r in conn.execute("SELECT stored_name FROM evidence WHERE complaint_id = ?",
                                                        [cid])]
            conn.execute("UPDATE evidence SET redacted_from = NULL WHERE complaint_id = ?", [cid])
            doomed_files += [r[0] for r in conn.execute(
                "SELECT a.doc_stored_name FROM agency_answers a JOIN forwardings f ON f.id = a.forwarding_id "
                "WHERE f.complaint_id = ? AND a.doc_stored_name IS NOT NULL", [cid])]
            conn.execute("UPDATE agency_answers SET body = '', public_text = NULL, reference = NULL, "
                         "doc_stored_name = NULL, doc_original_name = NULL WHERE forwarding_id IN "
                         "(SELECT id FROM forwardings WHERE complaint_id = ?)", [cid])
            for table in ("evidence", "messages", "complaint_versions", "proposals"):
                conn.execute(f"DELETE FROM {table} WHERE complaint_id = ?", [cid])  # noqa: S608 fixed names
            conn.execute("DELETE FROM outbox WHERE complaint_id = ? AND status IN ('sent', 'failed')", [cid])
            conn.execute("DELETE FROM case_summaries WHERE complaint_id = ?", [cid])
            conn.execute("UPDATE complaints SET contact_encrypted = NULL, purged_at = ? WHERE id = ?", [now(), cid])
        counts["cases_purged"] = len(purge_ids)
        counts["correction_contact_erased"] = conn.execute(
            "UPDATE corrections SET contact_encrypted = NULL WHERE contact_encrypted IS NOT NULL "
            "AND decided_at <= ?", [s["correction_contact"]]).rowcount
        counts["corrections_deleted"] = conn.execute(
            "DELETE FROM corrections WHERE state = 'rejected' AND decided_at <= ?", [s["rejected_corrections"]]).rowcount
        counts["flags_deleted"] = conn.execute(
            "DELETE FROM flags WHERE status = 'rejected' AND decided_at <= ?", [s["rejected_flags"]]).rowcount
        counts["sessions_deleted"] = conn.execute(
            "DELETE FROM sessions WHERE last_seen <= ?", [s["sessions"]]).rowcount
        counts["nonces_deleted"] = conn.execute("DELETE FROM used_nonces WHERE used_at <= ?", [s["nonces"]]).rowcount
        counts["audit_deleted"] = conn.execute("DELETE FROM audit WHERE at <= ?", [s["audit"]]).rowcount
        counts["outbox_deleted"] = conn.execute(
            "DELETE FROM outbox WHERE status = 'sent' AND sent_at <= ?",
            [s["outbox"]]).rowcount
        known = {r[0] for r in conn.execute("SELECT stored_name FROM evidence UNION "
                                            "SELECT doc_stored_name FROM agency_answers WHERE doc_stored_name NOT NULL")}
        cutoff = time.time() - SCHEDULE["stray_files"] * 86400
        strays = [p for p in folder.iterdir() if p.is_file() and p.name not in known and p.stat().st_mtime < cutoff]
        counts["stray_files_deleted"] = len(strays)
        counts["evidence_files_deleted"] = len(doomed_files)
        conn.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'retention', ?)",
                     [now(), ", ".join(f"{k}={v}" for k, v in counts.items())])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if dry_run:
        conn.execute("ROLLBACK")
        return counts
    conn.execute("COMMIT")
    for name in doomed_files:
        (folder / name).unlink(missing_ok=True)
    for path in strays:
        path.unlink(missing_ok=True)
    return counts
