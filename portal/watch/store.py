"""Who follows what, in complaints.db: the API the portal's pages and the LINE bot share.

A subscriber is one contact on one channel: an e-mail address or a LINE user id, encrypted like
reporters' contacts (``crypto.encrypt``) and found again by ``contact_hash``, an HMAC under a key
derived from ``PRONGSAI_COMPLAINTS_KEY``; the contact never reaches procurement.db, Datasette,
the exports or a log. An e-mail follow waits for its confirmation link (double opt-in: nobody
is mailed about what someone else typed their address in for); a LINE follow is confirmed at
once, since the user asked in the chat. The last follow removed removes the subscriber.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
import urllib.parse

from flask import current_app
from flask_babel import gettext as _

from portal.complaints import crypto, outbox
from portal.complaints.db import transaction
from portal.complaints.intake import check_address
from portal.provinces import TILES
from prongsai.core.clock import ago, now
from prongsai.core.errors import UserError

CHANNELS = ("email", "line")
KINDS = ("agency", "supplier", "province", "flag", "search")
LANGS = ("th", "en")
#: the portal's /search filters a saved search keeps (portal/views/search.py)
SEARCH_FILTERS = ("q", "fiscal_year", "method", "province", "flag", "agency")
CONFIRM_DAYS = 7          # a confirmation link's life; unconfirmed follows are removed after it
RESEND_MINUTES = 10       # the same follow asked again within this sends no second confirmation
MAX_PENDING = 20          # unconfirmed follows one address may have (a form cannot flood a mailbox)
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_FLAG_CODE = re.compile(r"[A-Z]{1,3}[0-9]{2,3}")


def normalise_contact(channel: str, contact: str) -> str:
    """The contact as stored: a checked e-mail address (lower case for the hash), a LINE user id."""
    if channel not in CHANNELS:
        raise UserError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    contact = (contact or "").strip()
    if channel == "email":
        try:
            return check_address(contact)
        except ValueError:
            raise UserError(_("This is not an e-mail address: %(text)s", text=contact[:80])) from None
    if not re.fullmatch(r"U[0-9a-f]{32}", contact):
        raise UserError(f"not a LINE user id: {contact[:40]!r}")
    return contact


def contact_hash(channel: str, contact: str) -> str:
    """HMAC-SHA256 of the normalised contact under a key derived from the complaints key."""
    crypto.fernet()  # the same refusal as encryption when the key is missing
    key = current_app.config.get("COMPLAINTS_KEY") or crypto._TEST_KEY  # noqa: SLF001 - tests' per-process key
    lookup_key = hashlib.sha256(b"prongsai-watch-contact:" + (key if isinstance(key, bytes) else key.encode())).digest()
    text = contact.lower() if channel == "email" else contact
    return hmac.new(lookup_key, f"{channel}:{text}".encode(), hashlib.sha256).hexdigest()


def _check(kind: str, key: str, lang: str) -> None:
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if not key or len(key) > 500:
        raise UserError(f"a {kind} to follow needs a key of 1 to 500 characters")
    if lang not in LANGS:
        raise UserError(f"unknown language {lang!r} (th or en)")


def _subscriber(conn, channel: str, contact: str):
    return conn.execute("SELECT * FROM watch_subscribers WHERE channel = ? AND contact_hash = ?",
                        [channel, contact_hash(channel, contact)]).fetchone()


def follow(conn, *, channel: str, contact: str, kind: str, key: str, lang: str = "th",
           label: str | None = None) -> sqlite3.Row:
    """Follow ``kind``/``key``; returns the ``watch_follows`` row. E-mail: a confirmation message is
    queued in the same transaction (once per ``RESEND_MINUTES``) and ``confirmed_at`` stays NULL
    until its link is opened; LINE: confirmed now. Following again what one follows changes nothing."""
    contact = normalise_contact(channel, contact)
    _check(kind, key, lang)
    label = (label or key)[:300]
    with transaction(conn):
        sub = _subscriber(conn, channel, contact)
        if sub is None:
            sub_id = conn.execute(
                "INSERT INTO watch_subscribers (channel, contact_hash, contact_encrypted, lang, salt, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", [channel, contact_hash(channel, contact), crypto.encrypt(contact), lang,
                                              secrets.token_hex(16), now()]).lastrowid
        else:
            sub_id = sub["id"]
            conn.execute("UPDATE watch_subscribers SET lang = ? WHERE id = ?", [lang, sub_id])
        row = conn.execute("SELECT * FROM watch_follows WHERE subscriber_id = ? AND kind = ? AND key = ?",
                           [sub_id, kind, key]).fetchone()
        if row is not None and (row["confirmed_at"] or (row["confirm_sent_at"] or "") > ago(
                dt.timedelta(minutes=RESEND_MINUTES))):
            return row
        if channel == "line":
            conn.execute("INSERT INTO watch_follows (subscriber_id, kind, key, label, confirmed_at, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", [sub_id, kind, key, label, now(), now()])
        else:
            pending = conn.execute("SELECT count(*) FROM watch_follows WHERE subscriber_id = ? AND confirmed_at IS "
                                   "NULL", [sub_id]).fetchone()[0]
            if row is None and pending >= MAX_PENDING:
                raise UserError(_("This address has %(n)d follows waiting for confirmation: open the links we "
                                  "sent first.", n=pending))
            token = secrets.token_urlsafe(24)
            digest = hashlib.sha256(token.encode()).hexdigest()
            if row is None:
                follow_id = conn.execute(
                    "INSERT INTO watch_follows (subscriber_id, kind, key, label, confirm_hash, confirm_sent_at, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [sub_id, kind, key, label, digest, now(), now()]
                ).lastrowid
            else:
                follow_id = row["id"]
                conn.execute("UPDATE watch_follows SET confirm_hash = ?, confirm_sent_at = ?, label = ? WHERE id = ?",
                             [digest, now(), label, follow_id])
            from portal.watch import letters

            letter = letters.confirmation(lang, kind=kind, label=label, token=token)
            outbox.enqueue(conn, f"watch-confirm:{follow_id}:{digest[:16]}", "watch_confirm",
                           to={"address": contact}, **letter)
        return conn.execute("SELECT * FROM watch_follows WHERE subscriber_id = ? AND kind = ? AND key = ?",
                            [sub_id, kind, key]).fetchone()


def confirm(conn, token: str) -> sqlite3.Row | None:
    """The follow whose confirmation link this is, now confirmed; None when unknown or expired."""
    if not token or len(token) > 100:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    with transaction(conn):
        row = conn.execute("SELECT * FROM watch_follows WHERE confirm_hash = ? AND confirm_sent_at > ?",
                           [digest, ago(dt.timedelta(days=CONFIRM_DAYS))]).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE watch_follows SET confirmed_at = ?, confirm_hash = NULL WHERE id = ?", [now(), row["id"]])
        return conn.execute("SELECT * FROM watch_follows WHERE id = ?", [row["id"]]).fetchone()


def _drop_if_empty(conn, sub_id: int) -> None:
    conn.execute("DELETE FROM watch_subscribers WHERE id = ? AND NOT EXISTS (SELECT 1 FROM watch_follows WHERE "
                 "subscriber_id = ?)", [sub_id, sub_id])


def unfollow(conn, *, channel: str, contact: str, kind: str, key: str) -> bool:
    """Stop following one thing; False when it was not followed."""
    contact = normalise_contact(channel, contact)
    with transaction(conn):
        sub = _subscriber(conn, channel, contact)
        if sub is None:
            return False
        gone = conn.execute("DELETE FROM watch_follows WHERE subscriber_id = ? AND kind = ? AND key = ?",
                            [sub["id"], kind, key]).rowcount
        _drop_if_empty(conn, sub["id"])
        return gone == 1


def unfollow_all(conn, *, channel: str, contact: str) -> int:
    """Stop everything and forget the contact; returns how many follows ended."""
    contact = normalise_contact(channel, contact)
    with transaction(conn):
        sub = _subscriber(conn, channel, contact)
        return _delete_subscriber(conn, sub["id"]) if sub else 0


def remove_follow(conn, subscriber_id: int, follow_id: int) -> bool:
    """One follow of this subscriber ends (from the page their digest links to)."""
    with transaction(conn):
        gone = conn.execute("DELETE FROM watch_follows WHERE id = ? AND subscriber_id = ?",
                            [follow_id, subscriber_id]).rowcount
        _drop_if_empty(conn, subscriber_id)
        return gone == 1


def _delete_subscriber(conn, sub_id: int) -> int:
    n = conn.execute("DELETE FROM watch_follows WHERE subscriber_id = ?", [sub_id]).rowcount
    conn.execute("DELETE FROM watch_subscribers WHERE id = ?", [sub_id])
    return n


def following(conn, *, channel: str, contact: str) -> list[sqlite3.Row]:
    """What this contact follows (confirmed or waiting), oldest first."""
    contact = normalise_contact(channel, contact)
    sub = _subscriber(conn, channel, contact)
    if sub is None:
        return []
    return conn.execute("SELECT * FROM watch_follows WHERE subscriber_id = ? ORDER BY id", [sub["id"]]).fetchall()


# -- the unsubscribe link in every digest: a capability, not a login ---------------------------------

def subscriber_token(sub, secret=None) -> str:
    """``<id>-<mac>``: an HMAC of the subscriber's salt under the secret key (stored nowhere)."""
    secret = secret or current_app.secret_key
    mac = hmac.new(secret if isinstance(secret, bytes) else secret.encode(),
                   f"prongsai-watch-unsubscribe:{sub['id']}:{sub['salt']}".encode(), hashlib.sha256).digest()
    return f"{sub['id']}-{base64.urlsafe_b64encode(mac[:18]).decode()}"


