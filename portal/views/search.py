"""Search: Thai (or English) substring over projects, agencies and suppliers, with filters.

Projects are scanned newest first and the scan stops once a page is full, so common words
answer at once whatever the size of the table. Rare words would scan everything: the scan
gets a short time budget, after which the trigram full-text index (when the build made one)
answers instead; without it the page asks for a filter rather than hanging.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.db import TooSlow, get_db, query_within
from portal.flagtext import definitions
from portal.params import MAX_PAGE, BadParameter, choice_arg, page_arg
from portal.provinces import TILES
from portal.views.main import fiscal_years

bp = Blueprint("search", __name__)

PAGE_SIZE = 20
MAX_QUERY = 100
SCAN_SECONDS = 0.25
FTS_SECONDS = 2.0
#: the trigram index over project titles (prongsai/derive/search_index.py), when built
FTS_TABLE = "projects_fts"


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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
    projects, agencies, suppliers, too_broad = [], [], [], False
    if searched:
        try:
            projects = _projects(q, dict(filters, agency=agency["id"] if agency else None), page,
                                 also=_also_matches(q, methods, provinces))
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
        agencies=agencies, suppliers=suppliers, too_broad=too_broad, agency=agency, searched=searched, args=args,
        methods=methods, provinces=provinces, years=years, flag_defs=defs, page_size=PAGE_SIZE)


def _agency_arg():
    """``?agency=<id>``: one buyer's projects (a 400 when no such agency)."""
    agency_id = request.args.get("agency", "").strip()
    if not agency_id:
        return None
    row = get_db().execute("SELECT id, name_th FROM agencies WHERE id = ?", [agency_id]).fetchone()
    if row is None:
        raise BadParameter("agency", agency_id)
    return row


def _also_matches(q: str, methods: list[str], provinces: list[str]) -> list[str]:
    """Columns worth matching besides the title: "e-bidding" names a method, "น่าน" a province."""
    folded = q.casefold()
    return ([column for column, names in (("p.method", methods), ("p.province", provinces))
             if any(folded in name.casefold() for name in names)] if q else [])


def _projects(q: str, filters: dict, page: int, also: list[str] = ()) -> list:
    where, params = [], []
    for column, key in (("p.fiscal_year", "fiscal_year"), ("p.method", "method"), ("p.province", "province"),
                        ("p.buyer_id", "agency")):
        if filters[key]:
            where.append(f"{column} = ?")
            params.append(int(filters[key]) if key == "fiscal_year" else filters[key])
    if filters["flag"]:
        where.append("p.project_id IN (SELECT project_id FROM red_flags WHERE code = ?)")
        params.append(filters["flag"])
    limit = [PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]
    if not q:
        return query_within(_sql(where), params + limit, FTS_SECONDS)
    columns = ["p.title", *also]
    text = ["(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + " OR p.project_id = ?)"]
    try:
        return query_within(_sql(where + text), params + [like_pattern(q)] * len(columns) + [q] + limit,
                            SCAN_SECONDS)
    except TooSlow:
        if not _has_fts():
            raise
    terms = _fts_terms(q)
    if terms is None:
        raise TooSlow()
    fts = [f"p.rowid IN (SELECT rowid FROM [{FTS_TABLE}] WHERE [{FTS_TABLE}] MATCH ?)"]
    return query_within(_sql(where + fts), params + [terms] + limit, FTS_SECONDS)


def _sql(where: list[str]) -> str:
    return f"""SELECT p.project_id, p.title, p.announce_date, p.budget, p.currency, p.method, p.province, p.fiscal_year,
                      b.name_th AS buyer_name, p.buyer_id, r.score, r.codes
               FROM projects p
               LEFT JOIN agencies b ON b.id = p.buyer_id
               LEFT JOIN risk_scores r ON r.project_id = p.project_id
               {"WHERE " + " AND ".join(where) if where else ""}
               ORDER BY p.announce_date DESC, p.project_id DESC LIMIT ? OFFSET ?"""


def _has_fts(table: str = FTS_TABLE) -> bool:
    return get_db().execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone() is not None


def _fts_terms(q: str) -> str | None:
    """Each term of 3+ letters as a quoted FTS5 phrase (folded as the index is); None if none qualify."""
    from prongsai.derive.search_index import TRIGRAM, fold

    terms = ['"' + t.replace('"', '""') + '"' for t in fold(q).split() if len(t) >= TRIGRAM]
    return " ".join(terms) or None


def _organisations(table: str, q: str, columns: str, joins: str, like: str) -> list:
    """Agencies or suppliers whose names hold ``q``: through the trigram index when it exists,
    biggest spenders first among the first matches; else a LIKE scan that stops at ten."""
    terms = _fts_terms(q)
    if terms and _has_fts(f"{table}_fts"):
        return query_within(
            f"""SELECT {columns} FROM [{table}] t {joins}
                WHERE t.rowid IN (SELECT rowid FROM [{table}_fts] WHERE [{table}_fts] MATCH ?1 LIMIT 500)
                   OR t.id = ?2
                ORDER BY x.amount DESC LIMIT 10""", [terms, q], FTS_SECONDS)
    return query_within(f"SELECT {columns} FROM [{table}] t {joins} WHERE {like} LIMIT 10",
                        [like_pattern(q), q], SCAN_SECONDS * 2)


def _agencies(q: str) -> list:
    return _organisations(
        "agencies", q, "t.id, t.name_th, t.name_en, t.province, t.ministry, x.projects, x.amount",
        "LEFT JOIN agg_agency x ON x.agency_id = t.id",
        "t.name_th LIKE ?1 ESCAPE '\\' OR t.name_en LIKE ?1 ESCAPE '\\' OR t.id = ?2")


def _suppliers(q: str) -> list:
    return _organisations(
        "suppliers", q, "t.id, t.name_th, t.tax_id_status, x.wins, x.amount",
        "LEFT JOIN agg_supplier x ON x.supplier_id = t.id",
        "t.name_th LIKE ?1 ESCAPE '\\' OR t.name_en LIKE ?1 ESCAPE '\\' OR t.id = ?2 OR t.tax_id = ?2")
