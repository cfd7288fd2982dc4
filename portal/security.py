"""Security for every portal route: headers, cookies, CSRF, client address and rate limits.

Rate limits are keyed on HMAC(secret, client address) where the secret lives only in memory and
is replaced every ``RATE_LIMIT_ROTATE_SECONDS`` (buckets are dropped with it), so no address is
ever written anywhere. The address is ``Fly-Client-IP`` only when ``BEHIND_FLY_PROXY`` is set;
otherwise the socket peer (``X-Forwarded-For`` and friends are never trusted). Counters are
per process, so with ``WEB_CONCURRENCY`` workers each one allows its share of every limit.
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
from urllib.parse import urlsplit

from flask import current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

#: (requests, seconds) per client and for everyone together, per limited action.
DEFAULT_RATE_LIMITS = {
    "report": {"client": [10, 3600], "global": [600, 3600]},
    "track": {"client": [30, 600], "global": [1000, 600]},
    "login": {"client": [20, 600], "global": [500, 600]},
    "message": {"client": [30, 3600], "global": [1000, 3600]},
    "correction": {"client": [10, 3600], "global": [300, 3600]},
}

csrf = CSRFProtect()


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookie ``Secure`` whenever the request came over HTTPS (or config forces it)."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


class _FlyProxy:
    """Behind Fly's proxy (and only then): client address from Fly-Client-IP, scheme from the proxy."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        client = environ.get("HTTP_FLY_CLIENT_IP", "").strip()
        if client:
            environ["REMOTE_ADDR"] = client
        if environ.get("HTTP_X_FORWARDED_PROTO") in ("http", "https"):
            environ["wsgi.url_scheme"] = environ["HTTP_X_FORWARDED_PROTO"]
        return self.wsgi_app(environ, start_response)


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
    evidence_cap = app.config.setdefault("MAX_EVIDENCE_BYTES", 50 * 1024 * 1024)
    # The whole request may carry the evidence plus the text fields and multipart framing.
    app.config.setdefault("MAX_CONTENT_LENGTH", evidence_cap + 1024 * 1024)
    app.config.setdefault("RATE_LIMITS", {})
    app.config.setdefault("RATE_LIMIT_PROCESSES", int(os.environ.get("WEB_CONCURRENCY") or 1))
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=3600 * 4,
    )
    app.session_interface = _SessionInterface()
    app.extensions["rate_limiter"] = RateLimiter(app.config.get("RATE_LIMIT_ROTATE_SECONDS", 24 * 3600))
    if app.config.get("BEHIND_FLY_PROXY"):
        app.wsgi_app = _FlyProxy(app.wsgi_app)
    csrf.init_app(app)

    @app.before_request
    def same_origin_posts():
        """Defence in depth beside the CSRF token: browsers say where a POST came from."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        origin = request.headers.get("Origin")
        cross = request.headers.get("Sec-Fetch-Site") == "cross-site" or (
            origin not in (None, "null") and urlsplit(origin).netloc != request.host)
        if cross:
            raise CSRFError("cross-site request")
        return None

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        message = _("This form has expired or did not come from this site. Please reload the page "
                    "and send it again; nothing was stored.")
        return render_template("complaints/error.html", status=400, message=message), 400

    @app.errorhandler(413)
    def too_large(error):
        message = _("The upload is larger than allowed. Nothing was stored.")
        return render_template("complaints/error.html", status=413, message=message), 413

    @app.errorhandler(405)
    def method_not_allowed(error):
        message = _("This address does not accept that kind of request.")
        return render_template("complaints/error.html", status=405, message=message), 405

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)  # a view may set a stricter one
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response
