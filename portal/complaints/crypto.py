"""Tracking codes and encrypted contact details.

Tracking code: 120 bits of HMAC-SHA256 (the server's secret key over the report form's one-time nonce)
in Crockford base32, six groups of four (I, L, O read as 1, 1, 0), so a person can copy it or write it
down. The same form sent again after a lost response gets the same code back; only the browser that
got the form holds its nonce (the database keeps a hash), so only it can. With ≥ 112 bits a plain
SHA-256 is the stored form (ASVS 6.5.2); the code itself is never stored, logged or put in a URL.

Contact details: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with the key in
``PRONGSAI_COMPLAINTS_KEY`` (``prongsai users genkey`` prints a new one). Outside TESTING the
complaint forms refuse to run without it; tests get a per-process key.
"""
from __future__ import annotations

import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_CHARS = 24                                 # 24 × 5 = 120 bits
MAX_CODE_INPUT = 64                             # longer input is refused before hashing
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_TEST_KEY = Fernet.generate_key()


class MissingKey(RuntimeError):
    pass


def tracking_code(nonce: str) -> str:
    """The code of the report sent with this form nonce."""
    key = current_app.secret_key
    mac = hmac.new(key if isinstance(key, bytes) else key.encode(), b"prongsai-tracking-code:" + nonce.encode(),
                   hashlib.sha256).digest()
    bits = int.from_bytes(mac, "big") >> (len(mac) * 8 - CODE_CHARS * 5)
    raw = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_CHARS, 4))


def nonce_hash(nonce: str) -> str:
    """The stored form of a report form's nonce: with it and the secret key one could make the code."""
    return hashlib.sha256(b"prongsai-form-nonce:" + nonce.encode()).hexdigest()


def normalise_code(text: str) -> str | None:
    """Upper case, Thai digits, spaces and dashes forgiven; None if it cannot be a code."""
    if not text or len(text) > MAX_CODE_INPUT:
        return None
    cleaned = "".join(text.translate(_THAI_DIGITS).upper().split()).replace("-", "").translate(_CONFUSABLE)
    if len(cleaned) != CODE_CHARS or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


_CODE_LIKE = re.compile(r"(?:[0-9A-Z]{4}[\s-]?){5}[0-9A-Z]{4}", re.IGNORECASE)


def contains_code(text: str, tracking_hash: str) -> bool:
    """Whether ``text`` quotes the tracking code whose hash is given (a sender pasting it by mistake)."""
    for candidate in _CODE_LIKE.findall(text.translate(_THAI_DIGITS)):
        normalised = normalise_code(candidate)
        if normalised and hmac.compare_digest(code_hash(normalised), tracking_hash):
            return True
    return False


def code_hash(code: str) -> str:
    """Hash of a normalised code; also computed for malformed input so both paths cost the same."""
    return hashlib.sha256(b"prongsai-tracking:" + code.encode()).hexdigest()


def fernet() -> Fernet:
    key = current_app.config.get("COMPLAINTS_KEY")
    if not key:
        if current_app.config.get("TESTING"):
            key = _TEST_KEY
        else:
            raise MissingKey("PRONGSAI_COMPLAINTS_KEY is not set")
    try:
        return Fernet(key)
    except (ValueError, TypeError) as exc:
        raise MissingKey("PRONGSAI_COMPLAINTS_KEY is not a valid Fernet key") from exc


def key_problem(app) -> str | None:
    """Why complaints cannot start on this app (None when they can)."""
    with app.app_context():
        try:
            fernet()
        except MissingKey as exc:
            return (f"complaints are disabled: {exc}. Generate one with `prongsai users genkey`, keep it "
                    "outside the data folder, and set PRONGSAI_COMPLAINTS_KEY before `prongsai serve`.")
    return None


def encrypt(text: str | None) -> bytes | None:
    return encrypt_bytes(text.encode()) if text else None


def encrypt_bytes(data: bytes) -> bytes:
    return fernet().encrypt(data)


def decrypt(token: bytes | None) -> str | None:
    """The clear text, or None when there is none or the key is missing or not the one used."""
    data = decrypt_bytes(token)
    return data.decode() if data is not None else None


def decrypt_bytes(token: bytes | None) -> bytes | None:
    if not token:
        return None
    try:
        return fernet().decrypt(token)
    except (InvalidToken, MissingKey):
        return None
