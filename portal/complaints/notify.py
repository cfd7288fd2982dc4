"""The outbox worker behind ``prongsai notify``: due reminders and digests, then delivery.

One worker at a time holds ``notify.lock`` beside complaints.db (``flock``, released by the
kernel when the process dies, even by kill -9), so at start it knows every row left ``sending``
belongs to a dead worker and recovers it (``outbox.recover``). Between rounds it sleeps
``interval`` seconds; ``once`` drains what is due and returns.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pathlib
import signal
import threading
import time

from flask import current_app

from portal.complaints import agency, digests, intake, mail, outbox
from prongsai.core.config import evidence_dir
from prongsai.core.errors import UserError

log = logging.getLogger(__name__)
BATCH = 200


def _attachments(items):
    folder = evidence_dir(current_app.config["COMPLAINTS_DATABASE"])
    files = []
    for item in items:
        path = folder / item["stored_name"]
        if not path.exists():
            raise mail.Permanent(f"the evidence file {item['filename']} no longer exists (retention?)")
        files.append((item["filename"], item["mime"], path.read_bytes()))
    return files


def message(s: mail.Settings, row, data: dict):
    """The e-mail of an outbox row whose payload is ``data``; the agency's address is looked up
    now, from the intake list."""
    if not data:
        raise mail.Permanent("the message cannot be decrypted: PRONGSAI_COMPLAINTS_KEY is not the key it was "
                             "queued with")
    to = data["to"]
    try:
        address = intake.address(to["agency"]) if "agency" in to else intake.check_address(to["address"])
    except UserError as exc:
        raise mail.Temporary(str(exc)) from None
    except ValueError as exc:
        raise mail.Permanent(f"recipient: {exc}") from None
    link = to.get("unsubscribe")  # RFC 8058 one-click unsubscribe (the watchlists' digests)
    headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"} if link else None
    return mail.build(s, to=address, subject=data["subject"], text=data["text"], html=data["html"],
                      message_id=row["message_id"], attachments=_attachments(data["attachments"]), headers=headers)


#: Channels besides e-mail, registered by the package that speaks them (``portal.line`` at
#: ``init_app``), so this worker needs no import of theirs: name -> its ``Pusher`` class (a context
#: manager with ``send(row, data)``) and ``forget(conn, ids)`` for rows it sent. A row goes by the
#: channel named in its ``to``.
CHANNELS: dict[str, tuple] = {}
#: What else time alone causes, registered the same way: functions of the connection.
TICKS: list = []


def deliver(conn, s: mail.Settings, *, batch: int = BATCH, stop=lambda: False) -> dict:
    """Claim and send one batch over one SMTP session; the server's 250s are committed together
    at the end (or before a failure is recorded): until then each row's recorded dot stands for it.
    Rows addressed to a registered channel (``{"line": …}``) go by it instead (``CHANNELS``; LINE's
    push is exactly once by its retry key, so it needs no dot). Each payload is decrypted once."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    rows = outbox.claim(conn, batch)
    if not rows:
        return counts
    accepted, pushed = [], {name: set() for name in CHANNELS}

    def settle(ids):
        outbox.sent(conn, ids)
        for name, (_pusher, forget) in CHANNELS.items():
            forget(conn, [i for i in ids if i in pushed[name]])

    with contextlib.ExitStack() as stack:
        connection = stack.enter_context(mail.Connection(s))
        pushers = {name: stack.enter_context(pusher(current_app.config)) for name, (pusher, _f) in CHANNELS.items()}
        for row in rows:
            if stop():
                break  # the rest of the batch is put back by recover() on the way out
            try:
                data = outbox.payload(row)
                channel = next((name for name in CHANNELS if name in data.get("to", {})), None)
                if channel:
                    pushers[channel].send(row, data)
                    pushed[channel].add(row["id"])
                else:
                    connection.send(message(s, row, data), lambda write_dot, row=row: outbox.final_dot(
                        conn, row, write_dot))
            except (mail.Permanent, mail.Temporary) as exc:
                settle(accepted)
                accepted = []
                status = outbox.failed(conn, row, str(exc), permanent=isinstance(exc, mail.Permanent))
                counts["failed" if status == "failed" else "retry"] += 1
                log.warning("outbox %s (%s): %s", row["id"], row["kind"], exc)
                continue
            accepted.append(row["id"])
            counts["sent"] += 1
    settle(accepted)
    return counts


def tick(conn) -> None:
    """What time alone causes: reminders to agencies, overdue cases, moderators' digests; LINE
    reports never sent, and LINE events a dead process left."""
    agency.reminders_due(conn)
    digests.queue(conn)
    for hook in TICKS:
        hook(conn)


class Lock:
    def __init__(self, db_path):
        self.path = pathlib.Path(db_path).with_name("notify.lock")

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise UserError(f"another `prongsai notify` is running (it holds {self.path})") from None
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def run(conn, s: mail.Settings, *, once: bool, interval: float = 2.0, tick_every: float = 60.0) -> dict:
    """Deliver until stopped. SIGTERM (a deploy) or Ctrl-C lets the message being sent finish, puts
    the rest of the batch back and exits; only SIGKILL leaves a message half-sent."""
    totals = {"sent": 0, "retry": 0, "failed": 0, "recovered": 0}
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with Lock(current_app.config["COMPLAINTS_DATABASE"]):
            totals["recovered"] = outbox.recover(conn, everything=True)
            last_tick = 0.0
            while not stopping.is_set():
                if time.monotonic() - last_tick >= tick_every:
                    tick(conn)
                    last_tick = time.monotonic()
                counts = deliver(conn, s, stop=stopping.is_set)
                for key, n in counts.items():
                    totals[key] += n
                if not any(counts.values()):
                    if once:
                        break
                    stopping.wait(interval)
            outbox.recover(conn, everything=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return totals