def subscriber_by_token(conn, token: str) -> sqlite3.Row | None:
    head, _sep, _mac = (token or "").partition("-")
    if not head.isdecimal() or len(token) > 60:
        return None
    sub = conn.execute("SELECT * FROM watch_subscribers WHERE id = ?", [int(head)]).fetchone()
    if sub is None or not hmac.compare_digest(subscriber_token(sub), token):
        return None
    return sub


def unsubscribe(conn, token: str) -> int | None:
    """Everything of the subscriber of this link ends (None: no such link)."""
    with transaction(conn):
        sub = subscriber_by_token(conn, token)
        return None if sub is None else _delete_subscriber(conn, sub["id"])


def purge_unconfirmed(conn) -> int:
    """Follows never confirmed within ``CONFIRM_DAYS`` go, and subscribers left with none."""
    with transaction(conn):
        n = conn.execute("DELETE FROM watch_follows WHERE confirmed_at IS NULL AND confirm_sent_at <= ?",
                         [ago(dt.timedelta(days=CONFIRM_DAYS))]).rowcount
        conn.execute("DELETE FROM watch_subscribers WHERE NOT EXISTS (SELECT 1 FROM watch_follows f WHERE "
                     "f.subscriber_id = watch_subscribers.id)")
    return n


# -- what a person typed -> (kind, key, label) --------------------------------------------------------

