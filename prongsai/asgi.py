"""One ASGI app, one port: ``/data/`` goes to Datasette, everything else to the Flask portal."""
from __future__ import annotations

import pathlib
import socket

from a2wsgi import WSGIMiddleware
from datasette.app import Datasette
from datasette.database import Database

from prongsai import datasette_inspect
from prongsai.asgi_guards import guard
from prongsai.core.config import ROOT, load_metadata

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


def create_asgi_app(db_path, complaints_db_path=None, *, flask_app=None):
    """The combined app served by ``prongsai serve``."""
    from portal import create_app

    if flask_app is None:
        overrides = {"DATABASE": str(db_path)}
        if complaints_db_path:
            overrides["COMPLAINTS_DATABASE"] = str(complaints_db_path)
        flask_app = create_app(overrides)
    datasette = create_datasette(db_path)
    datasette_app = datasette.app()
    portal_app = WSGIMiddleware(flask_app)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await _lifespan(datasette, receive, send)
            return
        path = scope.get("path", "")
        if path == DATA_PREFIX.rstrip("/"):
            await _redirect(send, DATA_PREFIX)
        elif path.startswith(DATA_PREFIX):
            await datasette_app(scope, receive, send)
        else:
            await portal_app(scope, receive, send)

    app.datasette = datasette
    app.flask_app = flask_app
    return guard(app, flask_app, DATA_PREFIX)  # per-route body limits before buffering; one set of headers


def app_from_environment():
    """The combined app in each worker process of ``prongsai serve --workers N``."""
    import os

    return create_asgi_app(os.environ["PRONGSAI_SERVE_DB"], os.environ.get("PRONGSAI_SERVE_COMPLAINTS_DB"))


def serve_workers(db_path, complaints_db_path, *, workers: int, **options) -> None:
    """``prongsai serve --workers N``: uvicorn starts N processes, each building the app from the environment."""
    import os

    import uvicorn

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


async def _lifespan(datasette, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await datasette.invoke_startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _redirect(send, location):
    await send({"type": "http.response.start", "status": 302,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
