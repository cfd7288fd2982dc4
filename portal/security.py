"""Security for every portal route: headers, cookies, CSRF and the client address.

The address is ``Fly-Client-IP`` only when ``BEHIND_FLY_PROXY`` is set; otherwise the socket peer
(``X-Forwarded-For`` and friends are never trusted). Rate limits are in ``portal.ratelimit``.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from portal import ratelimit

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

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


def init_app(app) -> None:
    evidence_cap = app.config.setdefault("MAX_EVIDENCE_BYTES", 50 * 1024 * 1024)
    # The whole request may carry the evidence plus the text fields and multipart framing.
    app.config.setdefault("MAX_CONTENT_LENGTH", evidence_cap + 1024 * 1024)
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=3600 * 4,
    )
    app.session_interface = _SessionInterface()
    ratelimit.init_app(app)
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
