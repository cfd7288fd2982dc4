"""complaints.db: the private store for complaints, evidence, moderators and their work.

Never opened by Datasette. Durability settings follow sqlite.org: WAL with ``synchronous=FULL``
(a commit survives power loss), ``BEGIN IMMEDIATE`` for every write (no lock upgrade half-way),
``secure_delete`` so retention deletes overwrite. Evidence files live in ``evidence/`` beside the
database under server-generated names (``evidence.stored_name``), outside any served folder.

For other tools (``prongsai check``, ``prongsai backup``)::

    from portal.complaints.db import open_complaints_db
    from prongsai.core.config import evidence_dir
from prongsai.core.migrations import migrate
    conn = open_complaints_db(path)          # creates/migrates the schema; sqlite3.Row rows
    folder = evidence_dir(path)              # every evidence row has folder / stored_name
"""
from __future__ import annotations

import contextlib
import pathlib
import sqlite3
import threading

from flask import current_app, g

from prongsai.core.config import evidence_dir
from prongsai.core.migrations import migrate

STATES = ("received", "triage", "needs_info", "verified", "rejected", "forwarded", "closed", "duplicate")

DDL = f"""
CREATE TABLE IF NOT EXISTS complaints (
    id INTEGER PRIMARY KEY,
    case_no TEXT NOT NULL UNIQUE,          -- non-secret handle for staff; never the tracking code
    tracking_hash TEXT NOT NULL UNIQUE,    -- sha256 of the normalised tracking code
    form_nonce TEXT NOT NULL UNIQUE,       -- hash of the one-time form nonce: one report per form
    project_id TEXT NOT NULL,
    project_title TEXT,
    buyer_id TEXT,                         -- snapshot for conflicts of interest
    procuring_entity_id TEXT,
    supplier_ids TEXT NOT NULL DEFAULT '[]',
    province TEXT,
    flags_snapshot TEXT NOT NULL DEFAULT '[]',
    concern TEXT NOT NULL,                 -- who is involved: drives the suggested recipient
    anonymous INTEGER NOT NULL,
    contact_encrypted BLOB,                -- Fernet token; NULL when anonymous or erased
    state TEXT NOT NULL DEFAULT 'received' CHECK (state IN ({", ".join(f"'{s}'" for s in STATES)})),
    duplicate_of INTEGER REFERENCES complaints(id),
    outcome TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    verified_at TEXT,
    closed_at TEXT,
    purged_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_complaints_project ON complaints(project_id);
CREATE INDEX IF NOT EXISTS idx_complaints_state ON complaints(state);
CREATE INDEX IF NOT EXISTS idx_complaints_duplicate_of ON complaints(duplicate_of);

-- Version 1 is the complainant's original; redactions are later versions. Never updated.
CREATE TABLE IF NOT EXISTS complaint_versions (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    reason TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (complaint_id, version)
);
CREATE INDEX IF NOT EXISTS idx_versions_created_by ON complaint_versions(created_by);
CREATE TRIGGER IF NOT EXISTS complaint_versions_immutable BEFORE UPDATE ON complaint_versions
BEGIN SELECT RAISE(ABORT, 'complaint versions are immutable'); END;

CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    stored_name TEXT NOT NULL UNIQUE,      -- server-generated file name inside evidence/
    original_name TEXT,                    -- as sent, shown escaped only
    kind TEXT NOT NULL CHECK (kind IN ('image', 'pdf', 'video')),
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('clean', 'quarantine')),
    redacted_from INTEGER REFERENCES evidence(id),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_evidence_complaint ON evidence(complaint_id);
CREATE INDEX IF NOT EXISTS idx_evidence_redacted_from ON evidence(redacted_from);
CREATE INDEX IF NOT EXISTS idx_evidence_created_by ON evidence(created_by);
CREATE TRIGGER IF NOT EXISTS evidence_immutable BEFORE UPDATE OF stored_name, sha256, size ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence files are immutable'); END;

CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    sender TEXT NOT NULL CHECK (sender IN ('complainant', 'moderator')),
    user_id INTEGER REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_messages_complaint ON messages(complaint_id);
CREATE INDEX IF NOT EXISTS idx_messages_user ON messages(user_id);

-- Who did what, when and why; never complaint text, contact details or addresses.
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    complaint_id INTEGER REFERENCES complaints(id),
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    reason TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS idx_audit_user ON audit(user_id);
CREATE INDEX IF NOT EXISTS idx_audit_complaint ON audit(complaint_id);

-- Two-person rule: a verify/forward proposed by one moderator, approved by another.
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    to_state TEXT NOT NULL CHECK (to_state IN ('verified', 'forwarded')),
    reason TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{{}}',  -- forward: agency, channel
    proposed_by INTEGER NOT NULL REFERENCES users(id),
    proposed_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'withdrawn')),
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_proposals_complaint ON proposals(complaint_id);
CREATE INDEX IF NOT EXISTS idx_proposals_proposed_by ON proposals(proposed_by);
CREATE INDEX IF NOT EXISTS idx_proposals_decided_by ON proposals(decided_by);

CREATE TABLE IF NOT EXISTS forwardings (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    agency TEXT NOT NULL CHECK (agency IN ('nacc', 'pacc', 'sao', 'damrongdhama')),
    channel TEXT NOT NULL,
    forwarded_at TEXT NOT NULL,
    agency_reference TEXT,
    proposed_by INTEGER REFERENCES users(id),
    approved_by INTEGER REFERENCES users(id),
    last_reminder_at TEXT,
    answered_at TEXT,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS idx_forwardings_complaint ON forwardings(complaint_id);
CREATE INDEX IF NOT EXISTS idx_forwardings_proposed_by ON forwardings(proposed_by);
CREATE INDEX IF NOT EXISTS idx_forwardings_approved_by ON forwardings(approved_by);

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('volunteer', 'moderator', 'admin')),
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

-- Server-side sessions: the cookie holds a random token, the table its hash.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_sessions_user ON sessions(user_id);

-- Failed logins back off in memory per (account, client) (complaints.auth); version 2 kept them here.
DROP TABLE IF EXISTS login_failures;

CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('agency', 'supplier', 'province')),
    value TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    UNIQUE (user_id, kind, value)
);

CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    category TEXT NOT NULL,
    note TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_flags_project ON flags(project_id, status);
CREATE INDEX IF NOT EXISTS idx_flags_user ON flags(user_id);
CREATE INDEX IF NOT EXISTS idx_flags_decided_by ON flags(decided_by);

-- Right of reply: corrections asked by anyone named on a page.
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY,
    form_nonce TEXT NOT NULL UNIQUE,
    page TEXT NOT NULL,
    requester TEXT NOT NULL,
    contact_encrypted BLOB,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'accepted', 'rejected')),
    public_summary TEXT,
    created_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_corrections_state ON corrections(state);
CREATE INDEX IF NOT EXISTS idx_corrections_decided_by ON corrections(decided_by);

-- One-time nonces of forms that add to an existing record (messages, flags).
CREATE TABLE IF NOT EXISTS used_nonces (
    nonce TEXT PRIMARY KEY,
    used_at TEXT NOT NULL
);
"""

