"""Outbox rows addressed ``{"line": <user id>}`` (digests of LINE followers) delivered by LINE push.

Exactly once, by LINE's own idempotency: every push carries ``X-Line-Retry-Key``, a UUID of the
row's idempotency key, so however often a row is tried (a timeout, a 5xx, a worker killed after
LINE accepted it and before we recorded it) LINE delivers it once and answers a retry with 409,
which counts as sent. LINE keeps a key 24 hours; the outbox gives up long before (8 attempts,
about two hours of backoff). Once sent, the row's payload is overwritten: the user id it held
(encrypted) is not kept for the retention period of sent messages.
"""
from __future__ import annotations

import contextlib

import urllib3
from linebot.v3.messaging import PushMessageRequest

from portal.complaints import mail, outbox
from portal.line import client, texts
from prongsai.core.errors import UserError

#: 4xx answers that trying again cannot change (a wrong id, a blocked account, a message LINE refuses).
_PERMANENT = {400, 403, 404}


class Pusher:
    """The LINE client, opened on the first LINE row of a batch (a batch of e-mails needs none)."""

    def __init__(self, config):
        self.config = config
        self.stack = contextlib.ExitStack()
        self.api = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stack.close()

    def send(self, row, data: dict) -> None:
        """Push the row's text; ``mail.Permanent`` / ``mail.Temporary`` like the e-mail path."""
        if self.api is None:
            try:
                self.api, _blob = self.stack.enter_context(client.apis(self.config))
            except UserError as exc:
                raise mail.Temporary(str(exc)) from None
        request = PushMessageRequest(to=data["to"]["line"], messages=[texts.message(data["text"])])
        try:
            self.api.push_message(request, x_line_retry_key=client.retry_key(row["idem_key"]),
                                  _request_timeout=client.TIMEOUT)
        except client.ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: delivered, once
                return
            raise (mail.Permanent if exc.status in _PERMANENT else mail.Temporary)(client.problem(exc)) from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # refused, reset, timed out
            raise mail.Temporary(f"cannot reach LINE: {type(exc).__name__}") from None


def forget(conn, outbox_ids) -> None:
    """The payloads of sent LINE rows replaced by one naming no one (inside the caller's commit or alone)."""
    blank = outbox.sealed({"to": {"line": None}, "text": "", "subject": "", "html": "", "attachments": []})
    conn.executemany("UPDATE outbox SET payload = ? WHERE id = ?", [(blank, i) for i in outbox_ids])
