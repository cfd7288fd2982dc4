"""Server-side validation of the complaint forms: allowlisted fields, NFC text counted in code
points, control characters and undecodable bytes refused, one-time form nonces."""
from __future__ import annotations

import secrets
import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer

from portal.complaints.evidence import MAX_FILES, EvidenceRefused, clean, display_name

#: what every form says when its nonce is missing, forged or too old: nothing of it was kept.
EXPIRED = _l("This form has expired. Please reload the page and send it again; nothing was stored.")

NONCE_MAX_AGE = 6 * 3600
_ALLOWED_CONTROLS = {"\n", "\t"}


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="prongsai-form-nonce")


def new_nonce() -> str:
    """A signed one-time value for a form; the database's UNIQUE constraint makes it one-time."""
    return _serializer().dumps(secrets.token_urlsafe(24))


def check_nonce(value: str | None) -> str | None:
    """The nonce inside a signed value, or None when missing, forged or too old."""
    if not value or len(value) > 200:
        return None
    try:
        return _serializer().loads(value, max_age=NONCE_MAX_AGE)
    except BadData:
        return None


def clean_text(value: str | None, *, required: bool, max_len: int, min_len: int = 0):
    """(text, error): NFC, newlines unified, trimmed; invalid bytes and control characters refused."""
    text = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if "\ufffd" in text:
        return text, _l("The text contains bytes that are not valid UTF-8.")
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
        return text, _l("The text contains control characters.")
    if required and not text:
        return text, _l("This field is required.")
    if text and len(text) < min_len:
        return text, _l("Please write at least %(n)s characters.", n=min_len)
    if len(text) > max_len:
        return text, _l("Please keep this under %(n)s characters (now %(m)s).", n=max_len, m=len(text))
    return text, None


def read_files(storages, errors: dict) -> list:
    """Cleaned evidence from the uploaded file parts; problems go to ``errors['evidence']``."""
    parts = [s for s in storages if s and (s.filename or s.content_length)]
    if len(parts) > MAX_FILES:
        errors["evidence"] = _l("Attach at most %(n)s files.", n=MAX_FILES)
        return []
    cap = current_app.config["MAX_EVIDENCE_BYTES"]
    files, total = [], 0
    for part in parts:
        name = display_name(part.filename or "file")
        data = part.read(cap + 1)
        total += len(data)
        if total > cap:
            errors["evidence"] = _l("The files together are larger than %(mb)s MB.", mb=cap // (1024 * 1024))
            return []
        if not data:
            errors["evidence"] = _l("“%(name)s” is empty.", name=name)
            return []
        try:
            files.append(clean(data, name))
        except EvidenceRefused as exc:
            errors["evidence"] = exc.args[0]
            return []
    return files
