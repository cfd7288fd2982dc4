"""One ASGI app, one port: ``/data/`` goes to Datasette, everything else to the Flask portal."""
from __future__ import annotations

import asyncio
import pathlib
import socket

from a2wsgi import WSGIMiddleware
from datasette.app import Datasette
from datasette.database import Database

from prongsai import datasette_inspect
from prongsai.asgi_guards import guard
from prongsai.copies import DEFAULT_INTERVAL, PrimaryWatch
from prongsai.core.config import ROOT, load_metadata
from prongsai.replay import OneWriter, PrimaryDoor, Role, role_from_environment

DATA_PREFIX = "/data/"
DATASETTE_NAME = "procurement"
PLUGINS_DIR = ROOT / "datasette_plugins"
TEMPLATES_DIR = ROOT / "datasette_templates"

#: Datasette settings for the public instance (documented in metadata.yml's description).
SETTINGS = {
    "base_url": DATA_PREFIX,
    "sql_time_limit_ms": 3000,
    "max_returned_rows": 1000,
    "allow_csv_stream": True,
    "max_csv_mb": 0,
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
    "suggest_facets": False,  # suggestions scan every column of a 1M-row table; metadata.yml names the facets
    "num_sql_threads": 3,
}


def create_datasette(db_path, *, inspect_file=None) -> Datasette:
    """Datasette over the public database only, read-only and immutable, always named ``procurement``."""
    db_path = pathlib.Path(db_path)
    inspect_data = datasette_inspect.load(db_path, inspect_file)  # written by `prongsai build`
    ds = Datasette(
        metadata=load_metadata(),
        plugins_dir=str(PLUGINS_DIR) if PLUGINS_DIR.exists() else None,
        template_dir=str(TEMPLATES_DIR) if TEMPLATES_DIR.exists() else None,
        settings=SETTINGS,
        inspect_data=inspect_data,
    )
    ds.add_database(Database(ds, path=str(db_path), is_mutable=False), name=DATASETTE_NAME)
    if "_memory" in ds.databases:  # Datasette adds it when started without files; we serve one DB only
        ds.remove_database("_memory")
    return ds


class PublicData:
    """Datasette over the public file, reopened when the file is replaced (``publish`` in place,
    a copy's ``fetch-public``): Datasette keeps its connections, which would go on reading the old
    file. A ``stat`` per ``/data/`` request notices the new one; requests under way finish on the old."""

    def __init__(self, db_path):
        self.db_path = pathlib.Path(db_path)
        self._lock = asyncio.Lock()
        self._open()

    def _open(self):
        self.identity = _identity(self.db_path)
        self.datasette = create_datasette(self.db_path)
        self.app = self.datasette.app()

    async def __call__(self, scope, receive, send):
        if _identity(self.db_path) not in (self.identity, None):
            async with self._lock:
                if _identity(self.db_path) not in (self.identity, None):
                    self._open()
                    await self.datasette.invoke_startup()
        await self.app(scope, receive, send)


def _identity(path: pathlib.Path):
    try:
        st = path.stat()
    except OSError:  # never between the two names of an atomic swap; keep what is open
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class CombinedApp:
    """``/data/`` to Datasette, the rest to the portal; ``datasette`` is the one now open."""

    def __init__(self, public: PublicData, flask_app, on_startup=(), on_shutdown=()):
        self.public = public
        self.flask_app = flask_app
        self.portal_app = WSGIMiddleware(flask_app)
        self.on_startup, self.on_shutdown = on_startup, on_shutdown

    @property
    def datasette(self) -> Datasette:
        return self.public.datasette

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        if path == DATA_PREFIX.rstrip("/"):
            await _redirect(send, DATA_PREFIX)
        elif path.startswith(DATA_PREFIX):
            await self.public(scope, receive, send)
        else:
            await self.portal_app(scope, receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.datasette.invoke_startup()
                for start in self.on_startup:
                    start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for stop in self.on_shutdown:
                    stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_asgi_app(db_path, complaints_db_path=None, *, flask_app=None, role: Role | None = None):
    """The combined app served by ``prongsai serve``; ``role`` defaults to the environment's."""
    from portal import create_app

    role = role or role_from_environment()
    if flask_app is None:
        overrides = {"DATABASE": str(db_path), "ROLE": role.name}
        if complaints_db_path:
            overrides["COMPLAINTS_DATABASE"] = str(complaints_db_path)
        flask_app = create_app(overrides)
    flask_app.config["ROLE"] = role.name
    hooks = _as_copy(flask_app, role, db_path) if role.copy else ((), ())
    app = guard(CombinedApp(PublicData(db_path), flask_app, *hooks), flask_app, DATA_PREFIX)
    # per-route body limits before buffering, one set of headers; on a copy, writes go to the primary first
    if role.copy:
        return OneWriter(app, flask_app, role, DATA_PREFIX)
    return PrimaryDoor(app, role.primary_url) if role.primary_url else app


def _as_copy(flask_app, role: Role, db_path):
    """A copy has no complaints.db: its project pages show no volunteer counts (they live on the
    primary), and it watches the primary's build. Returns the watch's (start, stop) hooks."""
    import os

    flask_app.jinja_env.globals["complaint_counts"] = lambda project_id: {"flags": 0, "reports": 0}
    watch = PrimaryWatch(role.primary_url, db_path, os.environ.get("PRONGSAI_PUBLIC_DB_URL") or None,
                         interval=float(os.environ.get("PRONGSAI_REFRESH_SECONDS") or DEFAULT_INTERVAL))
    flask_app.extensions["primary_build"] = watch.state
    return (watch.start,), (watch.stop,)


def app_from_environment():
    """The combined app in each worker process of ``prongsai serve --workers N``."""
    import os

    return create_asgi_app(os.environ["PRONGSAI_SERVE_DB"], os.environ.get("PRONGSAI_SERVE_COMPLAINTS_DB"))


def serve_workers(db_path, complaints_db_path, *, workers: int, **options) -> None:
    """``prongsai serve --workers N``: uvicorn starts N processes, each building the app from the environment."""
    import os

    import uvicorn

    role_from_environment()  # a copy's settings are checked once, here, not in every worker
    os.environ["PRONGSAI_SERVE_DB"] = str(db_path)
    os.environ["PRONGSAI_SERVE_COMPLAINTS_DB"] = str(complaints_db_path)
    uvicorn.run("prongsai.asgi:app_from_environment", factory=True, workers=workers, **options)


try:  # uvicorn's fast parser when httptools is installed (requirements.txt pins it)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HTTPProtocol
except ImportError:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HTTPProtocol


class NoDelayHTTP(_HTTPProtocol):
    """uvicorn's HTTP protocol with TCP_NODELAY on every connection (``serve`` passes it as ``http=``).

    With ``--workers`` uvicorn binds its shared socket with protocol 0, and asyncio turns on
    TCP_NODELAY only for ``IPPROTO_TCP`` sockets; without it a response's header and body writes
    meet delayed ACKs and each small page waits ~40 ms.
    """

    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


async def _redirect(send, location):
    await send({"type": "http.response.start", "status": 302,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
