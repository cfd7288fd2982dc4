"""One ASGI app, one port: ``/data/`` goes to Datasette, everything else to the Flask portal."""
from __future__ import annotations

import pathlib

import yaml
from a2wsgi import WSGIMiddleware
from datasette.app import Datasette
from datasette.database import Database

from prongsai import datasette_inspect
from prongsai.asgi_guards import guard
from prongsai.config import ROOT

DATA_PREFIX = "/data/"
DATASETTE_NAME = "procurement"
METADATA = ROOT / "metadata.yml"
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


def load_metadata() -> dict:
    return yaml.safe_load(METADATA.read_text(encoding="utf-8")) if METADATA.exists() else {}


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
    return guard(app, flask_app)  # body size limit before buffering; headers under /data/


def app_from_environment():
    """The combined app in each worker process of ``prongsai serve --workers N``."""
    import os

    return create_asgi_app(os.environ["PRONGSAI_SERVE_DB"], os.environ.get("PRONGSAI_SERVE_COMPLAINTS_DB"))


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
