"""Thai search in Datasette: ``?_search=`` answered by the portal's index and query builder.

The search indexes (``prongsai/derive/search_index.py``) key project rows newest first, not by
``projects.rowid``, and find words shorter than three code points through their own list of
trigrams, so Datasette's own FTS clause cannot use them. A ``?_search=`` (or
``?_search_<column>=``) on a searchable table is rewritten to ``?_contains=``
(``?_contains_<column>=``), which this plugin answers as the portal does, through the index: every
word of any length, Thai digits folded as in the index, no scan of the table.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils.asgi import Forbidden

from prongsai.derive.search_index import (
    SEARCHES,
    VERSION,
    fold,
    fts_table,
    projects_match,
    source_rowid_sql,
    text_match,
    text_table,
)

DATABASE = "procurement"
FALLBACK_ARG = "_contains"


def _searchable_table(datasette, path: str) -> str | None:
    path = path.removeprefix(datasette.setting("base_url").rstrip("/"))  # whichever wrapper runs first
    for suffix in (".json", ".csv"):
        path = path.removesuffix(suffix)
    return next((table for table in SEARCHES if path == f"/{DATABASE}/{table}"), None)


def rewrite_query_string(datasette, path: str, query_string: bytes) -> bytes:
    pairs = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    table = _searchable_table(datasette, path)
    out = []
    for key, value in pairs:
        if key.startswith("_search") and key != "_searchmode":
            value = fold(value)
            column = key.removeprefix("_search").removeprefix("_")
            if table and value.strip() and (not column or column in SEARCHES[table][1]):
                key = FALLBACK_ARG + key.removeprefix("_search")
        out.append((key, value))
    return urlencode(out).encode("ascii")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def thai_search(scope, receive, send):
            if scope["type"] == "http" and b"_search" in scope.get("query_string", b""):
                scope = dict(scope, query_string=rewrite_query_string(
                    datasette, scope["path"], scope["query_string"]))
            await app(scope, receive, send)

        return thai_search

    return wrap


@hookimpl
def filters_from_request(request, database, table, datasette):
    if database != DATABASE or table not in SEARCHES:
        return None
    searches = [(key.removeprefix(FALLBACK_ARG).removeprefix("_"), request.args.get(key, "")) for key in request.args
                if key.startswith(FALLBACK_ARG) and request.args.get(key, "").strip()]
    if not searches:
        return None

    async def inner():
        db = datasette.get_database(database)
        version = (await db.execute("SELECT value FROM meta WHERE key = 'search_index'")).first()
        if version is None or version[0] != VERSION:
            raise Forbidden("The search index of this database is missing or of another version: "
                            "run prongsai build.")
        clauses, params, described = [], {}, []
        for i, (column, query) in enumerate(searches):
            clause, values = await db.execute_fn(lambda conn, query=query, column=column, i=i: _clause(
                conn, table, column, query, f"search_{i}"))
            clauses.append(clause)
            params.update(values)
            described.append(f'{column + " " if column else ""}contains "{query}"')
        return FilterArguments(clauses, params, described, {"search": searches[0][1]})

    return inner()


def _clause(conn, table: str, column: str, query: str, name: str) -> tuple[str, dict]:
    """The WHERE clause (and its named values) of one search of ``table``. Project titles take the
    portal's way, the rarest parts in the MATCH and the rest checked on each row."""
    fts, rowid = fts_table(table), source_rowid_sql(table, "f.rowid")
    if table == "projects" and column in ("", "title"):
        search = projects_match(conn, query)
        if search is None:
            return "0", {}
        values = {name: search.match}
        checks = ""
        for sql, check_values in search.checks:
            for value in check_values:
                values[f"{name}_{len(values)}"] = value
                sql = sql.replace("?", f":{name}_{len(values) - 1}", 1)
            checks += " AND " + sql
        join = f"CROSS JOIN [{text_table(table)}] t ON t.key = f.rowid" if checks else ""
        return f"rowid IN (SELECT {rowid} FROM [{fts}] f {join} WHERE f.[{fts}] MATCH :{name}{checks})", values
    match = text_match(conn, table, query)
    if match is None:
        return "0", {}
    return (f"rowid IN (SELECT {rowid} FROM [{fts}] f WHERE f.[{fts}] MATCH :{name})",
            {name: f"{{{column}}} : ({match})" if column else match})


@hookimpl
def prepare_connection(conn):
    """``prongsai_fold(text)`` in SQL: fold a query the way the index was folded."""
    conn.create_function("prongsai_fold", 1, fold, deterministic=True)
