"""Follow an agency, a supplier, a province, a red flag or a saved search: an Atom feed of its
newest projects and their flags (the e-mail and LINE digests of the same: ``portal.watch``)."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, url_for
from flask_babel import gettext as _

from portal.db import TooSlow, all_meta, get_db, query_within
from portal.flagtext import definitions
from portal.provinces import TILES

bp = Blueprint("feeds", __name__)

#: feed kind -> (agg_recent scope, how to find the subject's name)
KINDS = {
    "agencies": ("agency", "SELECT name_th FROM agencies WHERE id = ?"),
    "suppliers": ("supplier", "SELECT name_th FROM suppliers WHERE id = ?"),
    "provinces": ("province", "SELECT province FROM agg_spend_province WHERE province = ? LIMIT 1"),
}
ENTRIES = 20
#: a flag's newest projects: the newest projects first, each looked up in red_flags, until 20 have it
#: (on 1M projects: 0.01 s for a flag on 384,553 of them, 0.9 s for one on 6,842; by the code's index
#: and then sorted, 1.9-3.6 s)
FLAGGED = """SELECT p.project_id, p.title, p.announce_date AS d, p.budget AS amount, r.codes FROM projects p
             LEFT JOIN risk_scores r ON r.project_id = p.project_id
             WHERE EXISTS (SELECT 1 FROM red_flags f WHERE f.project_id = p.project_id AND f.code = ?)
             ORDER BY p.announce_date DESC, p.project_id DESC LIMIT ?"""


@bp.route("/feeds/<kind>/<path:key>.atom")
def feed(kind, key):
    db = get_db()
    if kind == "flags":
        row = db.execute("SELECT code FROM flag_definitions WHERE code = ?", [key]).fetchone()
        if row is None:
            abort(404)
        defs = definitions()
        try:
            rows = query_within(FLAGGED, [key, ENTRIES], 2.0)
        except TooSlow:
            rows = []
        return _atom(defs[key]["title"], _("Red flag"), rows, defs,
                     page_url=url_for("flags.show", code=key), amount_label=_("Budget"))
    if kind not in KINDS:
        abort(404)
    scope, name_sql = KINDS[kind]
    row = db.execute(name_sql, [key]).fetchone()
    if row is None and not (kind == "provinces" and key in TILES):
        abort(404)
    rows = db.execute("SELECT * FROM agg_recent WHERE scope = ? AND key = ? ORDER BY rank", [scope, key]).fetchall()
    titles = {"agencies": _("Agency"), "suppliers": _("Supplier"), "provinces": _("Province")}
    return _atom(row[0] if row else key, titles[kind], rows, definitions(), page_url=_page_url(kind, key))


@bp.route("/feeds/search.atom")
def search_feed():
    """A saved search: its newest projects, by /search's filters with its words in the title or
    as the project number (within a time budget: a search too broad for it is an empty feed)."""
    from portal.watch import store

    key = store.search_key(request.args)
    args = store.search_args(key)
    if not key or not (args.get("fiscal_year") or "0").isdecimal():
        abort(404)
    where, params = [], []
    for name, column in (("fiscal_year", "p.fiscal_year"), ("method", "p.method"), ("province", "p.province"),
                         ("agency", "p.buyer_id")):
        if args.get(name):
            where.append(f"{column} = ?")
            params.append(int(args[name]) if name == "fiscal_year" else args[name])
    if args.get("flag"):
        where.append("p.project_id IN (SELECT project_id FROM red_flags WHERE code = ?)")
        params.append(args["flag"])
    if args.get("q"):
        where.append("(p.title LIKE ? ESCAPE '\\' OR p.project_id = ?)")
        params += ["%" + args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", args["q"]]
    sql = f"""SELECT p.project_id, p.title, p.announce_date AS d, p.budget AS amount, r.codes FROM projects p
              LEFT JOIN risk_scores r ON r.project_id = p.project_id WHERE {" AND ".join(where)}
              ORDER BY p.announce_date DESC, p.project_id DESC LIMIT ?"""
    try:
        rows = query_within(sql, params + [ENTRIES], 2.0)
    except TooSlow:
        rows = []
    return _atom(store.label_for(get_db(), "search", key), _("Saved search"), rows, definitions(),
                 page_url=url_for("search.search") + "?" + key, amount_label=_("Budget"))


def _atom(name, kind_title, rows, defs, *, page_url, amount_label=None):
    root = request.url_root.rstrip("/")
    entries = []
    for r in rows:
        codes = (r["codes"] or "").replace(",", " ").split()
        entries.append({"project_id": r["project_id"], "title": r["title"], "date": r["d"], "amount": r["amount"],
                        "flags": [defs[c]["title"] if c in defs else c for c in codes],
                        "url": root + url_for("projects.show", project_id=r["project_id"])})
    updated = all_meta().get("built_at") or "1970-01-01T00:00:00+00:00"
    body = render_template("feed.xml", name=name, kind_title=kind_title, entries=entries, updated=updated,
                           feed_url=request.url, page_url=page_url if page_url.startswith("http") else root + page_url,
                           amount_label=amount_label)
    response = make_response(body)
    response.mimetype = "application/atom+xml"
    return response


def _page_url(kind: str, key: str) -> str:
    root = request.url_root.rstrip("/")
    if kind == "agencies":
        return root + url_for("agencies.show", agency_id=key)
    if kind == "suppliers":
        return root + url_for("suppliers.show", supplier_id=key)
    return root + url_for("provinces.show", name=key)
