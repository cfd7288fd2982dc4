"""A LINE user as Prongsai knows them: an HMAC of the user id under the secret key, never the id."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def user_hash(user_id: str) -> str:
    key = current_app.secret_key
    return hmac.new(key if isinstance(key, bytes) else key.encode(), b"prongsai-line-user:" + user_id.encode(),
                    hashlib.sha256).hexdigest()


def of_event(event: dict) -> str | None:
    """The hash of the user who sent ``event``; None for a group's or a room's."""
    source = event.get("source") or {}
    user_id = source.get("userId") if source.get("type") == "user" else None
    return user_hash(user_id) if isinstance(user_id, str) and user_id else None
