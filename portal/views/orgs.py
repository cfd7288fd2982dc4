"""What an agency's page and a supplier's page share: the organisation, its counts, its red flags
and its newest projects, each read from its own small pre-aggregated tables."""
from __future__ import annotations

from typing import NamedTuple

from flask import abort

from portal.db import get_db
from portal.flagtext import definitions, explain


class OrgKind(NamedTuple):
    table: str          # the organisations' table, and the feed's kind
    aggregates: str     # prefix of its agg_* tables: agg_agency, agg_agency_month, ...
    key: str            # their column naming the organisation
    roles: tuple        # its org_type values in org_flags
    scope: str          # its scope in agg_recent


AGENCY = OrgKind("agencies", "agg_agency", "agency_id", ("buyer", "procuring_entity"), "agency")
SUPPLIER = OrgKind("suppliers", "agg_supplier", "supplier_id", ("tenderer",), "supplier")


def org_page(kind: OrgKind, org_id: str) -> dict:
    """The template context both pages have (``org``, ``kind``, ``stats``, flags, ``recent``); 404 if unknown."""
    db = get_db()
    org = db.execute(f"SELECT * FROM {kind.table} WHERE id = ?", [org_id]).fetchone()
    if org is None:
        abort(404)
    defs = definitions()
    roles = ", ".join("?" * len(kind.roles))
    org_flags = db.execute(f"SELECT * FROM org_flags WHERE org_type IN ({roles}) AND org_id = ? ORDER BY code",
                           [*kind.roles, org_id])
    return {
        "org": org, "kind": kind.table, "flag_defs": defs,
        "stats": db.execute(f"SELECT * FROM {kind.aggregates} WHERE {kind.key} = ?", [org_id]).fetchone(),
        "project_flags": related(kind, "flag", org_id, "projects DESC"),
        "org_flags": [dict(r, text=explain(r["code"], r["evidence"], defs.get(r["code"]))) for r in org_flags],
        "recent": db.execute("SELECT * FROM agg_recent WHERE scope = ? AND key = ? ORDER BY rank",
                               [kind.scope, org_id]).fetchall(),
    }


def related(kind: OrgKind, part: str, org_id: str, order: str) -> list:
    """The rows of ``agg_<kind>_<part>`` for one organisation (months, methods, suppliers, rivals, ...)."""
    return get_db().execute(f"SELECT * FROM {kind.aggregates}_{part} WHERE {kind.key} = ? ORDER BY {order}",
                            [org_id]).fetchall()