#: The citizen network loop: the outbox and its attempts, agency reply links and answers, reminders,
#: moderators' notification choices, public summaries of resolved cases, the reporter's language.
LOOP = """
ALTER TABLE complaints ADD COLUMN lang TEXT NOT NULL DEFAULT 'th';
ALTER TABLE forwardings ADD COLUMN overdue_at TEXT;

-- Every message Prongsai sends, written in the transaction of the event that causes it.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,         -- one message per event: a second enqueue is a no-op
    message_id TEXT NOT NULL UNIQUE,       -- the e-mail's Message-ID, fixed before the first attempt
    kind TEXT NOT NULL,
    complaint_id INTEGER REFERENCES complaints(id),
    user_id INTEGER REFERENCES users(id),
    payload BLOB NOT NULL,                 -- Fernet: recipient, subject, texts, attachments
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    stage TEXT CHECK (stage IN ('claimed', 'ending')),  -- 'claimed' while a worker holds it
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    unconfirmed INTEGER NOT NULL DEFAULT 0,  -- sent, but the worker died before the server's answer
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX idx_outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX idx_outbox_complaint ON outbox(complaint_id);
CREATE INDEX idx_outbox_user ON outbox(user_id);

CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT CHECK (outcome IN ('sent', 'retry', 'failed', 'crashed', 'crashed_after_data')),
    error TEXT
);
CREATE INDEX idx_attempts_outbox ON outbox_attempts(outbox_id);

-- One reply link per forwarding; the token is an HMAC of the salt under the secret key, stored hashed.
CREATE TABLE agency_links (
    id INTEGER PRIMARY KEY,
    forwarding_id INTEGER NOT NULL UNIQUE REFERENCES forwardings(id),
    salt TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    closed_at TEXT                         -- set by the answer that states the outcome
);

CREATE TABLE agency_answers (
    id INTEGER PRIMARY KEY,
    forwarding_id INTEGER NOT NULL REFERENCES forwardings(id),
    form_nonce TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('acknowledge', 'need_info', 'outcome')),
    outcome TEXT,
    body TEXT NOT NULL,
    reference TEXT,
    doc_stored_name TEXT UNIQUE,           -- a cleaned document inside evidence/
    doc_original_name TEXT,
    doc_mime TEXT,
    doc_size INTEGER,
    doc_sha256 TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'rejected')),
    public_text TEXT,                      -- what the reporter and the public may read, by a moderator
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_answers_forwarding ON agency_answers(forwarding_id);
CREATE INDEX idx_answers_decided_by ON agency_answers(decided_by);

CREATE TABLE reminders (
    forwarding_id INTEGER NOT NULL REFERENCES forwardings(id),
    number INTEGER NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (forwarding_id, number)
);

CREATE TABLE notify_prefs (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    email_encrypted BLOB,
    mode TEXT NOT NULL DEFAULT 'daily' CHECK (mode IN ('off', 'daily', 'immediate')),
    lang TEXT NOT NULL DEFAULT 'th' CHECK (lang IN ('th', 'en')),
    last_digest_at TEXT,
    last_audit_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE case_summaries (
    complaint_id INTEGER PRIMARY KEY REFERENCES complaints(id),
    summary TEXT NOT NULL,
    written_by INTEGER REFERENCES users(id),
    published_at TEXT NOT NULL
);
CREATE INDEX idx_summaries_written_by ON case_summaries(written_by);
"""

