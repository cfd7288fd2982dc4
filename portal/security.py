"""Security for every portal route: headers, body limits, cookies, CSRF and the client address.

The address is ``Fly-Client-IP`` only when ``BEHIND_FLY_PROXY`` is set; otherwise the socket peer
(``X-Forwarded-For`` and friends are never trusted); the scheme is ``X-Forwarded-Proto`` under
the same switch. Rate limits are in ``portal.ratelimit``.

The response headers and the body limits are defined here once and applied twice: by Flask, and
by ``prongsai.asgi_guards`` at the door of the process, which also covers Datasette's ``/data/``
and refuses a body before anything reads it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from portal import ratelimit

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Datasette's pages run inline scripts; otherwise they get the portal's policy.
DATA_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
#: On every response of the process, portal and ``/data/`` alike (each side adds its CSP).
HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

#: A form's fields with their multipart framing: the longest text a form takes (20,000
#: characters) percent-encoded as a browser sends it is 20,000 x 12 bytes = 240 KB.
DEFAULT_FORM_BYTES = 256 * 1024
#: The views that read evidence files: their body may carry ``MAX_EVIDENCE_BYTES`` of files
#: besides the fields. Every other request, ``/data/`` included, gets ``MAX_FORM_BYTES``.
UPLOAD_ENDPOINTS = frozenset({"complaints.report", "complaints.track_message", "moderate.redact_file",
                              "reply.answer"})

csrf = CSRFProtect()


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookie ``Secure`` whenever the request came over HTTPS (or config forces it)."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def request_scheme(scheme: str, forwarded_proto: str | None, behind_proxy: bool) -> str:
    """``http`` or ``https`` as the client used it: the proxy's word only behind Fly's proxy."""
    if behind_proxy and forwarded_proto in ("http", "https"):
        return forwarded_proto
    return scheme


def body_limit(app, endpoint: str | None) -> int:
    """The largest request body, in bytes, that ``endpoint`` accepts."""
    limit = app.config["MAX_FORM_BYTES"]
    return limit + app.config["MAX_EVIDENCE_BYTES"] if endpoint in UPLOAD_ENDPOINTS else limit


def body_limit_for_path(app, path: str, method: str) -> int:
    """``body_limit`` found from the URL alone, for the ASGI door that runs before Flask routes."""
    try:
        endpoint, _args = app.url_map.bind("").match(path, method=method)
    except HTTPException:  # not found, wrong method, redirect: the smallest limit
        endpoint = None
    return body_limit(app, endpoint)


class _FlyProxy:
    """Behind Fly's proxy (and only then): client address from Fly-Client-IP, scheme from the proxy."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        client = environ.get("HTTP_FLY_CLIENT_IP", "").strip()
        if client:
            environ["REMOTE_ADDR"] = client
        environ["wsgi.url_scheme"] = request_scheme(environ["wsgi.url_scheme"],
                                                    environ.get("HTTP_X_FORWARDED_PROTO"), True)
        return self.wsgi_app(environ, start_response)


def init_app(app) -> None:
    app.config.setdefault("MAX_EVIDENCE_BYTES", 50 * 1024 * 1024)
    app.config.setdefault("MAX_FORM_BYTES", DEFAULT_FORM_BYTES)
    # Flask defines this key (None), so it is set, not defaulted; upload views raise it per request.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_FORM_BYTES"]
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=3600 * 4,
    )
    app.session_interface = _SessionInterface()

    @app.before_request  # registered before CSRF's check, which parses the form
    def route_body_limit():
        request.max_content_length = body_limit(app, request.endpoint)

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
        response.headers.setdefault("Content-Security-Policy", CSP)  # a view may set a stricter one
        response.headers.update(HEADERS + ((HSTS,) if request.is_secure else ()))
        return response
