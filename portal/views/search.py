"""Search: Thai (or English) words over projects, agencies and suppliers, with filters.

Every search is one query of the trigram index that ``prongsai build`` writes
(``prongsai/derive/search_index.py``): words of any length, filters and the newest-first order
are all in the index, so a search costs what it finds, never the size of the table. The total is
exact up to ``COUNT_CAP`` when counting fits ``COUNT_SECONDS``, else "more than" what is known.
A query that still overruns its budget asks for a filter instead of hanging.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.db import TooSlow, get_db, get_meta, query_within
from portal.flagtext import definitions
from portal.params import MAX_PAGE, BadParameter, choice_arg, page_arg
from portal.provinces import TILES
from portal.views.main import fiscal_years
from prongsai.derive.search_index import VERSION as INDEX_VERSION
from prongsai.derive.search_index import (
    fts_table,
    project_key,
    projects_match,
    source_rowid_sql,
    text_match,
    text_table,
)

bp = Blueprint("search", __name__)

PAGE_SIZE = 20
MAX_QUERY = 100
SEARCH_SECONDS = 0.5
COUNT_SECONDS = 0.01
COUNT_CAP = 1_000
#: the trigram index over project titles and filters (prongsai/derive/search_index.py)
FTS_TABLE = fts_table("projects")
TEXT_TABLE = text_table("projects")


@bp.route("/search")
def search():
    db = get_db()
    q = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    methods = [r[0] for r in db.execute("SELECT DISTINCT method FROM agg_spend_method ORDER BY method")]
    provinces = sorted(set(TILES) | {r[0] for r in db.execute("SELECT DISTINCT province FROM agg_spend_province")})
    defs = definitions()
    years = fiscal_years()
    filters = {
        "fiscal_year": choice_arg("fiscal_year", [str(y) for y in years]),
        "method": choice_arg("method", methods),
        "province": choice_arg("province", provinces),
        "flag": choice_arg("flag", defs),
    }
    agency = _agency_arg()
    page = page_arg()
    searched = bool(q) or any(filters.values()) or agency is not None
    projects, total, agencies, suppliers, too_broad = [], None, [], [], False
    if searched:
        try:
            projects, total = _projects(q, dict(filters, agency=agency["id"] if agency else None), page,
                                        {"method": methods, "province": provinces})
        except TooSlow:
            too_broad = True
        if q and page == 1:
            try:
                agencies, suppliers = _agencies(q), _suppliers(q)
            except TooSlow:
                too_broad = True
    has_next = len(projects) > PAGE_SIZE and page < MAX_PAGE
    args = {k: v for k, v in dict(filters, q=q, agency=agency["id"] if agency else None).items() if v}
    return render_template(
        "search.html", q=q, filters=filters, page=page, projects=projects[:PAGE_SIZE], has_next=has_next,
        total=total, agencies=agencies, suppliers=suppliers, too_broad=too_broad, agency=agency,
        searched=searched, args=args, methods=methods, provinces=provinces, years=years, flag_defs=defs,
        page_size=PAGE_SIZE)


def _agency_arg():
    """``?agency=<id>``: one buyer's projects (a 400 when no such agency)."""
    agency_id = request.args.get("agency", "").strip()
    if not agency_id:
        return None
    row = get_db().execute("SELECT id, name_th FROM agencies WHERE id = ?", [agency_id]).fetchone()
    if row is None:
        raise BadParameter("agency", agency_id)
    return row


_COLUMNS = """p.project_id, p.title, p.announce_date, p.budget, p.currency, p.method, p.province, p.fiscal_year,
              b.name_th AS buyer_name, p.buyer_id, r.score, r.codes"""
_JOINS = """LEFT JOIN agencies b ON b.id = p.buyer_id
            LEFT JOIN risk_scores r ON r.project_id = p.project_id"""


