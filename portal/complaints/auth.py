"""Moderator and volunteer accounts: argon2id passwords, login back-off, revocable sessions.

The session cookie carries only a random token; ``sessions`` holds its hash, so logging out,
``prongsai users revoke`` or disabling an account ends the session on the next request.
Back-off: after ``LOGIN_FREE_FAILURES`` failures for one account from one client, that pair waits
``LOGIN_FIRST_WAIT`` seconds, doubling with each further failure up to ``LOGIN_MAX_WAIT``. It is
per (account, client), in memory (``portal.ratelimit``): a guesser cannot lock the owner out, and
an unknown account name backs off the same way, so the answer never tells which accounts exist.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, g, redirect, request, session, url_for

from portal.complaints.db import get_cdb, transaction
from prongsai.core.clock import ago, now

ROLES = ("volunteer", "moderator", "admin")
MIN_PASSWORD, MAX_PASSWORD = 15, 128
LOGIN_FREE_FAILURES = 3
LOGIN_FIRST_WAIT = 2  # seconds
LOGIN_MAX_WAIT = 15 * 60
SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_ABSOLUTE = dt.timedelta(hours=12)

_hasher = PasswordHasher()
_test_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


@functools.cache
def _dummy_hash(h: PasswordHasher) -> str:
    """A hash to verify against for unknown accounts, so their answer costs the same time."""
    return h.hash("not-a-password-but-the-same-cost")


def hasher() -> PasswordHasher:
    try:
        return _test_hasher if current_app.config.get("TESTING") else _hasher
    except RuntimeError:  # outside an app context (CLI without app)
        return _hasher


def check_password_policy(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"password too short: at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"password too long: at most {MAX_PASSWORD} characters"
    return None


def create_user(conn, username: str, password: str, role: str) -> int:
    with transaction(conn):
        cur = conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                           [username, hasher().hash(password), role, now()])
        conn.execute("INSERT INTO audit (at, user_id, action, detail) VALUES (?, ?, 'user_added', ?)",
                     [now(), cur.lastrowid, f"role={role}"])
    return cur.lastrowid


def _ago(delta) -> str:
    return ago(delta)


def authenticate(conn, username: str, password: str, client: str):
    """(user, 0) on success; (None, 0) for a wrong name or password; (None, seconds) while this
    account and client must wait after earlier failures (then the password is not even checked)."""
    limiter = current_app.extensions["rate_limiter"]
    username = username[:100]
    wait = limiter.backoff(username, client)
    if wait:
        return None, wait
    user = conn.execute("SELECT * FROM users WHERE username = ? AND disabled_at IS NULL", [username]).fetchone()
    try:
        if user is None or len(password) > MAX_PASSWORD:  # fails, at the cost of a real check
            hasher().verify(_dummy_hash(hasher()), password[:MAX_PASSWORD] + "x")
        hasher().verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        limiter.failed(username, client, free=LOGIN_FREE_FAILURES, first=LOGIN_FIRST_WAIT, cap=LOGIN_MAX_WAIT)
        if user is not None:
            with transaction(conn):
                conn.execute("INSERT INTO audit (at, user_id, action) VALUES (?, ?, 'login_failed')",
                             [now(), user["id"]])
        return None, 0
    limiter.succeeded(username, client)
    if hasher().check_needs_rehash(user["password_hash"]):
        with transaction(conn):
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hasher().hash(password), user["id"]])
    return user, 0


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn, user) -> None:
    token = secrets.token_urlsafe(32)
    with transaction(conn):
        conn.execute("INSERT INTO sessions (token_hash, user_id, created_at, last_seen) VALUES (?, ?, ?, ?)",
                     [_token_hash(token), user["id"], now(), now()])
        conn.execute("INSERT INTO audit (at, user_id, action) VALUES (?, ?, 'login')", [now(), user["id"]])
    session.clear()  # a fresh session on login (no fixation)
    session["sid"] = token


def end_session(conn) -> None:
    token = session.pop("sid", None)
    if token:
        with transaction(conn):
            conn.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ?", [now(), _token_hash(token)])
    session.clear()


def revoke_all(conn, user_id) -> int:
    with transaction(conn):
        n = conn.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                         [now(), user_id]).rowcount
        conn.execute("INSERT INTO audit (at, user_id, action, detail) VALUES (?, ?, 'sessions_revoked', ?)",
                     [now(), user_id, f"count={n}"])
    return n


def load_user():
    """Before each request: the signed-in account, if its session is still live."""
    g.user = None
    token = session.get("sid")
    if not token:
        return
    conn = get_cdb()
    row = conn.execute(
        "SELECT u.*, s.created_at AS session_created, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND s.revoked_at IS NULL AND u.disabled_at IS NULL",
        [_token_hash(token)]).fetchone()
    if row is None or row["last_seen"] < _ago(SESSION_IDLE) or row["session_created"] < _ago(SESSION_ABSOLUTE):
        session.pop("sid", None)
        return
    if row["last_seen"] < _ago(dt.timedelta(minutes=1)):
        with transaction(conn):
            conn.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", [now(), _token_hash(token)])
    g.user = row


def require(*roles):
    """View decorator: signed in with one of ``roles`` (admin passes every moderator check)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("user") is None:
                return redirect(url_for("moderate.login", next=request.path))
            allowed = set(roles) | ({"admin"} if "moderator" in roles else set())
            if g.user["role"] not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def landing(user) -> str:
    """The page a signed-in person starts from: the queue for moderators and admins, the volunteer's
    own page for volunteers (the queue would only refuse them)."""
    return url_for("moderate.queue") if user["role"] in ("moderator", "admin") else url_for("moderate.volunteer")


def safe_next(target: str | None, default: str) -> str:
    """Only a relative path on this site: ``/x``, never ``//host``, ``/\\host`` or a scheme."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target \
            or any(ord(c) < 32 for c in target):
        return default
    return target
