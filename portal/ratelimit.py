"""Rate limits for the citizen and moderator forms, and the back-off on failed logins.

Each limited action has a per-client limit, a global ceiling and a small per-client reserve. A
client over its own limit waits (429). Past the global ceiling the limits tighten instead of
closing: only clients with fewer than ``reserve`` requests in their window get through. A flood
from many addresses is then held to a few requests per address, while a citizen who has barely
tried yet still gets in at once. No one can lock everyone else out by filling a shared budget.

Failed logins back off per (account, client), never per account: after a few free failures each
further one doubles the wait, up to a cap. An attacker guessing from one connection slows to a
few tries an hour; the owner, from another connection, signs in as usual.

Clients are keyed on HMAC(secret, client address) where the secret lives only in memory and is replaced every
``RATE_LIMIT_ROTATE_SECONDS`` (counters are dropped with it), so no address is ever written anywhere.
Counters are per process, so with ``WEB_CONCURRENCY`` workers each one allows its share of every limit.
With read copies these limits are still only counted on the primary: a copy replays every form
post there and never runs these views (docs/scaling.md, step 3).
How the client address is found: docs/deploy.md, "How the client key is derived".
"""
from __future__ import annotations

import functools
import hmac
import math
import os
import secrets
import threading
import time
from collections import deque

from flask import current_app, render_template, request
from flask_babel import gettext as _

#: Per limited action: (requests, seconds) per client, the same for everyone together, and how
#: many requests per client window are still admitted while everyone together is over the ceiling.
DEFAULT_RATE_LIMITS = {
    "report": {"client": [10, 3600], "global": [600, 3600], "reserve": 2},
    "track": {"client": [30, 600], "global": [1000, 600], "reserve": 5},
    "login": {"client": [20, 600], "global": [500, 600], "reserve": 5},
    "message": {"client": [30, 3600], "global": [1000, 3600], "reserve": 5},
    "correction": {"client": [10, 3600], "global": [300, 3600], "reserve": 2},
    "follow": {"client": [20, 3600], "global": [600, 3600], "reserve": 3},
}
#: Counters (and as many back-offs) a process keeps before it forgets idle, then the oldest, ones.
MAX_KEYS = 50_000


class RateLimiter:
    """Sliding-window counters and login back-offs in memory, keyed on a rotating keyed hash."""

    def __init__(self, rotate_seconds: int = 24 * 3600, clock=time.monotonic):
        self.rotate_seconds = rotate_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._rotate(clock())

    def _rotate(self, now):
        self._secret = secrets.token_bytes(32)
        self._rotated_at = now
        self._hits: dict[tuple, list] = {}  # (action, client key) → times of its admitted requests, newest last
        self._everyone: dict[str, deque] = {}  # action → times of the last `ceiling` admitted requests
        self._windows: dict[str, float] = {}  # action → its client window, to tell idle counters
        self._failures: dict[bytes, tuple[int, float]] = {}  # (account, client) key → (failures, next try)

    def _now(self) -> float:
        now = self.clock()
        if now - self._rotated_at > self.rotate_seconds:
            self._rotate(now)
        return now

    def client_key(self, address: str, account: str = "") -> bytes:
        message = f"{account}\0{address}".encode("utf-8", "surrogatepass")
        return hmac.digest(self._secret, message, "sha256")[:16]

    def hit(self, action: str, address: str, limits: dict) -> int:
        """Count one request; 0 if allowed, else the seconds to wait."""
        (limit, window), (ceiling, global_window), reserve = limits["client"], limits["global"], limits["reserve"]
        with self._lock:
            now = self._now()
            key = (action, self.client_key(address))
            mine = [t for t in self._hits.pop(key, ()) if now - t < window]
            everyone = self._everyone.get(action)
            if everyone is None or everyone.maxlen != ceiling:
                everyone = self._everyone[action] = deque(everyone or (), maxlen=ceiling)
            crowded = len(everyone) == ceiling and now - everyone[0] < global_window
            allowed = min(limit, reserve) if crowded else limit
            if len(mine) >= allowed:
                self._hits[key] = mine
                # until enough of this client's own requests age out to bring it under ``allowed``
                return int(window - (now - mine[len(mine) - allowed])) + 1
            mine.append(now)
            everyone.append(now)
            self._hits[key] = mine  # re-inserted: the table runs from least to most recently seen
            self._windows[action] = window
            self._hits = _bounded(self._hits, lambda k, v: now - v[-1] < self._windows[k[0]])
            return 0

    def backoff(self, account: str, address: str) -> int:
        """Seconds before ``account`` may be tried again from ``address``; 0: now."""
        with self._lock:
            now = self._now()
            _failures, next_try = self._failures.get(self.client_key(address, account), (0, now))
            return math.ceil(next_try - now) if next_try > now else 0

    def failed(self, account: str, address: str, *, free: int, first: float, cap: float) -> None:
        """One more failed login: after ``free`` of them, each waits twice the last, from ``first`` to ``cap``."""
        with self._lock:
            now = self._now()
            key = self.client_key(address, account)
            failures = self._failures.pop(key, (0, now))[0] + 1
            wait = 0 if failures <= free else min(cap, first * 2 ** min(failures - free - 1, 32))
            self._failures[key] = (failures, now + wait)
            self._failures = _bounded(self._failures, lambda k, v: v[1] > now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self.client_key(address, account), None)


def _bounded(table: dict, live) -> dict:
    """``table`` while it is small; past ``MAX_KEYS``, only its ``live`` entries and at most the
    newest half of them. A flood of fresh addresses then costs bounded memory, and a sweep only
    every ``MAX_KEYS / 2`` new keys; an evicted client merely starts again from its reserve."""
    if len(table) <= MAX_KEYS:
        return table
    kept = [(k, v) for k, v in table.items() if live(k, v)]
    return dict(kept[-(MAX_KEYS // 2):])


def client_address() -> str:
    """The address limits are keyed on (``Fly-Client-IP`` is already in it behind Fly's proxy)."""
    return request.remote_addr or "-"


def _limits(action: str) -> dict:
    """``action``'s limits as configured, shared out between the worker processes (at least 1 each)."""
    limits = {**DEFAULT_RATE_LIMITS[action], **current_app.config["RATE_LIMITS"].get(action, {})}
    processes = current_app.config["RATE_LIMIT_PROCESSES"]

    def share(n):
        return max(1, math.ceil(n / processes))

    return {"client": [share(limits["client"][0]), limits["client"][1]],
            "global": [share(limits["global"][0]), limits["global"][1]],
            "reserve": share(limits["reserve"])}


def rate_limited(action: str):
    """Decorator: POSTs to this view count against ``action``'s limits; over the limit → 429."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if request.method == "POST":
                wait = current_app.extensions["rate_limiter"].hit(action, client_address(), _limits(action))
                if wait:
                    body = render_template("complaints/error.html", status=429, message=_(
                        "Too many requests from your connection. Please wait a while and try again; "
                        "nothing from this attempt was stored."))
                    return body, 429, {"Retry-After": str(wait)}
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_app(app) -> None:
    app.config.setdefault("RATE_LIMITS", {})
    app.config.setdefault("RATE_LIMIT_PROCESSES", int(os.environ.get("WEB_CONCURRENCY") or 1))
    app.extensions["rate_limiter"] = RateLimiter(app.config.get("RATE_LIMIT_ROTATE_SECONDS", 24 * 3600))