def _projects(q: str, filters: dict, page: int, names: dict) -> tuple[list, dict]:
    """One page of projects, newest first (``PAGE_SIZE + 1`` rows when there is a next page),
    and the total: ``{"n": count, "exact": bool}``.

    A query that is exactly a project number puts that project first on the first page."""
    db = get_db()
    if not _has_index():
        raise TooSlow()
    facets = {"fiscal_year": int(filters["fiscal_year"]) if filters["fiscal_year"] else None,
              "method": filters["method"], "province": filters["province"], "flag": filters["flag"],
              "buyer": filters["agency"]}
    exact = _exact_project(q, facets) if q else None
    search = projects_match(db, q, facets, names)
    offset = (page - 1) * PAGE_SIZE
    skip = exact["key"] if exact else -1
    rows = [] if search is None else query_within(
        f"""SELECT {_COLUMNS} FROM (SELECT f.rowid AS key {_matching(search)} ORDER BY f.rowid LIMIT ? OFFSET ?) m
            JOIN projects p ON p.rowid = {source_rowid_sql("projects", "m.key")}
            {_JOINS}
            ORDER BY m.key""", [*_params(search, skip), PAGE_SIZE + 1, offset], SEARCH_SECONDS)
    extra = 1 if exact else 0
    if len(rows) > PAGE_SIZE:
        total = _count(search, skip, extra, known=offset + PAGE_SIZE + extra)
    elif rows or page == 1:
        total = {"n": offset + len(rows) + extra, "exact": True}
    else:
        total = None  # past the last page
    if exact and page == 1:
        rows = [exact["row"], *rows]
    return rows, total


def _matching(search) -> str:
    """FROM and WHERE of the index rows a search finds (``_params`` gives the values)."""
    join = f"CROSS JOIN [{TEXT_TABLE}] t ON t.key = f.rowid" if search.checks else ""
    return (f"FROM [{FTS_TABLE}] f {join} WHERE f.[{FTS_TABLE}] MATCH ? AND f.rowid BETWEEN ? AND ? "
            "AND f.rowid != ?" + "".join(f" AND {sql}" for sql, _ in search.checks))


def _params(search, skip: int) -> list:
    return [search.match, *search.keys, skip, *(value for _, values in search.checks for value in values)]


def _count(search, skip: int, extra: int, known: int) -> dict:
    """Exact up to COUNT_CAP when it can be counted within COUNT_SECONDS, else "more than"
    ``known`` (what the page already proves); ``extra``: the exact-number hit, counted apart."""
    try:
        n = query_within(f"SELECT count(*) FROM (SELECT 1 {_matching(search)} LIMIT ?)",
                         [*_params(search, skip), COUNT_CAP + 1], COUNT_SECONDS)[0][0]
    except TooSlow:
        return {"n": known, "exact": False}
    if n > COUNT_CAP:
        return {"n": COUNT_CAP, "exact": False}
    return {"n": n + extra, "exact": True}


def _exact_project(q: str, facets: dict):
    """The project whose number is ``q``, when it passes the filters: {"row", "key"} or None."""
    db = get_db()
    key = project_key(db, q)
    if key is None:
        return None
    if any(v is not None for v in facets.values()):
        search = projects_match(db, "", facets)
        if search is None or not db.execute(f"SELECT 1 FROM [{FTS_TABLE}] WHERE [{FTS_TABLE}] MATCH ? AND rowid = ?",
                                            [search.match, key]).fetchone():
            return None
    row = db.execute(f"SELECT {_COLUMNS} FROM projects p {_JOINS} WHERE p.rowid = {source_rowid_sql('projects', '?')}",
                     [key]).fetchone()
    return {"row": row, "key": key}


def _has_index() -> bool:
    """Whether ``prongsai build`` wrote the search index this code reads."""
    return get_meta("search_index") == INDEX_VERSION


def _organisations(table: str, q: str, columns: str, joins: str, exact: str) -> list:
    """Agencies or suppliers named by ``q``: an exact id (or tax id) first, then names holding
    every word, biggest spenders first among the first 500 matches."""
    db = get_db()
    found = query_within(f"SELECT {columns} FROM [{table}] t {joins} WHERE {exact}", [q], SEARCH_SECONDS)
    match = text_match(db, table, q) if _has_index() else None
    if match is not None:
        fts = fts_table(table)
        found += query_within(
            f"""SELECT {columns} FROM (SELECT rowid AS key FROM [{fts}] WHERE [{fts}] MATCH ? LIMIT 500) m
                JOIN [{table}] t ON t.rowid = m.key {joins}
                ORDER BY x.amount DESC LIMIT 10""", [match], SEARCH_SECONDS)
    seen, out = set(), []
    for row in found:
        if row["id"] not in seen:
            seen.add(row["id"])
            out.append(row)
    return out[:10]


def _agencies(q: str) -> list:
    return _organisations(
        "agencies", q, "t.id, t.name_th, t.name_en, t.province, t.ministry, x.projects, x.amount",
        "LEFT JOIN agg_agency x ON x.agency_id = t.id", "t.id = ?1")


def _suppliers(q: str) -> list:
    return _organisations(
        "suppliers", q, "t.id, t.name_th, t.tax_id_status, x.wins, x.amount",
        "LEFT JOIN agg_supplier x ON x.supplier_id = t.id", "t.id = ?1 OR t.tax_id = ?1")
