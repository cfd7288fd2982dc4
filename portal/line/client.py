"""LINE's Messaging API through ``line-bot-sdk`` (its v3 API), configured from the app config.

``PRONGSAI_LINE_ACCESS_TOKEN`` signs every call; ``PRONGSAI_LINE_API_URL`` and
``PRONGSAI_LINE_DATA_API_URL`` replace LINE's two hosts (``api.line.me`` for messages and rich
menus, ``api-data.line.me`` for a message's content and a rich menu's image), so tests point the
SDK at a stand-in on 127.0.0.1. Nothing here logs a request: a push names its recipient.
"""
from __future__ import annotations

import contextlib
import json
import uuid

from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi, MessagingApiBlob

from prongsai.core.errors import UserError

API_URL = "https://api.line.me"
DATA_API_URL = "https://api-data.line.me"
TIMEOUT = 10.0                      # seconds for one call
#: A push's retry key is a UUID of the outbox row's idempotency key, so the same row always sends
#: the same key: LINE accepts it once and answers 409 to any retry within 24 hours.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1f3c2e-5a0b-4c8e-9a57-2b1d0c9e7f10")

__all__ = ["ApiException", "apis", "problem", "retry_key", "token"]


def token(config) -> str:
    value = config.get("LINE_ACCESS_TOKEN")
    if not value:
        raise UserError("PRONGSAI_LINE_ACCESS_TOKEN is not set: copy the channel access token (long-lived) "
                        "from the LINE Developers console")
    return str(value)


@contextlib.contextmanager
def apis(config):
    """``(MessagingApi, MessagingApiBlob)`` for one unit of work; their connection pools are closed after."""
    access = token(config)
    main = Configuration(host=str(config.get("LINE_API_URL") or API_URL).rstrip("/"), access_token=access)
    data = Configuration(host=str(config.get("LINE_DATA_API_URL") or DATA_API_URL).rstrip("/"), access_token=access)
    with ApiClient(main) as main_client, ApiClient(data) as data_client:
        yield MessagingApi(main_client), MessagingApiBlob(data_client)


def retry_key(idem_key: str) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, idem_key))


def problem(exc: ApiException) -> str:
    """LINE's answer in a few words, without the request (which may name the user)."""
    try:
        message = json.loads(exc.body or "{}").get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return f"LINE answered {exc.status} {exc.reason or ''}".rstrip() + (f": {message[:300]}" if message else "")
