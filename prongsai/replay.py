"""One writer: a read copy sends every request that writes, or reads private data, to the primary.

Only the primary has the volume with ``complaints.db``. A copy holds the public database alone, so
it may serve what reads that file (portal pages, Datasette at ``/data/``) and nothing else:

- any method but GET, HEAD and OPTIONS, on any path (portal, ``/data/``, unknown);
- every route of the private side (the blueprints defined under ``portal.complaints``: report,
  track, login, moderation, agency replies; ``portal.watch``: following by e-mail; ``portal.line``:
  the LINE webhook), GET included, since their pages read complaints.db and their forms carry
  tokens the primary checks;
- the GET routes elsewhere that write anyway (``PRIMARY_GETS``).

It answers them before reading any body, with a ``fly-replay`` header naming the primary: Fly's
proxy then sends the same request there. The proxy holds at most ``REPLAY_LIMIT`` of a body to
replay it, so a larger (or chunked, so unknown) body is sent on with a 307 to the primary's own
URL instead, which keeps the method and the body. A request that was already replayed and still
reached a copy is refused, never replayed again (a loop means the primary is misnamed).

That URL is the public hostname on a port only the primary serves (fly.toml). Session cookies
ignore ports, but behind HTTPS Flask-WTF checks that the Referer has the request's scheme, host
and port: the 307 asks the browser for the site's origin as Referer (``strict-origin``), and the
primary (``PrimaryDoor``) hands a request that came in through its door to the app under the
public host, so that check compares like with like.
"""
from __future__ import annotations

import dataclasses
import os
import re
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import HTTPException

from prongsai.core.errors import UserError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Fly's proxy refuses to replay a request whose body is larger (docs: "Requests larger than 1MB
#: cannot be replayed").
REPLAY_LIMIT = 1024 * 1024
#: Blueprints defined in these packages read or write complaints.db: they live on the primary.
PRIVATE_PACKAGES = ("portal.complaints", "portal.watch", "portal.line")
#: GET endpoints outside the private packages that write (or spend a one-time token). Empty today:
#: logout is a POST and every token link is in a private package; add any new one here.
PRIMARY_GETS: frozenset[str] = frozenset()

ROLES = ("primary", "copy")
_MACHINE_ID = re.compile(r"[0-9a-z]{6,32}")
_REGION = re.compile(r"[a-z]{3}")

MISDIRECTED = ("421 — เครื่องนี้เป็นสำเนาอ่านอย่างเดียว คำขอนี้ต้องไปที่เครื่องหลัก "
               "/ This machine is a read-only copy; this request belongs on the primary.\n").encode()
LOOP = ("508 — A replayed request reached a read copy again: PRONGSAI_PRIMARY_INSTANCE (or _REGION) "
        "does not name the primary. Nothing was stored.\n").encode()


@dataclasses.dataclass(frozen=True)
class Role:
    """What this machine is, from the environment (``PRONGSAI_ROLE``; docs/scaling.md, step 3)."""

    name: str = "primary"
    #: the ``fly-replay`` value that names the primary (copies only)
    replay: str | None = None
    #: the primary's own URL: where a body too large to replay goes, where its build id is read
    primary_url: str | None = None

    @property
    def copy(self) -> bool:
        return self.name == "copy"


