"""``/line/webhook``: LINE's signed events in, durable before the 200, handled right after.

A request is refused unless ``X-Line-Signature`` is the HMAC-SHA256 of its raw body under the
channel secret (compared in constant time, by the SDK's ``SignatureValidator``), its body is
LINE's JSON, and it brings at least one event not seen before: each ``webhookEventId`` is kept
in ``line_events_seen``, and an event older than ``PRONGSAI_LINE_EVENT_MAX_AGE`` seconds (one
hour by default; ids are kept as long) is refused whatever its id, so a captured body cannot be
played again. LINE's own redelivery of an event already kept is acknowledged (200) and changes
nothing. LINE's console "Verify" sends no events and gets its 200.

The events themselves go to ``line_inbox`` encrypted (they name the LINE user) in the same commit;
then the 200 goes out and a thread handles them (``portal.line.chat``), each user's in the order they
came whichever process took them; ``prongsai notify`` handles any a dead process left.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading

from flask import Blueprint, current_app, jsonify, request

from portal.complaints import crypto
from portal.complaints.db import get_cdb, open_complaints_db, transaction
from portal.line import users
from prongsai.core import clock

log = logging.getLogger(__name__)
bp = Blueprint("line", __name__)

DEFAULT_MAX_AGE = 3600           # seconds an event may be old (LINE redelivers within this)
FUTURE_SKEW = 300                # seconds an event may be ahead of our clock
MAX_TIMESTAMP = 10 ** 13         # milliseconds: the year 2286, far beyond any real event


def _refuse(status: int, why: str):
    return jsonify({"error": why}), status


@bp.route("/line/webhook", methods=["POST"])
def webhook():
    from linebot.v3 import SignatureValidator  # imported on first use: the SDK is slow to import

    secret = current_app.config.get("LINE_CHANNEL_SECRET")
    if not secret:
        return _refuse(404, "this server has no LINE channel: PRONGSAI_LINE_CHANNEL_SECRET is not set")
    if current_app.extensions.get("complaints_disabled"):
        return _refuse(503, "reports are switched off on this server (no encryption key)")
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return _refuse(401, "unsigned: the X-Line-Signature header is missing")
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "malformed: the body is not UTF-8")
    if not SignatureValidator(str(secret)).validate(text, signature):
        return _refuse(401, "the signature does not match the body")
    events, problem = parse(text)
    if problem:
        return _refuse(400, f"malformed: {problem}")
    if not events:  # LINE's "Verify"
        return jsonify({"received": 0, "already_held": 0})
    fresh, held = receive(get_cdb(), events,
                          max_age=int(current_app.config.get("LINE_EVENT_MAX_AGE", DEFAULT_MAX_AGE)))
    if not (fresh or held):
        return _refuse(409, "replayed: every event was seen before or is too old")
    if fresh:
        start_handling(current_app._get_current_object())
    return jsonify({"received": fresh, "already_held": held})


def parse(text: str) -> tuple[list, str | None]:
    """The events of a webhook body, or the reason it is not one."""
    try:
        body = json.loads(text)
    except ValueError:
        return [], "the body is not JSON"
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return [], "no events list"
    for event in events:
        if not (isinstance(event, dict) and isinstance(event.get("webhookEventId"), str)
                and 0 < len(event["webhookEventId"]) <= 64 and isinstance(event.get("timestamp"), int)
                and 0 < event["timestamp"] < MAX_TIMESTAMP and isinstance(event.get("type"), str)):
            return [], "an event without a webhookEventId, a timestamp in milliseconds or a type"
    return events, None


def receive(conn, events: list, *, max_age: int) -> tuple[int, int]:
    """Keep the events not seen before and recent enough, in one commit. Returns how many, and how
    many were LINE's redeliveries of events already kept (acknowledged, so LINE stops resending;
    a replayed copy of such a body changes nothing either)."""
    stamp = clock.utcnow()
    oldest, newest = stamp - dt.timedelta(seconds=max_age), stamp + dt.timedelta(seconds=FUTURE_SKEW)
    fresh = held = 0
    with transaction(conn):
        conn.execute("DELETE FROM line_events_seen WHERE event_at < ?", [oldest.isoformat(timespec="seconds")])
        for event in events:
            at = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.timezone.utc)
            if not oldest <= at <= newest:
                continue
            cur = conn.execute("INSERT OR IGNORE INTO line_events_seen (event_id, event_at) VALUES (?, ?)",
                               [event["webhookEventId"], at.isoformat(timespec="seconds")])
            if cur.rowcount:
                conn.execute("INSERT INTO line_inbox (event, user_hash, received_at) VALUES (?, ?, ?)",
                             [crypto.encrypt(json.dumps(event, ensure_ascii=False)), users.of_event(event),
                              clock.now()])
                fresh += 1
            elif (event.get("deliveryContext") or {}).get("isRedelivery") is True:
                held += 1
    return fresh, held


_handling = threading.Lock()


def start_handling(app) -> threading.Thread:
    """Handle the inbox in a thread of its own, after the response; one at a time per process, in order."""
    def run():
        with _handling, app.app_context():
            from portal.line import chat  # the SDK's models take a second to import: not at start-up

            conn = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
            try:
                chat.drain(conn)
            except Exception as exc:  # the events stay in the inbox; never the message: it may name the user
                log.error("LINE events could not be handled: %s", type(exc).__name__)
            finally:
                conn.close()

    thread = threading.Thread(target=run, name="line-inbox", daemon=True)
    thread.start()
    return thread
