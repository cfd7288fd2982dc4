"""Agency reply links: no account, one unguessable link per forwarding.

The token is an HMAC of a random salt under the server's secret key (so a reminder can carry the
same link again without the token being stored); only its SHA-256 is stored for the look-up. A
link answers several times (acknowledge, ask for information) until an answer states the outcome,
it expires (``REPLY_LINK_DAYS`` after forwarding) or a moderator revokes it.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app

from prongsai.core import clock
from prongsai.core.clock import now

DEFAULT_DAYS = 365


def _token(salt: str) -> str:
    key = current_app.secret_key
    mac = hmac.new(key if isinstance(key, bytes) else key.encode(), b"prongsai-agency-reply:" + salt.encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(b"prongsai-agency-reply:" + token.encode()).hexdigest()


def create(conn, forwarding_id: int) -> str:
    """Inside the caller's transaction: the forwarding's link (its token)."""
    salt = secrets.token_hex(16)
    token = _token(salt)
    days = int(current_app.config.get("REPLY_LINK_DAYS", DEFAULT_DAYS))
    conn.execute("INSERT INTO agency_links (forwarding_id, salt, token_hash, created_at, expires_at) "
                 "VALUES (?, ?, ?, ?, ?)", [forwarding_id, salt, token_hash(token), now(),
                                            (clock.utcnow() + dt.timedelta(days=days)).isoformat(timespec="seconds")])
    return token


def token_of(conn, forwarding_id: int) -> str | None:
    row = conn.execute("SELECT salt FROM agency_links WHERE forwarding_id = ?", [forwarding_id]).fetchone()
    return _token(row["salt"]) if row else None


def find(conn, token: str):
    """The link row for a token, or None (malformed and unknown tokens cost the same)."""
    digest = token_hash((token or "")[:100])
    return conn.execute("SELECT * FROM agency_links WHERE token_hash = ?", [digest]).fetchone()