def search_key(args) -> str:
    """A saved search as its canonical query string (only the filters /search knows, sorted)."""
    kept = {name: " ".join(str(args.get(name) or "").split()) for name in SEARCH_FILTERS}
    return urllib.parse.urlencode(sorted((k, v) for k, v in kept.items() if v))


def search_args(key: str) -> dict:
    return dict(urllib.parse.parse_qsl(key))


def label_for(public_db, kind: str, key: str) -> str:
    """What a follow is called on pages and in digests."""
    if kind == "agency":
        row = public_db.execute("SELECT name_th FROM agencies WHERE id = ?", [key]).fetchone()
    elif kind == "supplier":
        row = public_db.execute("SELECT name_th FROM suppliers WHERE id = ?", [key]).fetchone()
    elif kind == "flag":
        row = public_db.execute("SELECT code || ' ' || title_th FROM flag_definitions WHERE code = ?", [key]).fetchone()
    elif kind == "search":
        args = search_args(key)
        words = {"q": "“{}”", "fiscal_year": _("fiscal year %(year)s", year="{}"), "province": "{}", "method": "{}",
                 "flag": "{}", "agency": "{}"}
        if args.get("agency"):
            args["agency"] = label_for(public_db, "agency", args["agency"])
        return _("Search: %(what)s", what=" · ".join(words[k].format(args[k]) for k in SEARCH_FILTERS if args.get(k)))[:300]
    else:
        row = None
    return (row[0] if row and row[0] else key)[:300]


