"""ASGI-layer guards: refuse oversized bodies before anything buffers them, and harden ``/data/``.

WSGI adapters hand Flask a body they may already have buffered, so ``MAX_CONTENT_LENGTH`` alone
comes too late for a 2 GB upload: the size is checked here, by ``Content-Length`` up front and by
the bytes actually streamed. Chunked uploads (no length, which WSGI cannot read) are counted into
a spool file up to the cap and handed on with a length. Datasette's pages carry inline
scripts, so ``/data/`` gets the reduced header set (no script CSP); the portal sets its own.
"""
from __future__ import annotations

import tempfile

DATA_HEADERS = [
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

TOO_LARGE = ("413 — ส่งข้อมูลใหญ่เกินกำหนด ไม่มีการบันทึกข้อมูลใด ๆ "
             "/ The upload is larger than allowed; nothing was stored.\n").encode()


class Guarded:
    """Wraps the combined app; attributes (``datasette``, ``flask_app``) pass through."""

    def __init__(self, app, *, max_body: int | None, data_prefix: str = "/data/"):
        self.app = app
        self.max_body = max_body
        self.data_prefix = data_prefix

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").startswith(self.data_prefix):
            send = _with_headers(send, DATA_HEADERS + ([HSTS] if scope.get("scheme") == "https" else []))
        if self.max_body is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _too_large(send)
            return
        if declared is None and _header(scope, b"transfer-encoding"):
            await self._spool_chunked(scope, receive, send)
            return
        await self._stream_limited(scope, receive, send)

    async def _spool_chunked(self, scope, receive, send):
        """A chunked body has no length for WSGI: count it into a spool file (up to the cap),
        then hand it on with a Content-Length; over the cap → 413 as soon as the cap is passed."""
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            total, more = 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                total += len(chunk)
                if total > self.max_body:
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

    async def _stream_limited(self, scope, receive, send):
        state = {"received": 0, "refused": False, "started": False}

        async def limited_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_body:
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


def _with_headers(send, extra):
    names = {name for name, _ in extra}

    async def wrapped(message):
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
            message = {**message, "headers": headers + extra}
        await send(message)

    return wrapped


async def _too_large(send):
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(TOO_LARGE)).encode()),
                            (b"connection", b"close")] + DATA_HEADERS[1:]})
    await send({"type": "http.response.body", "body": TOO_LARGE})


def guard(app, flask_app):
    """The combined app behind the guards, with the body cap taken from the portal's config."""
    return Guarded(app, max_body=flask_app.config.get("MAX_CONTENT_LENGTH"))
