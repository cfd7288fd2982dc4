"""Thai search in Datasette: digits folded in queries, and a LIKE fallback for short terms.

The trigram indexes (``prongsai/derive/search_index.py``) find any Thai substring of three or more
code points but never a shorter one, so a ``?_search=`` with a shorter term is rewritten to
``?_contains=``, which this plugin answers with LIKE over the same folded text. Thai digits are
folded to Arabic in every ``_search`` value, as they are in the index.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.filters import FilterArguments

from prongsai.derive.search_index import SEARCHES, TRIGRAM, fold, text_table

DATABASE = "procurement"
FALLBACK_ARG = "_contains"


def needs_fallback(query: str) -> bool:
    return any(len(term) < TRIGRAM for term in query.split())


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
            if key == "_search" and table and value.strip() and needs_fallback(value):
                key = FALLBACK_ARG
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
    query = request.args.get(FALLBACK_ARG)
    if database != DATABASE or table not in SEARCHES or not query or not query.strip():
        return None
    _, columns = SEARCHES[table]
    clauses, params = [], {}
    for i, term in enumerate(fold(query).split()):
        params[f"contains_{i}"] = f"%{_escape_like(term)}%"
        clauses.append("(" + " OR ".join(f"[{c}] LIKE :contains_{i} ESCAPE '\\'" for c in columns) + ")")
    # EXISTS, not IN: a page of results stops at its last row instead of scanning every title first.
    where = (f"EXISTS (SELECT 1 FROM [{text_table(table)}] WHERE source_rowid = [{table}].rowid AND "
             + " AND ".join(clauses) + ")")
    return FilterArguments([where], params, [f'contains "{query}"'], {"search": query})


@hookimpl
def prepare_connection(conn):
    """``prongsai_fold(text)`` in SQL: fold a query the way the index was folded."""
    conn.create_function("prongsai_fold", 1, fold, deterministic=True)