#: version -> DDL script, applied once each (prongsai.core.migrations). Version 3 is the whole
#: schema, written idempotently, so databases of versions 1 and 2 come up to it; append new versions.
MIGRATIONS = {3: DDL, 4: LOOP, 5: """
-- The final dot of this outbox row was written (portal.complaints.outbox): one small row, so the
-- commit that records it right after the dot writes one page.
CREATE TABLE outbox_dots (outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE);
""", 6: """
-- Watchlists (portal/watch): who follows what. The contact (an e-mail address, a LINE user id) is
-- Fernet-encrypted like reporters' contacts, found again by a keyed hash; never in procurement.db.
CREATE TABLE watch_subscribers (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'line')),
    contact_hash TEXT NOT NULL,            -- HMAC-SHA256 of the normalised contact (portal.watch.store)
    contact_encrypted BLOB NOT NULL,
    lang TEXT NOT NULL DEFAULT 'th' CHECK (lang IN ('th', 'en')),
    salt TEXT NOT NULL,                    -- unsubscribe links are HMACs of it under the secret key
    created_at TEXT NOT NULL,
    UNIQUE (channel, contact_hash)
);

CREATE TABLE watch_follows (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES watch_subscribers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('agency', 'supplier', 'province', 'flag', 'search')),
    key TEXT NOT NULL,                     -- agencies.id, suppliers.id, a province, a flag code, a search's query
    label TEXT NOT NULL,
    confirm_hash TEXT UNIQUE,              -- sha256 of the e-mailed confirmation token; NULL once confirmed
    confirm_sent_at TEXT,
    confirmed_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (subscriber_id, kind, key)
);
CREATE INDEX idx_watch_follows_subject ON watch_follows(kind, key);

-- Builds of procurement.db whose change set has been turned into digests.
CREATE TABLE watch_builds (
    build_key TEXT PRIMARY KEY,
    digested_at TEXT NOT NULL,
    digests INTEGER NOT NULL
);
""", 7: """
-- LINE (portal/line): webhook events seen (a replay is refused), events waiting to be handled
-- (encrypted: they name the LINE user), and the report being written in a chat, whose user is
-- known only by a keyed hash; its photos are kept here already cleaned until it is sent.
CREATE TABLE line_events_seen (
    event_id TEXT PRIMARY KEY,             -- LINE's webhookEventId
    event_at TEXT NOT NULL                 -- the event's time: older ones are refused anyway, then pruned
);
CREATE INDEX idx_line_events_seen_at ON line_events_seen(event_at);

CREATE TABLE line_inbox (
    id INTEGER PRIMARY KEY,
    event BLOB NOT NULL,                   -- Fernet: the event as LINE sent it; deleted once handled
    received_at TEXT NOT NULL,
    lease_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE line_chats (
    user_hash TEXT PRIMARY KEY,            -- HMAC-SHA256 of the LINE user id under the secret key
    project_id TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    nonce TEXT NOT NULL,                   -- the report's one-time nonce: a retried send gets the same code
    updated_at TEXT NOT NULL
);

CREATE TABLE line_draft_files (
    id INTEGER PRIMARY KEY,
    user_hash TEXT NOT NULL REFERENCES line_chats(user_hash) ON DELETE CASCADE,
    data BLOB NOT NULL,                    -- already cleaned (portal.complaints.evidence)
    kind TEXT NOT NULL,
    mime TEXT NOT NULL,
    ext TEXT NOT NULL,
    status TEXT NOT NULL,
    original_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_line_draft_files_user ON line_draft_files(user_hash);
""", 8: """
-- A case can go to the buying agency's own complaint unit (``unit:<agencies.id>``, from the intake
-- list), so the receiving agency is no longer one of four fixed keys. SQLite cannot change a CHECK
-- in place: the table is rebuilt, its rows and ids kept (reminders, reply links and answers point
-- at them; prongsai.core.migrations checks that they still do before the commit).
CREATE TABLE forwardings_v8 (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    agency TEXT NOT NULL CHECK (agency IN ('nacc', 'pacc', 'sao', 'damrongdhama') OR agency LIKE 'unit:_%'),
    channel TEXT NOT NULL,
    forwarded_at TEXT NOT NULL,
    agency_reference TEXT,
    proposed_by INTEGER REFERENCES users(id),
    approved_by INTEGER REFERENCES users(id),
    last_reminder_at TEXT,
    answered_at TEXT,
    answer TEXT,
    overdue_at TEXT
);
INSERT INTO forwardings_v8 (id, complaint_id, agency, channel, forwarded_at, agency_reference, proposed_by, approved_by,
                            last_reminder_at, answered_at, answer, overdue_at)
SELECT id, complaint_id, agency, channel, forwarded_at, agency_reference, proposed_by, approved_by,
       last_reminder_at, answered_at, answer, overdue_at FROM forwardings;
DROP TABLE forwardings;
ALTER TABLE forwardings_v8 RENAME TO forwardings;
CREATE INDEX idx_forwardings_complaint ON forwardings(complaint_id);
CREATE INDEX idx_forwardings_proposed_by ON forwardings(proposed_by);
CREATE INDEX idx_forwardings_approved_by ON forwardings(approved_by);

-- The dots of outbox rows are recorded in the journal file outbox.dots (portal.complaints.outbox).
DROP TABLE outbox_dots;
""", 9: """
-- The LINE user's keyed hash beside each waiting event, so that every process handles one user's
-- events in the order they came (portal.line.chat takes only a user's oldest).
ALTER TABLE line_inbox ADD COLUMN user_hash TEXT;
CREATE INDEX idx_line_inbox_user ON line_inbox(user_hash, id);
"""}


