"""The project page: every fact with its source, the bidders, contracts, flags and a Report button."""
from __future__ import annotations

from urllib.parse import quote

from datasette.utils import tilde_encode
from flask import Blueprint, abort, render_template, request, url_for

from portal.db import get_db
from portal.flagtext import definitions, explain, supplier_names
from portal.format import evidence
from portal.views.network import has_table

bp = Blueprint("projects", __name__)

#: e-GP announcement types, in lifecycle order (codes from the e-GP RSS and API).
ANNOUNCEMENT_ORDER = ["P0", "B0", "15", "D0", "D1", "D2", "W0", "W1", "W2"]


def datasette_row_url(table: str, pk: str) -> str:
    """The open-SQL view of one row (Datasette tilde-encodes ids with slashes and spaces)."""
    return f"/data/procurement/{table}/{tilde_encode(pk)}"


@bp.route("/projects/<path:project_id>")
def show(project_id):
    db = get_db()
    project = db.execute(
        """SELECT p.*, b.name_th AS buyer_name, b.ministry AS buyer_ministry,
                  e.name_th AS entity_name, r.score, r.flag_count
           FROM projects p
           LEFT JOIN agencies b ON b.id = p.buyer_id
           LEFT JOIN agencies e ON e.id = p.procuring_entity_id
           LEFT JOIN risk_scores r ON r.project_id = p.project_id
           WHERE p.project_id = ?""", [project_id]).fetchone()
    if project is None:
        abort(404)
    announcements = sorted(
        db.execute("SELECT * FROM announcements WHERE project_id = ?", [project_id]).fetchall(),
        key=lambda a: (a["published_at"] or "", _order(a["type"])))
    bids = db.execute(
        """SELECT b.*, t.supplier_id, coalesce(s.name_th, t.name) AS supplier_name, s.tax_id_status
           FROM bids b LEFT JOIN bid_tenderers t ON t.bid_id = b.id LEFT JOIN suppliers s ON s.id = t.supplier_id
           WHERE b.project_id = ? ORDER BY b.amount IS NULL, b.amount, b.bid_id""", [project_id]).fetchall()
    contracts = db.execute(
        """SELECT c.*, coalesce(s.name_th, c.supplier_name) AS supplier_display FROM contracts c
           LEFT JOIN suppliers s ON s.id = c.supplier_id WHERE c.project_id = ? ORDER BY c.signed_date""",
        [project_id]).fetchall()
    awards = db.execute("SELECT * FROM awards WHERE project_id = ? ORDER BY date", [project_id]).fetchall()
    items = db.execute("SELECT * FROM items WHERE project_id = ? ORDER BY id", [project_id]).fetchall()
    defs = definitions()
    flags = []
    rows = db.execute("SELECT * FROM red_flags WHERE project_id = ? ORDER BY code", [project_id]).fetchall()
    names = supplier_names([evidence(r["evidence"]) for r in rows])
    for row in rows:
        definition = defs.get(row["code"])
        others = [i for i in evidence(row["evidence"]).get("project_ids") or [] if i != project_id]
        flags.append({"code": row["code"], "value": row["value"], "evidence": row["evidence"],
                      "computed_at": row["computed_at"], "definition": definition, "related": others,
                      "text": explain(row["code"], row["evidence"], definition, names)})
    flags.sort(key=lambda f: {"high": 0, "medium": 1, "low": 2}.get((f["definition"] or {}).get("severity"), 3))
    page_url = request.url_root.rstrip("/") + url_for("projects.show", project_id=project_id)
    return render_template(
        "project.html", p=project, announcements=announcements, bids=bids, contracts=contracts,
        awards=awards, items=items, flags=flags,
        sql_url=datasette_row_url("projects", project_id),
        report_url=url_for("projects.show", project_id=project_id) + "/report",
        page_url=page_url, share_url=quote(page_url, safe=""),
        contract_totals=_totals(contracts), notes=data_notes(db, bids, contracts),
    )


def data_notes(db, bids, contracts) -> list[dict]:
    """Data-quality notes, kept apart from the red flags: a supplier whose tax id the source file
    damaged, and whether the build joined it to its undamaged twin (``supplier_twins``)."""
    ids = {r["supplier_id"] for r in [*bids, *contracts] if r["supplier_id"]}
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    notes = [{"kind": "damaged", "name": r["name_th"], "raw": r["tax_id_raw"]} for r in db.execute(
        f"SELECT name_th, tax_id_raw FROM suppliers WHERE id IN ({marks}) AND tax_id_status = 'damaged' "
        "ORDER BY name_th", sorted(ids))]
    if has_table(db, "supplier_twins"):
        notes += [{"kind": "joined", "name": r["name_th"], "raw": r["tax_id_raw"], "tax_id": r["twin_id"]}
                  for r in db.execute(f"SELECT * FROM supplier_twins WHERE twin_id IN ({marks}) ORDER BY damaged_id",
                                      sorted(ids))]
    return notes


def _totals(contracts) -> dict[str, float]:
    """Contract value per currency (a project's contracts are summed, never across currencies)."""
    totals: dict[str, float] = {}
    for c in contracts:
        if c["contract_amount"] is not None:
            currency = c["currency"] or "THB"
            totals[currency] = totals.get(currency, 0.0) + c["contract_amount"]
    return totals


def _order(code) -> int:
    return ANNOUNCEMENT_ORDER.index(code) if code in ANNOUNCEMENT_ORDER else len(ANNOUNCEMENT_ORDER)