def role_from_environment(environ=None) -> Role:
    """``PRONGSAI_ROLE`` = ``primary`` (the default: one machine) or ``copy``. A copy needs the
    primary's machine id (``PRONGSAI_PRIMARY_INSTANCE``) or, when the primary is alone in its
    region, ``PRONGSAI_PRIMARY_REGION``; ``PRONGSAI_PRIMARY_URL``; and ``PRONGSAI_SECRET_KEY``,
    so that every machine signs sessions and forms with the same key."""
    environ = os.environ if environ is None else environ
    name = environ.get("PRONGSAI_ROLE", "primary").strip() or "primary"
    if name not in ROLES:
        raise UserError(f"PRONGSAI_ROLE={name!r}: expected one of {', '.join(ROLES)}")
    url = environ.get("PRONGSAI_PRIMARY_URL", "").strip().rstrip("/")
    url_ok = urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)
    if name == "primary":
        if url and not url_ok:
            raise UserError(f"PRONGSAI_PRIMARY_URL={url!r} is not an http(s) URL of the primary")
        return Role(primary_url=url or None)
    problems = []
    instance = environ.get("PRONGSAI_PRIMARY_INSTANCE", "").strip()
    region = environ.get("PRONGSAI_PRIMARY_REGION", "").strip()
    if instance:
        if not _MACHINE_ID.fullmatch(instance):
            problems.append(f"PRONGSAI_PRIMARY_INSTANCE={instance!r} is not a Fly machine id")
        replay = f"instance={instance}"
    elif region:
        if not _REGION.fullmatch(region):
            problems.append(f"PRONGSAI_PRIMARY_REGION={region!r} is not a three-letter Fly region")
        replay = f"region={region}"
    else:
        replay = None
        problems.append("set PRONGSAI_PRIMARY_INSTANCE (the primary's machine id: fly machines list) "
                        "or PRONGSAI_PRIMARY_REGION")
    if not url_ok:
        problems.append(f"PRONGSAI_PRIMARY_URL={url!r} is not an http(s) URL of the primary")
    if not environ.get("PRONGSAI_SECRET_KEY"):
        problems.append("PRONGSAI_SECRET_KEY is unset: every machine must sign with the same key")
    if problems:
        raise UserError("PRONGSAI_ROLE=copy: " + "; ".join(problems))
    return Role("copy", replay, url)


def served_by_primary(flask_app, method: str, path: str, data_prefix: str = "/data/") -> bool:
    """Whether a copy must hand this request to the primary (the rules in the module docstring)."""
    if method not in SAFE_METHODS:
        return True
    if path.startswith(data_prefix):
        return False  # Datasette over the immutable public file
    try:
        endpoint, _args = flask_app.url_map.bind("").match(path, method=method)
    except HTTPException:  # not found, redirect: answered here, without touching any database
        return False
    return endpoint in PRIMARY_GETS or private_endpoint(flask_app, endpoint)


def private_endpoint(flask_app, endpoint: str) -> bool:
    """An endpoint of a blueprint defined in a private package (its static files excepted)."""
    blueprint, _dot, name = endpoint.rpartition(".")
    if name == "static":
        return False
    module = flask_app.blueprints[blueprint].import_name if blueprint else \
        flask_app.view_functions[endpoint].__module__
    return any(module == package or module.startswith(package + ".") for package in PRIVATE_PACKAGES)


class OneWriter:
    """The outermost layer of the app on a copy: it decides from the method, path and headers
    alone, so nothing below it (nor it) has read a byte of the body when it answers."""

    def __init__(self, app, flask_app, role: Role, data_prefix: str = "/data/"):
        self.app = app
        self.flask_app = flask_app
        self.role = role
        self.data_prefix = data_prefix

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.role.copy or \
                not served_by_primary(self.flask_app, scope["method"], scope["path"], self.data_prefix):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if b"fly-replay-src" in headers:
            await _answer(send, 508, LOOP)
            return
        length = headers.get(b"content-length")
        fits = length is not None and length.isdigit() and int(length) <= REPLAY_LIMIT
        if b"transfer-encoding" in headers or (length is not None and not fits):
            location = self.role.primary_url + quote(scope.get("root_path", "") + scope["path"])
            if scope.get("query_string"):
                location += "?" + scope["query_string"].decode("latin-1")
            await _answer(send, 307, b"", [(b"location", location.encode("latin-1")),
                                           (b"referrer-policy", b"strict-origin")])
            return
        await _answer(send, 421, MISDIRECTED, [(b"fly-replay", self.role.replay.encode())])


async def _answer(send, status: int, body: bytes, headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class PrimaryDoor:
    """On the primary: a request through its own door (``PRONGSAI_PRIMARY_URL``, where a copy's
    307 sends large uploads) reaches the app as the public site's, under the public host (the
    door's hostname without its port)."""

    def __init__(self, app, primary_url: str):
        self.app = app
        door = urlsplit(primary_url)
        self.door = door.netloc.encode("latin-1") if door.port else None
        self.public = (door.hostname or "").encode("latin-1")

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.door:
            headers = scope.get("headers", [])
            if (b"host", self.door) in headers:
                scope = {**scope, "headers": [(n, self.public if n == b"host" else v) for n, v in headers]}
        await self.app(scope, receive, send)
