"""Follow an agency, a supplier or a province: an Atom feed of its newest projects and their flags."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, url_for
from flask_babel import gettext as _

from portal.db import all_meta, get_db
from portal.flagtext import definitions
from portal.provinces import TILES

bp = Blueprint("feeds", __name__)

#: feed kind -> (agg_recent scope, how to find the subject's name)
KINDS = {
    "agencies": ("agency", "SELECT name_th FROM agencies WHERE id = ?"),
    "suppliers": ("supplier", "SELECT name_th FROM suppliers WHERE id = ?"),
    "provinces": ("province", "SELECT province FROM agg_spend_province WHERE province = ? LIMIT 1"),
}


@bp.route("/feeds/<kind>/<path:key>.atom")
def feed(kind, key):
    if kind not in KINDS:
        abort(404)
    scope, name_sql = KINDS[kind]
    db = get_db()
    row = db.execute(name_sql, [key]).fetchone()
    if row is None and not (kind == "provinces" and key in TILES):
        abort(404)
    name = row[0] if row else key
    defs = definitions()
    entries = []
    for r in db.execute("SELECT * FROM agg_recent WHERE scope = ? AND key = ? ORDER BY rank", [scope, key]):
        codes = (r["codes"] or "").split()
        entries.append({"project_id": r["project_id"], "title": r["title"], "date": r["d"], "amount": r["amount"],
                        "flags": [defs[c]["title"] if c in defs else c for c in codes],
                        "url": request.url_root.rstrip("/") + url_for("projects.show", project_id=r["project_id"])})
    titles = {"agencies": _("Agency"), "suppliers": _("Supplier"), "provinces": _("Province")}
    meta = all_meta()
    updated = meta.get("built_at") or "1970-01-01T00:00:00+00:00"
    body = render_template("feed.xml", name=name, kind_title=titles[kind], entries=entries, updated=updated,
                           feed_url=request.base_url, page_url=_page_url(kind, key))
    response = make_response(body)
    response.mimetype = "application/atom+xml"
    return response


def _page_url(kind: str, key: str) -> str:
    root = request.url_root.rstrip("/")
    if kind == "agencies":
        return root + url_for("agencies.show", agency_id=key)
    if kind == "suppliers":
        return root + url_for("suppliers.show", supplier_id=key)
    return root + url_for("search.search", province=key)
