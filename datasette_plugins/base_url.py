"""Serve Datasette under ``base_url`` (``/data/``) with links that carry the prefix once.

Datasette 0.65 builds its export, sort, facet and "hide SQL" links as ``urls.path(request.path
…)``, which adds ``base_url`` to a path that must not already hold it: it expects a proxy that
strips the prefix. We mount it without such a proxy (``prongsai.asgi``, ``datasette.client``),
so this wrapper strips the prefix itself, and every generated link has it exactly once.
"""
from __future__ import annotations

from datasette import hookimpl


def strip_prefix(prefix: str, path: str) -> str:
    """``/data/procurement`` -> ``/procurement`` for the prefix ``/data/``; other paths unchanged."""
    if prefix != "/" and (path + "/").startswith(prefix):
        return "/" + path[len(prefix):]
    return path


@hookimpl
def asgi_wrapper(datasette):
    prefix = datasette.setting("base_url")

    def wrap(app):
        async def base_url(scope, receive, send):
            if scope["type"] == "http" and prefix != "/":
                scope = dict(scope, path=strip_prefix(prefix, scope["path"]))
                if scope.get("raw_path") is not None:
                    raw = scope["raw_path"].decode("latin-1")
                    scope["raw_path"] = strip_prefix(prefix, raw).encode("latin-1")
            await app(scope, receive, send)

        return base_url

    return wrap
