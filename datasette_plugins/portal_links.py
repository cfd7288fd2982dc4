"""Datasette as part of Prongsai: links back to the portal and its feeds, freshness, the demo banner.

The portal lives at the site root and Datasette under ``/data/``, so portal links are
root-relative. Each table's source and last update come from ``source_freshness`` (written by
``prongsai build`` from the rows' provenance and ``source_runs``), read once at start-up: the
database is immutable, so they cannot change while it is served.
"""
from __future__ import annotations

import copy
import weakref
from urllib.parse import parse_qsl, quote, urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode
from markupsafe import Markup

from prongsai.core.thai import be_date

DATABASE = "procurement"
_site: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def agency_feed(agency_id) -> str:
    return f"/feeds/agencies/{quote(str(agency_id), safe='')}.atom"


def province_feed(province) -> str:
    return f"/feeds/provinces/{quote(str(province), safe='')}.atom"


def _when(value) -> str:
    if not value:
        return "-"
    try:
        return f"{value[:10]} ({be_date(value[:10])})"
    except ValueError:
        return str(value)


@hookimpl
def startup(datasette):
    async def load():
        db = datasette.databases.get(DATABASE)
        if db is None:
            return
        tables = set(await db.table_names())
        meta = {}
        if "meta" in tables:
            meta = {r[0]: r[1] for r in (await db.execute("SELECT key, value FROM meta")).rows}
        freshness = {}
        if "source_freshness" in tables:
            rows = await db.execute("SELECT table_name, source, rows, last_seen, last_run_finished_at, "
                                    "last_run_status FROM source_freshness ORDER BY table_name, source")
            for r in rows.rows:
                freshness.setdefault(r["table_name"], []).append(dict(r))
        _site[datasette] = {"demo": meta.get("dataset") == "demo",
                            "metadata": _table_metadata(datasette, tables, meta, freshness)}

    return load


def _table_metadata(datasette, tables, meta, freshness) -> dict:
    described = datasette.metadata("tables", database=DATABASE) or {}
    hidden = tuple((datasette.plugin_config("prongsai-hidden") or {}).get("prefixes") or ())
    out = {}
    for table in sorted(tables):
        if hidden and table.startswith(hidden):
            out[table] = {"hidden": True}
            continue
        runs = freshness.get(table)
        if runs:
            sources = ", ".join(r["source"] or "-" for r in runs)
            updated = max((r["last_run_finished_at"] or r["last_seen"] or "" for r in runs), default="")
            line = Markup("แหล่งข้อมูล / Source: {} · ปรับปรุงล่าสุด / Last updated: {}").format(
                sources, _when(updated))
            entry = {"source": sources}
        else:
            line = Markup("คำนวณโดย <code>prongsai build</code> / Computed by <code>prongsai build</code>: {}"
                          ).format(_when(meta.get("built_at")))
            entry = {}
        description = (described.get(table) or {}).get("description")
        entry["description_html"] = Markup("<p>{}</p><p><small>{}</small></p>").format(description or "", line)
        out[table] = entry
    return {"databases": {DATABASE: {"tables": out}}}


@hookimpl
def get_metadata(datasette, key, database, table):
    site = _site.get(datasette)
    return copy.deepcopy(site["metadata"]) if site else {}


@hookimpl
def menu_links(datasette, actor, request):
    return [
        {"href": "/", "label": "พอร์ทัลโปร่งใส / Prongsai portal"},
        {"href": datasette.urls.database(DATABASE) + "#queries",
         "label": "คำค้นสำเร็จรูป / Canned investigations"},
        {"href": "/exports/", "label": "ดาวน์โหลดทั้งชุด (OCDS) / Bulk downloads (OCDS)"},
    ]


@hookimpl
def table_actions(datasette, actor, database, table, request):
    if database != DATABASE:
        return None
    links = [{"href": "/", "label": "กลับสู่พอร์ทัล / Back to the portal"}]
    args = [(k, v) for k in request.args if k not in ("_next", "_size") for v in request.args.getlist(k)
            ] if request else []
    links.append({"href": datasette.urls.table(database, table, format="csv") + "?"
                  + urlencode(args + [("_stream", "on"), ("_size", "max")]),
                  "label": "ดาวน์โหลด CSV ทั้งหมด / Download all rows as CSV"})
    for feed, label in _feeds_from_args(request.args if request else {}):
        links.append({"href": feed, "label": label})
    return links


def _feeds_from_args(args) -> list[tuple[str, str]]:
    feeds = []
    for column in ("buyer_id", "procuring_entity_id", "agency_id"):
        if args.get(column):
            feeds.append((agency_feed(args.get(column)), "ฟีด Atom ของหน่วยงาน / Agency Atom feed"))
            break
    if args.get("province"):
        feeds.append((province_feed(args.get("province")),
                      f"ฟีด Atom จังหวัด{args.get('province')} / Province Atom feed"))
    return feeds


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    async def extra():
        site = _site.get(datasette) or {}
        feeds = _feeds_from_args(request.args) if request and view_name == "table" else []
        if view_name == "row" and database == DATABASE and table == "agencies" and request:
            agency_id = tilde_decode(request.url_vars.get("pks", ""))
            feeds = [(agency_feed(agency_id), "ฟีด Atom ของหน่วยงาน / Agency Atom feed")]
            rows = await datasette.get_database(DATABASE).execute(
                "SELECT province FROM agencies WHERE id = ?", [agency_id])
            if rows.rows and rows.rows[0][0]:
                province = rows.rows[0][0]
                feeds.append((province_feed(province), f"ฟีด Atom จังหวัด{province} / Province Atom feed"))
        return {"prongsai_demo": site.get("demo", False),
                "prongsai_feeds": [{"href": href, "label": label} for href, label in feeds],
                "prongsai_suggested_facets": _suggested_facets(datasette, database, table, columns, request)
                if view_name == "table" and request else []}

    return extra


def _suggested_facets(datasette, database, table, columns, request) -> list[dict]:
    """Facet links for the usual columns, computed only when clicked.

    Datasette's own suggestions run a query per column and its default facets one per page view,
    each over a million rows here; a link costs nothing until a reader asks for it.
    """
    config = datasette.plugin_config("prongsai-suggested-facets") or {}
    wanted = config.get("columns") or []
    active = set(request.args.getlist("_facet")) | set(datasette.table_metadata(database, table).get("facets") or [])
    args = parse_qsl(request.query_string, keep_blank_values=True)
    return [{"name": column,
             "toggle_url": datasette.urls.path(f"{request.path}?{urlencode([*args, ('_facet', column)])}")}
            for column in wanted if column in (columns or []) and column not in active]
