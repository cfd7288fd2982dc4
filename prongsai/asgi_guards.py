"""The door of the process: refuse oversized bodies before anything buffers them, decide the
scheme once, and put one set of headers on every response, the portal's and ``/data/``'s alike.

WSGI adapters hand Flask a body they may already have buffered, so Flask's own limit alone comes
too late for a 2 GB upload: each route's limit (``portal.security.body_limit``) is checked here,
by ``Content-Length`` up front and by the bytes actually streamed. Chunked uploads (no length,
which WSGI cannot read) are counted into a spool file up to the limit and handed on with a
length. Behind Fly's proxy the scheme is the proxy's ``X-Forwarded-Proto`` for both apps, so
HSTS goes out on Datasette's pages too. The headers are ``portal.security``'s; Datasette's pages
carry inline scripts, so ``/data/`` gets its own CSP.
"""
from __future__ import annotations

import tempfile

from portal import security

#: Datasette answers GETs; its few POSTs (none writes) carry a handful of fields.
DATA_MAX_BODY = 64 * 1024

TOO_LARGE = ("413 — ส่งข้อมูลใหญ่เกินกำหนด ไม่มีการบันทึกข้อมูลใด ๆ "
             "/ The upload is larger than allowed; nothing was stored.\n").encode()


def _encoded(pairs):
    return [(name.lower().encode(), value.encode()) for name, value in pairs]


SHARED_HEADERS = _encoded(security.HEADERS)
HSTS = _encoded([security.HSTS])
PORTAL_CSP = _encoded([("Content-Security-Policy", security.CSP)])
DATA_CSP = _encoded([("Content-Security-Policy", security.DATA_CSP)])


class Guarded:
    """Wraps the combined app; attributes (``datasette``, ``flask_app``) pass through.

    ``body_limit(scope)`` is the largest body the request's route accepts, in bytes."""

    def __init__(self, app, *, body_limit, behind_proxy: bool = False, data_prefix: str = "/data/"):
        self.app = app
        self.body_limit = body_limit
        self.behind_proxy = behind_proxy
        self.data_prefix = data_prefix

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = _header(scope, b"x-forwarded-proto")
        scope = {**scope, "scheme": security.request_scheme(
            scope.get("scheme", "http"), forwarded and forwarded.decode("latin-1"), self.behind_proxy)}
        https = HSTS if scope["scheme"] == "https" else []
        if scope.get("path", "").startswith(self.data_prefix):
            send = _with_headers(send, SHARED_HEADERS + DATA_CSP + https, defaults=[])
        else:  # a portal view may set a stricter CSP than the default
            send = _with_headers(send, SHARED_HEADERS + https, defaults=PORTAL_CSP)
        limit = self.body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send)
            return
        if declared is None and _header(scope, b"transfer-encoding"):
            await self._spool_chunked(scope, receive, send, limit)
            return
        await self._stream_limited(scope, receive, send, limit)

    async def _spool_chunked(self, scope, receive, send, limit):
        """A chunked body has no length for WSGI: count it into a spool file (up to the limit),
        then hand it on with a Content-Length; over the limit → 413 as soon as it is passed."""
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            total, more = 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                total += len(chunk)
                if total > limit:
                    await _too_large(send)
                    return
                spool.write(chunk)
                more = message.get("more_body", False)
            spool.seek(0)
            headers = [(n, v) for n, v in scope["headers"] if n != b"transfer-encoding"]
            scope = {**scope, "headers": headers + [(b"content-length", str(total).encode())]}
            sent_body = False

            async def replay():
                nonlocal sent_body
                if sent_body:
                    return await receive()
                sent_body = True
                return {"type": "http.request", "body": spool.read(), "more_body": False}

            await self.app(scope, replay, send)

    async def _stream_limited(self, scope, receive, send, limit):
        state = {"received": 0, "refused": False, "started": False}

        async def limited_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["refused"] = True
                    if not state["started"]:
                        state["started"] = True
                        await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["refused"]:
                return  # our 413 already went out; the app's late answer is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


def _header(scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value
    return None


def _content_length(scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _with_headers(send, forced, *, defaults):
    """``forced`` replace the app's headers of the same name; ``defaults`` fill in missing ones."""
    names = {name for name, _ in forced}

    async def wrapped(message):
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
            present = {n.lower() for n, _ in headers}
            headers += forced + [(n, v) for n, v in defaults if n not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _too_large(send):
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(TOO_LARGE)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": TOO_LARGE})


def guard(app, flask_app, data_prefix: str):
    """The combined app behind the door: body limits and the proxy switch from the portal."""

    def body_limit(scope):
        if scope["path"].startswith(data_prefix):
            return DATA_MAX_BODY
        return security.body_limit_for_path(flask_app, scope["path"], scope["method"])

    return Guarded(app, body_limit=body_limit, behind_proxy=bool(flask_app.config.get("BEHIND_FLY_PROXY")),
                   data_prefix=data_prefix)
