"""Rate limits for the citizen and moderator forms.

Keyed on HMAC(secret, client address) where the secret lives only in memory and is replaced every
``RATE_LIMIT_ROTATE_SECONDS`` (buckets are dropped with it), so no address is ever written anywhere.
Counters are per process, so with ``WEB_CONCURRENCY`` workers each one allows its share of every limit.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
from collections import deque

from flask import current_app, render_template, request
from flask_babel import gettext as _

#: (requests, seconds) per client and for everyone together, per limited action.
DEFAULT_RATE_LIMITS = {
    "report": {"client": [10, 3600], "global": [600, 3600]},
    "track": {"client": [30, 600], "global": [1000, 600]},
    "login": {"client": [20, 600], "global": [500, 600]},
    "message": {"client": [30, 3600], "global": [1000, 3600]},
    "correction": {"client": [10, 3600], "global": [300, 3600]},
}


class RateLimiter:
    """Sliding-window counters in memory, keyed on a rotating keyed hash of the client address."""

    def __init__(self, rotate_seconds: int = 24 * 3600):
        self.rotate_seconds = rotate_seconds
        self._lock = threading.Lock()
        self._rotate(time.monotonic())

    def _rotate(self, now):
        self._secret = secrets.token_bytes(32)
        self._rotated_at = now
        self._hits: dict[tuple, deque] = {}

    def client_key(self, address: str) -> str:
        return hmac.new(self._secret, address.encode(), hashlib.sha256).hexdigest()

    def hit(self, action: str, address: str, limits: dict) -> int:
        """Count one request; 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            if now - self._rotated_at > self.rotate_seconds:
                self._rotate(now)
            waits = []
            keys = [("client", (action, self.client_key(address))), ("global", (action, "*"))]
            for scope, key in keys:
                limit, window = limits[scope]
                hits = self._hits.setdefault(key, deque())
                while hits and now - hits[0] >= window:
                    hits.popleft()
                if len(hits) >= limit:
                    waits.append(int(window - (now - hits[0])) + 1)
            if waits:
                return max(waits)
            for _scope, key in keys:
                self._hits[key].append(now)
            return 0


def rate_limited(action: str):
    """Decorator: POSTs to this view count against ``action``'s limits; over the limit → 429."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if request.method == "POST":
                limits = {**DEFAULT_RATE_LIMITS[action], **current_app.config["RATE_LIMITS"].get(action, {})}
                # Counters live in each worker process: share every limit out between them.
                processes = current_app.config["RATE_LIMIT_PROCESSES"]
                limits = {scope: [max(1, math.ceil(n / processes)), window] for scope, (n, window) in limits.items()}
                wait = current_app.extensions["rate_limiter"].hit(action, request.remote_addr or "-", limits)
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
