"""What the complaint form and the forwarding package show about a project: public facts only,
read from procurement.db (read-only); red flags as H4's build left them."""
from __future__ import annotations

import json
import sqlite3

from portal.db import get_db


def project_facts(project_id: str) -> dict | None:
    db = get_db()
    row = db.execute(
        "SELECT p.*, b.name_th AS buyer_name_th, b.name_en AS buyer_name_en, "
        "e.name_th AS entity_name_th FROM projects p LEFT JOIN agencies b ON b.id = p.buyer_id "
        "LEFT JOIN agencies e ON e.id = p.procuring_entity_id WHERE p.project_id = ?", [project_id]).fetchone()
    if row is None:
        return None
    facts = dict(row)
    suppliers = db.execute(
        "SELECT supplier_id FROM contracts WHERE project_id = ? AND supplier_id IS NOT NULL "
        "UNION SELECT s.supplier_id FROM award_suppliers s JOIN awards a ON a.id = s.award_id WHERE a.project_id = ? "
        "UNION SELECT t.supplier_id FROM bid_tenderers t JOIN bids b ON b.id = t.bid_id WHERE b.project_id = ?",
        [project_id] * 3).fetchall()
    facts["supplier_ids"] = sorted(r[0] for r in suppliers)
    facts["contracts"] = [dict(r) for r in db.execute(
        "SELECT contract_no, supplier_id, supplier_name, contract_amount, currency, signed_date "
        "FROM contracts WHERE project_id = ?", [project_id])]
    facts["flags"] = project_flags(project_id)
    facts["flag_codes"] = [f["code"] for f in facts["flags"]]
    return facts


def project_flags(project_id: str) -> list[dict]:
    """Raised flags with their title and one plain sentence in the reader's language (portal.flagtext)."""
    from portal import flagtext

    try:
        rows = get_db().execute(
            "SELECT f.code, f.value, f.evidence, d.title_th, d.title_en, d.explanation_th, d.explanation_en, "
            "d.severity FROM red_flags f LEFT JOIN flag_definitions d ON d.code = f.code "
            "WHERE f.project_id = ? ORDER BY f.code", [project_id]).fetchall()
    except sqlite3.OperationalError:  # flags not built yet
        return []
    definitions = flagtext.definitions() if rows else {}
    flags = []
    for row in rows:
        flag = dict(row)
        definition = definitions.get(row["code"])
        flag["title"] = definition["title"] if definition else row["code"]
        flag["sentence"] = flagtext.explain(row["code"], row["evidence"], definition)
        try:
            flag["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
        except ValueError:
            flag["evidence"] = {"text": row["evidence"]}
        flags.append(flag)
    return flags
