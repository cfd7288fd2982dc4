"""How Prongsai's cells read in Datasette's HTML: baht, Buddhist-era dates, portal links, flag badges.

Only the HTML changes; JSON and CSV keep the stored values. Columns are recognised by the
names the public schema uses everywhere (``prongsai/core/schema.py``), so a new table that follows
the schema renders the same way without configuration.
"""
from __future__ import annotations

import re
import weakref
from urllib.parse import quote

from datasette import hookimpl
from markupsafe import Markup

from prongsai.core.thai import be_date
from prongsai.derive.flags.definitions import DISCLAIMER
from prongsai.derive.flags.explain import explain

DATABASE = "procurement"
MONEY = {"budget", "reference_price", "amount", "award_amount", "contract_amount", "unit_value",
         "flagged_amount", "budget_amount", "procurement_amount"}
DATES = {"announce_date", "tender_start", "tender_end", "date", "award_date", "signed_date", "end_date",
         "published_at", "first_award", "last_award", "first_seen", "last_seen", "fetched_at",
         "started_at", "finished_at", "computed_at", "seen_at", "last_run_finished_at"}
PROJECT_IDS = {"project_id", "first_project_id", "last_project_id"}
SUPPLIER_IDS = {"supplier_id", "supplier_a", "supplier_b"}
AGENCY_IDS = {"buyer_id", "procuring_entity_id", "agency_id"}
FLAG_CODES = {"code": ("red_flags", "org_flags", "flag_definitions", "flag_summary", "flagged_projects"),
              "codes": None, "flag_codes": None}
SEVERITY_COLOURS = {"high": "#b00020", "medium": "#b35c00", "low": "#5f6368"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_definitions: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def baht(value, currency=None) -> Markup:
    unit = "บาท" if currency in (None, "", "THB") else str(currency)
    return Markup('<span class="money">{}&nbsp;{}</span>').format(f"{value:,.2f}", unit)


def with_be_date(value: str) -> Markup:
    return Markup('{} <span class="be-date">({})</span>').format(value, be_date(value[:10]))


#: portal path -> (Datasette table, label of the portal link)
PORTAL = {"projects": ("projects", "โครงการ / project"), "suppliers": ("suppliers", "ผู้ค้า / supplier"),
          "agencies": ("agencies", "หน่วยงาน / agency")}


def portal_links(datasette, kind: str, id_, label=None) -> Markup:
    """The Datasette row link, then the portal's page (and, for a project, its report page)."""
    table, portal_label = PORTAL[kind]
    quoted = quote(str(id_), safe="")
    links = [Markup('<a href="/{}/{}">{}</a>').format(kind, quoted, portal_label)]
    if kind == "projects":
        links.append(Markup('<a href="/projects/{}/report">แจ้งเบาะแส / report</a>').format(quoted))
    return Markup('<a href="{}">{}</a> <small>({})</small>').format(
        datasette.urls.row(DATABASE, table, _tilde(id_)), label or id_, Markup(" · ").join(links))


def badges(codes: str, definitions: dict, evidence=None) -> Markup:
    """One badge per code; its title is the flag in plain words (filled from the row's evidence)."""
    out = []
    for code in [c.strip() for c in str(codes).split(",") if c.strip()]:
        d = definitions.get(code)
        title = f"{d['title_th']} / {d['title_en']}" if d else code
        if d and evidence:
            try:
                title = f"{explain(code, evidence, 'th')} / {explain(code, evidence, 'en')}"
            except (KeyError, ValueError, TypeError):  # a code or evidence the flags module does not know
                pass
        title = f"{code}: {title} ({DISCLAIMER['th']} / {DISCLAIMER['en']})"
        colour = SEVERITY_COLOURS.get((d or {}).get("severity"), SEVERITY_COLOURS["low"])
        out.append(Markup('<span class="flag-badge" title="{}" style="background:{};color:#fff;'
                          'border-radius:3px;padding:0 4px;margin-right:2px;white-space:nowrap">{}</span>')
                   .format(title, colour, code))
    return Markup("").join(out)


def _tilde(value) -> str:
    from datasette.utils import tilde_encode

    return tilde_encode(str(value))


async def flag_definitions(datasette) -> dict:
    """code -> definition, read once per Datasette instance (the database is immutable)."""
    if datasette not in _definitions:
        defs = {}
        db = datasette.databases.get(DATABASE)
        if db is not None and "flag_definitions" in await db.table_names():
            rows = await db.execute("SELECT code, severity, title_th, title_en FROM flag_definitions")
            for r in rows.rows:
                defs[r["code"]] = {"severity": r["severity"], "title_th": r["title_th"], "title_en": r["title_en"]}
        _definitions[datasette] = defs
    return _definitions[datasette]


def _row_value(row, column):
    try:
        return row[column]
    except (IndexError, KeyError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != DATABASE:
        return None
    label = None
    if isinstance(value, dict):  # an expanded foreign key: {"value": ..., "label": ...}
        value, label = value.get("value"), value.get("label")
    if value in (None, ""):
        return None
    if column in MONEY and isinstance(value, (int, float)) and not isinstance(value, bool):
        return baht(value, _row_value(row, "currency"))
    if column in DATES and isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return with_be_date(value)
        except ValueError:
            return None
    if column in PROJECT_IDS:
        return portal_links(datasette, "projects", value, label)
    if column in SUPPLIER_IDS or (table == "suppliers" and column == "id"):
        return portal_links(datasette, "suppliers", value, label)
    if column in AGENCY_IDS or (table == "agencies" and column == "id"):
        return portal_links(datasette, "agencies", value, label)
    if table == "org_flags" and column == "org_id":
        kind = "suppliers" if _row_value(row, "org_type") == "tenderer" else "agencies"
        return portal_links(datasette, kind, value)
    if column in FLAG_CODES and (FLAG_CODES[column] is None or table in FLAG_CODES[column]
                                 or table is None):

        async def render():
            return badges(value, await flag_definitions(datasette), _row_value(row, "evidence"))

        return render
    return None