def open_complaints_db(path) -> sqlite3.Connection:
    """Open (creating and migrating) complaints.db with the durability settings; autocommit mode."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    evidence_dir(path).mkdir(mode=0o700, exist_ok=True)
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    migrate(conn, MIGRATIONS)
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_cdb() -> sqlite3.Connection:
    """The complaints database for this request."""
    if "cdb" not in g:
        g.cdb = open_complaints_db(current_app.config["COMPLAINTS_DATABASE"])
    return g.cdb


_readers = threading.local()


def read_cdb() -> sqlite3.Connection:
    """This thread's read-only connection to the complaints database, kept across requests, for
    the public counts every project page shows: opening the database (and checking its
    migrations) costs about a millisecond, the counts microseconds. Opened again when the file is
    another (a restore puts a new one in place); writes always go through ``get_cdb``."""
    path = pathlib.Path(current_app.config["COMPLAINTS_DATABASE"])
    kept = getattr(_readers, "kept", None)
    if kept is None or kept[0] != _identity(path):
        if kept is not None:
            kept[1].close()
        conn = open_complaints_db(path)  # creates the file when it is missing
        conn.execute("PRAGMA query_only = ON")
        kept = _readers.kept = (_identity(path), conn)
    return kept[1]


def _identity(path: pathlib.Path) -> tuple[str, int] | None:
    try:
        return str(path), path.stat().st_ino
    except FileNotFoundError:
        return None


def close_cdb(exc=None) -> None:
    conn = g.pop("cdb", None)
    if conn is not None:
        conn.close()


