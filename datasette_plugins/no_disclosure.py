"""Nothing about the server in public: no versions, compile options or file paths under ``/data/``.

Datasette's ``/-/versions`` names the exact Python, Datasette, uvicorn and SQLite builds (what an
attacker looks up first), ``/-/threads`` shows stacks with the server's paths, ``/-/plugins`` the
installed plugins and their versions: all three are not found. ``/-/databases`` lists the
databases without their path. In SQL, ``pragma_database_list`` reads its ``file`` column as NULL
(Datasette's own ``PRAGMA database_list`` statement, which users cannot send, still works), and
the functions that report the SQLite build are not authorized (Datasette already refuses
``pragma_compile_options``). ``/-/settings`` stays:
the limits it shows are public policy, not secrets.
"""
from __future__ import annotations

import sqlite3

from datasette import NotFound, Response, hookimpl

BUILD_FUNCTIONS = {"sqlite_version", "sqlite_source_id", "sqlite_compileoption_get", "sqlite_compileoption_used"}


def _authorizer(action, arg1, arg2, _database, _trigger):
    if action == sqlite3.SQLITE_READ and arg1 == "pragma_database_list" and arg2 == "file":
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    if action == sqlite3.SQLITE_FUNCTION and arg2 in BUILD_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn):
    conn.set_authorizer(_authorizer)


async def _not_found():
    raise NotFound("Not found")


async def _databases(datasette):
    return Response.json([
        {"name": name, "route": db.route, "is_mutable": db.is_mutable, "is_memory": db.is_memory, "hash": db.hash}
        for name, db in datasette.databases.items() if name != "_internal"
    ])


@hookimpl
def register_routes():
    """Plugin routes come before Datasette's own, so these replace its pages of the same path."""
    return [
        (r"^/-/(versions|threads|plugins)(\.json)?$", _not_found),
        (r"^/-/databases(\.json)?$", _databases),
    ]