_LINK = re.compile(r"/(agencies|suppliers|provinces|flags)/([^/?#]+)|/feeds/(agencies|suppliers|provinces|flags)/"
                   r"(.+)\.atom")
_LINK_KINDS = {"agencies": "agency", "suppliers": "supplier", "provinces": "province", "flags": "flag"}


def resolve(public_db, kind: str | None, text: str) -> tuple[str, str, str]:
    """(kind, key, label) of what someone typed or pasted: a Prongsai link, a flag code ("TH05"), a
    13-digit tax id, a province, an agency's or a supplier's name (exact, else the one name that
    holds it). ``kind`` None guesses; UserError (in the reader's language) says what did not match."""
    text = " ".join((text or "").split()).translate(_THAI_DIGITS)
    if not text:
        raise UserError(_("Say what to follow: an agency, a supplier, a province, a red-flag code or a search."))
    if kind is not None and kind not in KINDS:
        raise UserError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if text.startswith(("http://", "https://", "/")):
        return _resolve_link(public_db, text)
    if kind == "search":
        key = search_key(search_args(text) if "=" in text else {"q": text})
        return "search", key, label_for(public_db, "search", key)
    code = text.upper()
    if kind in (None, "flag") and _FLAG_CODE.fullmatch(code):
        if public_db.execute("SELECT 1 FROM flag_definitions WHERE code = ?", [code]).fetchone():
            return "flag", code, label_for(public_db, "flag", code)
        if kind == "flag":
            raise UserError(_("There is no red flag %(code)s.", code=code))
    digits = re.sub(r"[\s-]", "", text)
    if kind in (None, "supplier") and re.fullmatch(r"[0-9]{13}", digits):
        row = public_db.execute("SELECT id FROM suppliers WHERE id = ? OR tax_id = ? LIMIT 1", [digits, digits]).fetchone()
        if row:
            return "supplier", row[0], label_for(public_db, "supplier", row[0])
        raise UserError(_("No supplier with the tax id %(tax_id)s is in Prongsai.", tax_id=digits))
    if kind in (None, "province"):
        name = re.sub(r"^(จังหวัด|จ\.)\s*", "", text)
        if name in TILES or public_db.execute("SELECT 1 FROM projects WHERE province = ? LIMIT 1", [name]).fetchone():
            return "province", name, name
        if kind == "province":
            raise UserError(_("There is no province called %(name)s.", name=name))
    for candidate in ("agency", "supplier") if kind is None else (kind,):
        found = _by_name(public_db, candidate, text)
        if found:
            return found
    raise UserError(_("Nothing in Prongsai is called “%(text)s”: try the name as on its page, a tax id, a province "
                      "or a red-flag code.", text=text[:80]))


def _by_name(public_db, kind: str, text: str):
    table = {"agency": "agencies", "supplier": "suppliers"}.get(kind)
    if table is None:
        return None
    rows = public_db.execute(f"SELECT id, name_th FROM [{table}] WHERE id = ? OR name_th = ? LIMIT 2",
                             [text, text]).fetchall()
    if len(rows) != 1:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = public_db.execute(f"SELECT id, name_th FROM [{table}] WHERE name_th LIKE ? ESCAPE '\\' "
                                 "ORDER BY length(name_th), name_th LIMIT 6", [pattern]).fetchall()
    if len(rows) == 1:
        return kind, rows[0][0], rows[0][1] or rows[0][0]
    if len(rows) > 1:
        names = ", ".join(r[1] for r in rows[:5])
        raise UserError(_("“%(text)s” matches several names: %(names)s. Send the whole name.", text=text[:80],
                          names=names))
    return None


def _resolve_link(public_db, text: str):
    parts = urllib.parse.urlsplit(text)
    path = urllib.parse.unquote(parts.path)
    if path.rstrip("/").endswith("/search"):
        key = search_key(dict(urllib.parse.parse_qsl(parts.query)))
        if not key:
            raise UserError(_("This search has no words or filters to follow."))
        return "search", key, label_for(public_db, "search", key)
    match = _LINK.search(path)
    if not match:
        raise UserError(_("This link is not an agency, supplier, province, red-flag or search page of Prongsai."))
    kind = _LINK_KINDS[match.group(1) or match.group(3)]
    return resolve(public_db, kind, match.group(2) or match.group(4))
